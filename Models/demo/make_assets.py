#!/usr/bin/env python3
"""Writes the committed demo assets of the SAMQ demo model (deterministic; no model needed):

  heldout/NN.png, heldout/NN_mask.png, heldout.json   50 held-out scenes (seeds 5_000_000 + k)
  demo_K.png (+ demo_1.jpg), demo_prompts.json          demo scenes for the README

    /work/venv/bin/python Models/demo/make_assets.py [--out Models/demo]

Held-out rule: scene k uses seed 5_000_000 + k (training uses 1_000_000 + k, in-training
validation 9_000_000 + k; the seed ranges never meet). The prompted object is the
(k mod n)-th of the n shapes whose visible area is at least 2% of the image (scenes with none
are skipped). Its ground truth is its visible region. The point is the visible-region pixel
farthest from the region's boundary (chamfer depth by repeated 3×3 erosion, image border
counts as boundary; ties go to the deepest pixel nearest the centroid of the deepest set).
The box is the tight [x0, y0, x1, y1] box of the visible region (inclusive pixel indices).
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

HELDOUT_SEED_BASE = 5_000_000
DEMO_SEED_BASE = 7_000_000

# Demo scenes: (seed offset, size (w, h)), picked by eye from the first 16 candidates of the same
# generator with 5-7 shapes (sizes cycling 320x240, 288x288, 240x320, 320x256).
DEMOS = [
    (4, (320, 240)),   # magenta star among rectangles and a small green star
    (13, (288, 288)),  # checkered circle overlapping a green disc and a yellow triangle
    (6, (240, 320)),   # striped circle partly covered by a pink checkered star
    (3, (320, 256)),   # striped orange rectangle over a dark disc
]


def heldout(out, n=50):
    os.makedirs(os.path.join(out, "heldout"), exist_ok=True)
    entries, k = [], 0
    while len(entries) < n:
        seed = HELDOUT_SEED_BASE + k
        img, masks, kinds = scenes.make_scene(seed)
        h, w = img.shape[:2]
        o = scenes.prompted_object(masks, k)
        if o is not None:
            m = masks[o]
            name = f"{len(entries):02d}"
            Image.fromarray(img).save(os.path.join(out, "heldout", name + ".png"), optimize=True)
            Image.fromarray(m).convert("L").point(lambda v: 255 if v else 0).save(
                os.path.join(out, "heldout", name + "_mask.png"), optimize=True)
            entries.append({
                "image": f"heldout/{name}.png",
                "mask": f"heldout/{name}_mask.png",
                "point": scenes.deepest_point(m),
                "box": scenes.bbox(m),
                "seed": seed,
                "object": kinds[o],
                "size": [w, h],
                "area_fraction": round(float(m.sum()) / (h * w), 4),
            })
        k += 1
    with open(os.path.join(out, "heldout.json"), "w") as f:
        json.dump({"rule": __doc__.split("Held-out rule: ")[1].strip(), "entries": entries}, f, indent=1)
    print(f"held-out: {len(entries)} scenes")


def demos(out, which=None):
    prompts = []
    for i, (off, size) in enumerate(DEMOS, start=1):
        img, masks, kinds = scenes.make_scene(DEMO_SEED_BASE + off, n_shapes=(5, 7), size=size)
        h, w = img.shape[:2]
        # Prompt the object with the deepest interior (largest erosion depth): clearly visible, unambiguous.
        depths = [int(scenes.erosion_depth(m).max()) if m.any() else 0 for m in masks]
        o = int(np.argmax(depths))
        name = f"demo_{i}.png"
        Image.fromarray(img).save(os.path.join(out, name), optimize=True)
        if i == 1:
            Image.fromarray(img).save(os.path.join(out, "demo_1.jpg"), quality=92)
        prompts.append({
            "image": name,
            "also": ["demo_1.jpg"] if i == 1 else [],
            "size": [w, h],
            "object": kinds[o],
            "point": scenes.deepest_point(masks[o]),
            "point_label": 1,
            "box": scenes.bbox(masks[o]),
            "seed": DEMO_SEED_BASE + off,
        })
    with open(os.path.join(out, "demo_prompts.json"), "w") as f:
        json.dump(prompts, f, indent=1)
    print(f"demos: {len(prompts)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--only", choices=["heldout", "demos"], default=None)
    args = ap.parse_args()
    if args.only != "demos":
        heldout(args.out)
    if args.only != "heldout":
        demos(args.out)


if __name__ == "__main__":
    main()
