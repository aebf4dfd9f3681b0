"""Procedural scene generator for the SAMQ demo model.

Every scene is a function of one integer seed (numpy PCG64), so the training
stream, the held-out set and the demo images are reproducible bit for bit.

A scene is an RGB image (sides 200-320 px, varying aspect ratio) with a
textured background and 3-7 overlapping shapes (circle, ellipse, rectangle,
rotated rectangle, random polygon, star) filled with solid colour, stripes,
checkers, linear/radial gradients or blotchy noise, lit with a shading ramp and
sometimes casting a soft shadow. Shapes are painted back to front; each
shape's ground-truth mask is its VISIBLE region (what is left after later
shapes are painted on top), read off a per-pixel label map.
"""

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPE_KINDS = ("circle", "ellipse", "rect", "rotrect", "polygon", "star")
FILL_KINDS = ("solid", "stripes", "checker", "gradient", "radial", "noise")


def _color(rng, avoid=(), min_dist=70.0):
    """A random RGB colour (float32, 0-255) at least min_dist from the colours in avoid."""
    best, best_d = None, -1.0
    for _ in range(12):
        h = rng.random()
        s = rng.uniform(0.25, 1.0)
        v = rng.uniform(0.25, 1.0)
        c = np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255.0
        d = min((float(np.linalg.norm(c - a)) for a in avoid), default=1e9)
        if d >= min_dist:
            return c
        if d > best_d:
            best, best_d = c, d
    return best


