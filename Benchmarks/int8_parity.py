#!/usr/bin/env python3
"""How close SAMQ's int8 path stays to f32, beside ONNX Runtime int8, on the same weights and photo.

    python Benchmarks/int8_parity.py CHECKPOINT.pth IMAGE [--prompts 20] [--samq .build/release]
        [--work DIR] [--skip-ort]

The reference is the official PyTorch f32 model (`SamPredictor.set_image`). Compared with it:
  * ONNX Runtime int8: the image encoder exported to ONNX and quantized with
    `onnxruntime.quantization.quantize_dynamic(per_channel=True, weight_type=QInt8)`;
  * samq int8: `samq encode` of the default int8 .samq (and of an `--encoder-attention f32` one);
  * samq f32: `samq encode` of the f32 .samq (the parity path; should be ~1e-5).
For each embedding: cosine and SQNR against the reference, and the mean IoU of the best mask (each
side's own pick by predicted IoU) over seeded prompts (points, boxes, point+box) decoded by the
official f32 decoder, so the numbers isolate the encoder. samq's own int8 decoder is measured by
`samq eval` (docs/ACCURACY.md). Needs torch, segment_anything, onnx, onnxruntime. Not part of CI.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from segment_anything import SamPredictor, sam_model_registry


def sqnr_db(x, ref):
    return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / max(np.sum((x - ref).astype(np.float64) ** 2), 1e-30))


def cosine(x, ref):
    x, ref = x.ravel().astype(np.float64), ref.ravel().astype(np.float64)
    return float(x @ ref / (np.linalg.norm(x) * np.linalg.norm(ref)))


def prompts(width, height, count, seed):
    """Seeded points, boxes and point+box in turn, inside the image."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height
        bw, bh = rng.uniform(0.1, 0.5) * width, rng.uniform(0.1, 0.5) * height
        box = np.array([max(0, cx - bw / 2), max(0, cy - bh / 2), min(width - 1, cx + bw / 2), min(height - 1, cy + bh / 2)])
        kind = i % 3
        out.append(dict(points=None if kind == 1 else np.array([[cx, cy]]), labels=None if kind == 1 else np.array([1]),
                        box=None if kind == 0 else box))
    return out


def best_masks(predictor, embedding, prompt_list):
    predictor.features = torch.from_numpy(embedding).reshape(1, *embedding.shape[-3:])
    masks = []
    for p in prompt_list:
        m, iou, _ = predictor.predict(point_coords=p["points"], point_labels=p["labels"], box=p["box"],
                                      multimask_output=True)
        masks.append(m[int(np.argmax(iou))])
    return masks


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def ort_embedding(sam, tensor, work):
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    f32_path, int8_path = os.path.join(work, "encoder.onnx"), os.path.join(work, "encoder_int8.onnx")
    if not os.path.exists(int8_path):
        torch.onnx.export(sam.image_encoder, tensor, f32_path, input_names=["image"], output_names=["embedding"],
                          opset_version=17, dynamo=False)
        quantize_dynamic(f32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(int8_path, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"image": tensor.numpy()})[0]


def samq_embedding(samq_dir, model, image, work, name):
    out = os.path.join(work, name + ".npy")
    subprocess.run([os.path.join(samq_dir, "samq"), "encode", model, image, "-o", out, "--quiet", "--threads", "2"],
                   check=True)
    return np.load(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("image")
    ap.add_argument("--model-type", default="vit_b")
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samq", default=".build/release", help="directory holding samq and samq-convert")
    ap.add_argument("--work", default="", help="keep the .samq/.onnx files here (default: a temporary directory)")
    ap.add_argument("--skip-ort", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    work = args.work or tempfile.mkdtemp(prefix="samq_parity_")
    os.makedirs(work, exist_ok=True)

    sam = sam_model_registry[args.model_type](checkpoint=args.checkpoint).eval()
    predictor = SamPredictor(sam)
    rgb = np.array(Image.open(args.image).convert("RGB"))
    with torch.no_grad():
        predictor.set_image(rgb)
        reference = predictor.features.numpy().copy()
        tensor = sam.preprocess(torch.as_tensor(predictor.transform.apply_image(rgb)).permute(2, 0, 1)[None].float())

    embeddings = {}
    if not args.skip_ort:
        with torch.no_grad():
            embeddings["ONNX Runtime int8 (dynamic, per-channel)"] = ort_embedding(sam, tensor, work)
    convert = os.path.join(args.samq, "samq-convert")
    files = {"samq f32": ("f32.samq", ["--dtype", "f32"]),
             "samq int8 (default)": ("int8.samq", []),
             "samq int8, --encoder-attention f32": ("int8_f32att.samq", ["--encoder-attention", "f32"])}
    for label, (name, flags) in files.items():
        path = os.path.join(work, name)
        if not os.path.exists(path):
            subprocess.run([convert, args.checkpoint, "-o", path, "--quiet", *flags], check=True)
        embeddings[label] = samq_embedding(args.samq, path, args.image, work, name)

    prompt_list = prompts(rgb.shape[1], rgb.shape[0], args.prompts, args.seed)
    with torch.no_grad():
        reference_masks = best_masks(predictor, reference, prompt_list)
        print(f"| {os.path.basename(args.checkpoint)}, {os.path.basename(args.image)} "
              f"| embedding cosine | SQNR | best-mask IoU ({args.prompts} prompts, official decoder) |")
        print("|---|---|---|---|")
        for label, e in embeddings.items():
            masks = best_masks(predictor, e.astype(np.float32), prompt_list)
            mean_iou = np.mean([iou(a, b) for a, b in zip(masks, reference_masks)])
            print(f"| {label} | {cosine(e, reference):.6f} | {sqnr_db(e, reference):.1f} dB | {mean_iou:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
