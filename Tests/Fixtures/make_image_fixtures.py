#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/images from the official pipeline.

Run with the reference venv (numpy, pillow, torch, torchvision, segment-anything):

    /work/venv/bin/python Tests/Fixtures/make_image_fixtures.py

Everything is deterministic (fixed seeds). The Swift tests never run Python;
they read the files written here.

Layout of Tests/Fixtures/images:
  decode/NAME.png|jpg    inputs in many PNG/JPEG flavours
  decode/NAME.rgb        np.array(Image.open(NAME).convert("RGB")) raw bytes (H*W*3)
  decode/manifest.txt    "NAME WIDTH HEIGHT" per line
  bad/                   corrupt, truncated and oversized files
  resize/src_WxH.png     resize inputs; resize/out_WxH_L.png ResizeLongestSide(L).apply_image
  resize/manifest.txt    "SRC OUT L" per line
  post/                  Sam.postprocess_masks parity: raw little-endian float32 files
  npy/                   NumPy files written by numpy itself
"""
import io
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from segment_anything.utils.transforms import ResizeLongestSide

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def out(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


# ---------------------------------------------------------------- synthetic pictures

def picture(w, h, seed):
    """A photo-like but compressible test picture: gradients, hard-edged shapes,
    fine stripes (to exercise antialiasing) and a noisy patch."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127.5 + 127.5 * np.sin((x + 2 * y) / max(w, h) * 6.0)
    img = np.stack([r, g, b], axis=-1)
    # hard-edged disc and rectangle
    cx, cy, rad = w * 0.3, h * 0.6, min(w, h) * 0.2
    disc = (x - cx) ** 2 + (y - cy) ** 2 < rad ** 2
    img[disc] = [250, 30, 60]
    img[int(h * 0.1):int(h * 0.35), int(w * 0.55):int(w * 0.9)] = [20, 200, 90]
    # fine stripes and a checker in one band
    band = (y > h * 0.75)
    stripes = ((x.astype(int) // 1) % 3 == 0) | ((y.astype(int) // 2) % 5 == 0)
    img[band & stripes] = [255, 255, 255]
    img[band & ~stripes] = [0, 0, 40]
    # noisy patch
    ph, pw = max(1, h // 6), max(1, w // 6)
    py, px = int(h * 0.05), int(w * 0.05)
    img[py:py + ph, px:px + pw] = rng.integers(0, 256, size=(ph, pw, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- raw PNG writer
# Pillow cannot write 16-bit RGB(A) or gray+alpha-16 PNGs, nor add gAMA, so
# those are built by hand.

def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width, height, bit_depth, color_type, rows, extra=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save_expected(name, path):
    im = Image.open(path)
    rgb = np.array(im.convert("RGB"))
    with open(out("decode", name + ".rgb"), "wb") as f:
        f.write(rgb.tobytes())
    return f"{os.path.basename(path)} {rgb.shape[1]} {rgb.shape[0]}"


def make_decode():
    rng = np.random.default_rng(7)
    manifest = []
    base = picture(23, 17, 1)

    def pil_png(name, im, **kw):
        p = out("decode", name + ".png")
        im.save(p, **kw)
        manifest.append(save_expected(name, p))

    pil_png("rgb8", Image.fromarray(base))
    pil_png("gray8", Image.fromarray(base).convert("L"))
    pil_png("gray1", Image.fromarray(base).convert("1"))
    la = np.dstack([np.array(Image.fromarray(base).convert("L")), rng.integers(0, 256, (17, 23), dtype=np.uint8)])
    pil_png("gray_alpha8", Image.fromarray(la, "LA"))
    rgba = np.dstack([base, rng.integers(0, 256, (17, 23), dtype=np.uint8)])
    rgba[0, :, 3] = 0  # fully transparent row keeps its colour in PIL
    pil_png("rgba8", Image.fromarray(rgba, "RGBA"))
    pal = Image.fromarray(base).quantize(colors=13)
    pil_png("palette", pal)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    pil_png("palette_trns", pal_t, transparency=3)
    pal4 = Image.fromarray(base).quantize(colors=4)
    pil_png("palette_2bit", pal4, bits=2)
    g16 = (rng.integers(0, 400, (17, 23))).astype(np.uint16)  # PIL clips I;16 at 255
    pil_png("gray16", Image.fromarray(g16))

    # 16-bit RGB, 16-bit RGBA, 16-bit gray+alpha, 8-bit RGB with gAMA 1.0
    def manual(name, data):
        p = out("decode", name + ".png")
        with open(p, "wb") as f:
            f.write(data)
        manifest.append(save_expected(name, p))

    w, h = 19, 11
    v16 = rng.integers(0, 65536, (h, w, 4)).astype(">u2")
    v16[0, 0] = [0x00FF, 0x0100, 0x80FF, 0xFFFF]
    manual("rgb16", raw_png(w, h, 16, 2, [v16[i, :, :3].tobytes() for i in range(h)]))
    v16a = v16.copy()
    v16a[:, :, 3] = 65535  # opaque: exact; translucent 16-bit alpha is documented as approximate
    manual("rgba16_opaque", raw_png(w, h, 16, 6, [v16a[i].tobytes() for i in range(h)]))
    ga16 = v16[:, :, [0, 3]].copy()
    ga16[:, :, 0] = rng.integers(0, 400, (h, w))
    ga16[:, :, 1] = 65535
    manual("gray_alpha16_opaque", raw_png(w, h, 16, 4, [ga16[i].tobytes() for i in range(h)]))
    # Translucent 16-bit alpha: approximate by design (libpng premultiplies 16-bit
    # output); listed in approx_manifest.txt, checked to within 1 where alpha > 0.
    v16t = v16.copy()
    v16t[:, :, 3] = rng.integers(1, 65536, (h, w))
    v16t[0, 1, 3] = 0
    p = out("decode", "rgba16_translucent.png")
    with open(p, "wb") as f:
        f.write(raw_png(w, h, 16, 6, [v16t[i].tobytes() for i in range(h)]))
    with open(out("decode", "approx_manifest.txt"), "w") as f:
        f.write(save_expected("rgba16_translucent", p) + "\n")
    v8 = picture(w, h, 3)
    gama = chunk(b"gAMA", struct.pack(">I", 100000))
    manual("rgb8_gamma1", raw_png(w, h, 8, 2, [v8[i].tobytes() for i in range(h)], extra=gama))

    # JPEGs: 4:2:0 (default), 4:4:4, 4:2:2, grayscale, progressive, odd size
    jp = picture(61, 37, 5)
    for name, im, kw in [
        ("jpeg420", Image.fromarray(jp), dict(quality=90)),
        ("jpeg444", Image.fromarray(jp), dict(quality=95, subsampling=0)),
        ("jpeg422", Image.fromarray(jp), dict(quality=85, subsampling=1)),
        ("jpeg_gray", Image.fromarray(jp).convert("L"), dict(quality=90)),
        ("jpeg_progressive", Image.fromarray(jp), dict(quality=80, progressive=True)),
        ("jpeg_cmyk", Image.fromarray(jp).convert("CMYK"), dict(quality=90)),
    ]:
        p = out("decode", name + ".jpg")
        im.save(p, "JPEG", **kw)
        manifest.append(save_expected(name, p))

    with open(out("decode", "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def make_bad():
    good = open(out("decode", "rgb8.png"), "rb").read()
    with open(out("bad", "truncated.png"), "wb") as f:
        f.write(good[: len(good) // 2])
    bad_crc = bytearray(good)
    bad_crc[-20] ^= 0xFF  # inside IDAT data -> CRC / zlib error
    with open(out("bad", "corrupt_idat.png"), "wb") as f:
        f.write(bytes(bad_crc))
    with open(out("bad", "signature_only.png"), "wb") as f:
        f.write(good[:8])
    # A header that claims 20000 x 20000 and nothing else: the limit check must fire first.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    with open(out("bad", "huge_header.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr))
    ihdr0 = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    with open(out("bad", "zero_width.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr0) + good[33:])
    jpg = open(out("decode", "jpeg420.jpg"), "rb").read()
    with open(out("bad", "truncated.jpg"), "wb") as f:
        f.write(jpg[: len(jpg) // 2])
    with open(out("bad", "header_only.jpg"), "wb") as f:
        f.write(jpg[:2])
    garbage = bytearray(jpg)
    for i in range(400, len(garbage) - 2, 7):
        garbage[i] = 0xFF if i % 2 else 0xD9
    with open(out("bad", "corrupt.jpg"), "wb") as f:
        f.write(bytes(garbage))
    # SOI + SOF0 claiming 20000 x 20000 (height, width big-endian)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 20000, 20000, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    with open(out("bad", "huge_header.jpg"), "wb") as f:
        f.write(b"\xff\xd8" + sof)
    with open(out("bad", "not_an_image.bin"), "wb") as f:
        f.write(b"GIF89a not supported here")
    with open(out("bad", "empty.png"), "wb") as f:
        f.write(b"")


# ---------------------------------------------------------------- resize parity

RESIZE_CASES = [  # (width, height, longest side)
    (220, 160, 256),
    (640, 480, 1024),
    (37, 91, 128),
    (1500, 1000, 1024),
    (33, 33, 1024),
    (1023, 7, 256),
    (300, 301, 1024),
]


def make_resize():
    manifest = []
    for i, (w, h, L) in enumerate(RESIZE_CASES):
        src = picture(w, h, 100 + i)
        name = f"src_{w}x{h}.png"
        Image.fromarray(src).save(out("resize", name), optimize=True)
        t = ResizeLongestSide(L)
        res = t.apply_image(src)
        oname = f"out_{w}x{h}_{L}.png"
        Image.fromarray(res).save(out("resize", oname), optimize=True)
        manifest.append(f"{name} {oname} {L}")
    with open(out("resize", "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


# ---------------------------------------------------------------- postprocess parity

def make_post():
    torch.manual_seed(0)
    g = np.random.default_rng(11)
    cases = []
    # The last case is SAM's real geometry: 256x256 low-res logits, 1024 input.
    for (oh, ow, L, lowres, channels) in [(160, 220, 256, 64, 3), (91, 37, 128, 32, 3), (200, 300, 1024, 256, 1)]:
        logits = (g.standard_normal((1, channels, lowres, lowres)) * 4).astype(np.float32)
        t = ResizeLongestSide(L)
        nh, nw = t.get_preprocess_shape(oh, ow, L)
        x = torch.from_numpy(logits)
        up = F.interpolate(x, (L, L), mode="bilinear", align_corners=False)
        up = up[..., :nh, :nw]
        res = F.interpolate(up, (oh, ow), mode="bilinear", align_corners=False)
        tag = f"{lowres}_{L}_{oh}x{ow}"
        logits.tofile(out("post", f"logits_{tag}.f32"))
        res.numpy().astype("<f4").tofile(out("post", f"masks_{tag}.f32"))
        cases.append(f"{tag} {channels} {lowres} {L} {nh} {nw} {oh} {ow}")
    with open(out("post", "manifest.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


# ---------------------------------------------------------------- preprocess parity

def make_normalize():
    """Sam.preprocess on the 37x91 -> 128 resize output (float32, 3x128x128)."""
    src = np.array(Image.open(out("resize", "out_37x91_128.png")))
    mean = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)
    x = torch.as_tensor(src).permute(2, 0, 1).contiguous()
    x = (x - mean) / std
    h, w = x.shape[-2:]
    x = F.pad(x, (0, 128 - w, 0, 128 - h))
    x.numpy().astype("<f4").tofile(out("post", "normalized_37x91_128.f32"))
    # apply_coords / apply_boxes reference (float64 then float32 as SamPredictor does)
    t = ResizeLongestSide(1024)
    pts = np.array([[0, 0], [10.5, 3.25], [219, 159], [100, 77]], dtype=np.float64)
    c = t.apply_coords(pts, (160, 220)).astype(np.float32)
    boxes = np.array([[1, 2, 200, 150], [0.5, 0.5, 33.3, 44.4]], dtype=np.float64)
    b = t.apply_boxes(boxes, (160, 220)).astype(np.float32)
    c.astype("<f4").tofile(out("post", "coords_160x220_1024.f32"))
    b.astype("<f4").tofile(out("post", "boxes_160x220_1024.f32"))


# ---------------------------------------------------------------- npy files

def make_npy():
    np.save(out("npy", "f4_2x3.npy"), np.arange(6, dtype="<f4").reshape(2, 3) / 4)
    np.save(out("npy", "f4_scalar.npy"), np.array(3.5, dtype="<f4"))
    np.save(out("npy", "f4_vec5.npy"), np.arange(5, dtype="<f4"))
    np.save(out("npy", "f4_empty_0x3.npy"), np.zeros((0, 3), dtype="<f4"))
    np.save(out("npy", "f8_2x2.npy"), np.array([[1.5, -2.25], [1e-3, 7]], dtype="<f8"))
    np.save(out("npy", "u1_4.npy"), np.array([0, 1, 128, 255], dtype="u1"))
    np.save(out("npy", "b1_3.npy"), np.array([True, False, True]))
    np.save(out("npy", "f4_fortran.npy"), np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    np.save(out("npy", "f4_big_endian.npy"), np.arange(3, dtype=">f4"))
    np.save(out("npy", "i4_3.npy"), np.arange(3, dtype="<i4"))
    # version 2.0 and 3.0 headers
    from numpy.lib import format as fmt
    for version in [(2, 0), (3, 0)]:
        with open(out("npy", f"f4_v{version[0]}.npy"), "wb") as f:
            arr = np.arange(4, dtype="<f4").reshape(2, 2)
            fmt.write_array(f, arr, version=version)


if __name__ == "__main__":
    make_decode()
    make_bad()
    make_resize()
    make_post()
    make_normalize()
    make_npy()
    total = 0
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    print(f"fixtures: {total / 1e6:.2f} MB in {ROOT}")