def _grid(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _smooth_noise(rng, h, w, cells):
    """Low-frequency noise in [0, 1]: a random cells×cells grid upsampled bicubically."""
    g = (rng.random((cells, cells)) * 255).astype(np.uint8)
    im = Image.fromarray(g, "L").resize((w, h), Image.BICUBIC)
    return np.asarray(im, np.float32) / 255.0


def _texture(rng, kind, h, w, c1, c2):
    """An h×w×3 float32 texture made of colours c1 and c2."""
    yy, xx = _grid(h, w)
    if kind == "solid":
        t = np.zeros((h, w), np.float32)
    elif kind == "stripes":
        a = rng.uniform(0, math.pi)
        period = rng.uniform(6, 22)
        u = xx * math.cos(a) + yy * math.sin(a)
        t = ((u / period) % 1.0 < rng.uniform(0.35, 0.65)).astype(np.float32)
    elif kind == "checker":
        a = rng.uniform(0, math.pi / 2)
        size = rng.uniform(6, 20)
        u = xx * math.cos(a) + yy * math.sin(a)
        v = -xx * math.sin(a) + yy * math.cos(a)
        t = ((np.floor(u / size) + np.floor(v / size)) % 2).astype(np.float32)
    elif kind == "gradient":
        a = rng.uniform(0, 2 * math.pi)
        u = xx * math.cos(a) + yy * math.sin(a)
        t = (u - u.min()) / max(float(u.max() - u.min()), 1.0)
    elif kind == "radial":
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        t = r / max(float(r.max()), 1.0)
    else:  # noise
        t = _smooth_noise(rng, h, w, int(rng.integers(4, 12)))
    t = t[..., None]
    return c1[None, None, :] * (1.0 - t) + c2[None, None, :] * t


def _shape_mask(rng, kind, h, w, size):
    """(mask as bool h×w, centre) for one shape whose extent is about `size` px."""
    cx = rng.uniform(0.1 * w, 0.9 * w)
    cy = rng.uniform(0.1 * h, 0.9 * h)
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    r = size / 2.0
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif kind in ("ellipse", "rect", "rotrect"):
        rx = r * rng.uniform(0.55, 1.0)
        ry = r * rng.uniform(0.4, 1.0)
        a = rng.uniform(0, math.pi) if kind != "rect" else 0.0
        if kind == "ellipse":
            t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
            px, py = rx * np.cos(t), ry * np.sin(t)
        else:
            px = np.array([-rx, rx, rx, -rx])
            py = np.array([-ry, -ry, ry, ry])
        ca, sa = math.cos(a), math.sin(a)
        pts = [(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in zip(px, py)]
        d.polygon(pts, fill=255)
    elif kind == "polygon":
        n = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        radii = r * rng.uniform(0.55, 1.0, n)
        pts = [(cx + q * math.cos(t), cy + q * math.sin(t)) for q, t in zip(radii, angles)]
        d.polygon(pts, fill=255)
    else:  # star
        n = int(rng.integers(4, 8))
        inner = rng.uniform(0.4, 0.65)
        a0 = rng.uniform(0, 2 * math.pi)
        pts = []
        for i in range(2 * n):
            q = r if i % 2 == 0 else r * inner
            t = a0 + math.pi * i / n
            pts.append((cx + q * math.cos(t), cy + q * math.sin(t)))
        d.polygon(pts, fill=255)
    return np.asarray(m) > 127, (cx, cy)


def make_scene(seed, size_range=(200, 320), n_shapes=(3, 7), size=None):
    """Returns (image uint8 H×W×3, list of visible masks (bool H×W), list of shape kinds).
    size=(w, h) fixes the image size (the random draws are still consumed)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    w = int(rng.integers(size_range[0], size_range[1] + 1))
    h = int(rng.integers(size_range[0], size_range[1] + 1))
    if rng.random() < 0.3:  # keep a few near-square
        h = w
    if size is not None:
        w, h = size

    # Background: gradient / noise / weak stripes in two related colours.
    b1 = _color(rng)
    b2 = np.clip(b1 + rng.normal(0, 40, 3), 0, 255).astype(np.float32)
    bkind = ["gradient", "radial", "noise", "noise", "stripes", "checker"][int(rng.integers(0, 6))]
    img = _texture(rng, bkind, h, w, b1, b2)
    if bkind in ("stripes", "checker"):  # low-contrast wallpaper
        img = 0.75 * _texture(rng, "gradient", h, w, b1, b2) + 0.25 * img
    used = [b1, b2]

    labels = np.full((h, w), -1, np.int32)
    kinds = []
    n = int(rng.integers(n_shapes[0], n_shapes[1] + 1))
    short = min(h, w)
    for i in range(n):
        kind = SHAPE_KINDS[int(rng.integers(0, len(SHAPE_KINDS)))]
        size = short * rng.uniform(0.2, 0.55)
        mask, _ = _shape_mask(rng, kind, h, w, size)
        if mask.sum() < 30:
            mask, _ = _shape_mask(rng, "circle", h, w, short * 0.3)
            kind = "circle"
        fill = FILL_KINDS[int(rng.integers(0, len(FILL_KINDS)))]
        c1 = _color(rng, used)
        c2 = _color(rng, used + [c1], 60.0) if fill != "solid" else c1
        used += [c1]
        # Texture and shading are computed over the shape's bounding box only.
        ys, xs = np.nonzero(mask)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        ch, cw = int(y1 - y0), int(x1 - x0)
        tex = _texture(rng, fill, ch, cw, c1, c2)
        # Shading ramp: a soft directional light across the object.
        yy, xx = _grid(ch, cw)
        a = rng.uniform(0, 2 * math.pi)
        u = xx * math.cos(a) + yy * math.sin(a)
        u = (u - u.min()) / max(float(u.max() - u.min()), 1.0)
        tex = tex * (1.0 + rng.uniform(0.0, 0.3) * (u[..., None] - 0.5))
        if rng.random() < 0.35:  # soft drop shadow on what is underneath
            dx, dy = rng.integers(-6, 7, 2)
            sh = np.roll(np.roll(mask, int(dy), 0), int(dx), 1).astype(np.float32)
            sh = np.asarray(Image.fromarray((sh * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3)),
                            np.float32) / 255.0
            img = img * (1.0 - 0.35 * sh[..., None])
        crop = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = np.where(mask[y0:y1, x0:x1, None], tex, crop)
        labels[mask] = i
        kinds.append(kind)

    # Sensor-ish finish: slight blur, noise.
    img = np.clip(img, 0, 255).astype(np.uint8)
    im = Image.fromarray(img)
    blur = rng.uniform(0.0, 0.9)
    if blur > 0.3:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    img = np.asarray(im, np.float32)
    img = img + rng.normal(0, rng.uniform(1.0, 7.0), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    masks = [labels == i for i in range(n)]
    return img, masks, kinds


def erosion_depth(mask):
    """Per-pixel number of 3×3 erosions a pixel survives (a chamfer distance to the boundary;
    pixels outside the image count as background)."""
    depth = np.zeros(mask.shape, np.int32)
    if not mask.any():
        return depth
    # Erode only the bounding box: everything outside it is background either way, so the
    # depths are the same, for 4-10x less work on the training prompts' interior points.
    x0, y0, x1, y1 = bbox(mask)
    depth[y0:y1 + 1, x0:x1 + 1] = _erosion_depth_whole(mask[y0:y1 + 1, x0:x1 + 1])
    return depth


def _erosion_depth_whole(mask):
    m = mask.copy()
    depth = np.zeros(mask.shape, np.int32)
    while m.any():
        depth += m
        p = np.pad(m, 1)
        m = (p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
             & p[:-2, :-2] & p[:-2, 2:] & p[2:, :-2] & p[2:, 2:])
    return depth


def deepest_point(mask):
    """The point [x, y] of the mask farthest from its boundary (max erosion depth); ties go
    to the deepest pixel closest to the centroid of the deepest set."""
    depth = erosion_depth(mask)
    ys, xs = np.nonzero(depth == depth.max())
    cy, cx = ys.mean(), xs.mean()
    k = int(np.argmin((ys - cy) ** 2 + (xs - cx) ** 2))
    return [int(xs[k]), int(ys[k])]


def bbox(mask):
    """Tight box [x0, y0, x1, y1] of a mask, in pixel coordinates (inclusive max)."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def prompted_object(masks, k, min_frac=0.02):
    """The held-out rule's object for scene k: the (k mod n)-th of the n shapes whose visible
    area is at least min_frac of the image, or None when no shape is that large."""
    h, w = masks[0].shape
    eligible = [i for i, m in enumerate(masks) if m.sum() >= min_frac * h * w]
    return eligible[k % len(eligible)] if eligible else None
