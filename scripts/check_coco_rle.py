#!/usr/bin/env python3
"""Checks a `samq everything` output against pycocotools.

    /work/venv/bin/python scripts/check_coco_rle.py MASKS.json IMAGE

For every annotation: the COCO compressed RLE decodes with pycocotools
(`mask.decode`) to the image size; `area` equals the decoded pixel count and
pycocotools' `area`; `bbox` equals the box of the decoded pixels in the official
generator's convention ([x0, y0, x1 - x0, y1 - y0] with inclusive max corners,
i.e. pycocotools' `toBbox` minus 1 in w and h; [0, 0, 0, 0] for an empty mask);
`point_coords` lie in the image and inside `crop_box`; scores are in range;
`id`s are 0..n-1. Exits 1 and lists the faults if any check fails.
Needs: pip install pycocotools numpy pillow
"""

import json
import sys

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils


def box_of(mask):
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0, 0, 0, 0]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())]


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    doc = json.load(open(sys.argv[1]))
    width, height = Image.open(sys.argv[2]).size
    faults = []
    image = doc.get("image", {})
    if (image.get("width"), image.get("height")) != (width, height):
        faults.append(f"image size {image.get('width')}x{image.get('height')} != {width}x{height}")
    anns = doc.get("annotations", [])
    for i, a in enumerate(anns):
        tag = f"annotation {i}"
        if a.get("id") != i:
            faults.append(f"{tag}: id {a.get('id')}")
        seg = a["segmentation"]
        if seg["size"] != [height, width]:
            faults.append(f"{tag}: size {seg['size']} != [{height}, {width}]")
            continue
        rle = {"size": seg["size"], "counts": seg["counts"].encode("ascii")}
        m = mask_utils.decode(rle)
        if m.shape != (height, width):
            faults.append(f"{tag}: decoded shape {m.shape}")
            continue
        area = int(m.sum())
        if a["area"] != area or int(mask_utils.area(rle)) != area:
            faults.append(f"{tag}: area {a['area']}, decoded {area}, pycocotools {mask_utils.area(rle)}")
        if a["bbox"] != box_of(m):
            faults.append(f"{tag}: bbox {a['bbox']} != {box_of(m)} (toBbox {mask_utils.toBbox(rle).tolist()})")
        # Round trip: re-encoding the decoded mask gives the same string.
        again = mask_utils.encode(np.asfortranarray(m))["counts"].decode("ascii")
        if again != seg["counts"]:
            faults.append(f"{tag}: counts differ from pycocotools' re-encoding")
        x, y = a["point_coords"][0]
        cx, cy, cw, ch = a["crop_box"]
        if not (0 <= x <= width and 0 <= y <= height and cx <= x <= cx + cw and cy <= y <= cy + ch):
            faults.append(f"{tag}: point ({x}, {y}) outside the image or crop {a['crop_box']}")
        if not (cx >= 0 and cy >= 0 and cx + cw <= width and cy + ch <= height):
            faults.append(f"{tag}: crop_box {a['crop_box']} outside the image")
        if not (0 <= a["stability_score"] <= 1):
            faults.append(f"{tag}: stability_score {a['stability_score']}")
        if not np.isfinite(a["predicted_iou"]):
            faults.append(f"{tag}: predicted_iou {a['predicted_iou']}")
    for f in faults[:50]:
        print(f)
    print(f"{len(anns)} annotations, {len(faults)} fault(s)")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
