#!/usr/bin/env python3
"""Times the official MobileSAM (`mobile_sam`, PyPI mobilesam-mirror) on a
checkpoint, for comparison with `samq` on the same weights.

    python Benchmarks/pytorch_mobilesam.py CHECKPOINT.pt IMAGE [--point X,Y] [--runs 5] [--threads 2]

Prints "encoder_median_s segment_median_s peak_mb": the encoder is
SamPredictor.set_image, the segment is set_image + predict(one point,
multimask) in a warm process. Needs: pip install torch mobilesam-mirror timm pillow numpy
"""
import argparse, resource, statistics, time, warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from mobile_sam import SamPredictor, sam_model_registry  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--point", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sam = sam_model_registry["vit_t"](checkpoint=args.checkpoint).eval()
    predictor = SamPredictor(sam)
    image = np.array(Image.open(args.image).convert("RGB"))
    h, w = image.shape[:2]
    x, y = map(float, args.point.split(",")) if args.point else (w / 2, h / 2)
    encode, segment = [], []
    with torch.inference_mode():
        predictor.set_image(image)  # warm-up
        predictor.predict(point_coords=np.array([[x, y]]), point_labels=np.array([1]), multimask_output=True)
        for _ in range(args.runs):
            start = time.perf_counter()
            predictor.set_image(image)
            mid = time.perf_counter()
            predictor.predict(point_coords=np.array([[x, y]]), point_labels=np.array([1]), multimask_output=True)
            end = time.perf_counter()
            encode.append(mid - start)
            segment.append(end - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{statistics.median(encode):.3f} {statistics.median(segment):.3f} {round(peak)}")


if __name__ == "__main__":
    main()
