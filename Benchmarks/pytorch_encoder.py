#!/usr/bin/env python3
"""Times the official segment_anything image encoder (SamPredictor.set_image)
on a checkpoint, for comparison with `samq` on the same weights.

    python Benchmarks/pytorch_encoder.py CHECKPOINT.pth IMAGE [--variant vit_b] [--runs 3] [--threads 2]

Prints one JSON line: {"median_s", "min_s", "runs", "threads", "peak_rss_mb"}
(or "median min peak_mb" with --plain).
Needs: pip install torch torchvision segment-anything pillow numpy
"""
import argparse, json, resource, statistics, time

import numpy as np
import torch
from PIL import Image
from segment_anything import SamPredictor, sam_model_registry


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("image")
    parser.add_argument("--variant", default="vit_b")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plain", action="store_true", help="print 'median min peak_mb' instead of JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sam = sam_model_registry[args.variant](checkpoint=args.checkpoint).eval()
    predictor = SamPredictor(sam)
    image = np.array(Image.open(args.image).convert("RGB"))
    times = []
    with torch.inference_mode():
        predictor.set_image(image)  # warm-up
        for _ in range(args.runs):
            start = time.perf_counter()
            predictor.set_image(image)
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.plain:
        print(f"{statistics.median(times):.2f} {min(times):.2f} {round(peak)}")
        return
    print(json.dumps({"median_s": statistics.median(times), "min_s": min(times), "runs": args.runs,
                      "threads": args.threads, "peak_rss_mb": round(peak)}))


if __name__ == "__main__":
    main()
