#!/usr/bin/env python3
"""How much IoU the low-res logit grid itself allows, on the committed held-out scenes.

    /work/venv/bin/python Models/demo/grid_bound.py [--sizes 256,320,384]

For each input size S, each ground-truth mask goes through SamPredictor's geometry with perfect
logits instead of a model's: resized to the S-pixel frame and padded, area-averaged to the S/4
low-res grid the mask decoder outputs, turned into logits of those coverages, then upsampled
bilinearly to the frame, cropped and resized to the original size as SamPredictor does, and
thresholded at 0. The mean IoU against the truth is an upper bound for any model of that input
size whose masks come from an S/4 grid: what is lost below it is the model's, not the grid's.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval as heldout  # noqa: E402
from segment_anything.utils.transforms import ResizeLongestSide  # noqa: E402


def bound(size, entries):
    resize = ResizeLongestSide(size)
    ious = []
    for _, _, gt in entries:
        h, w = gt.shape
        nh, nw = resize.get_preprocess_shape(h, w, size)
        g = F.interpolate(torch.tensor(gt, dtype=torch.float32)[None, None], (nh, nw), mode="bilinear",
                          align_corners=False)
        coverage = F.avg_pool2d(F.pad(g, (0, size - nw, 0, size - nh)), 4)
        logits = torch.logit(coverage.clamp(1e-4, 1 - 1e-4))
        up = F.interpolate(logits, (size, size), mode="bilinear", align_corners=False)[..., :nh, :nw]
        mask = F.interpolate(up, (h, w), mode="bilinear", align_corners=False)[0, 0] > 0
        ious.append(heldout.iou(mask.numpy(), gt))
    return float(np.mean(ious)), float(np.min(ious))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="256,320,384")
    ap.add_argument("--heldout", default=os.path.join(HERE, "heldout.json"))
    args = ap.parse_args()
    entries = list(heldout.committed(args.heldout))
    for size in (int(s) for s in args.sizes.split(",")):
        mean, worst = bound(size, entries)
        print(f"input {size} px, {size // 4}x{size // 4} low-res grid: mean IoU bound {mean:.3f} (worst scene {worst:.3f})")


if __name__ == "__main__":
    main()
