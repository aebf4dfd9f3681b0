#!/usr/bin/env python3
"""Golden fixtures for SAMQ, made with Meta's official `segment_anything` package.

Needs (Python 3.9+):
    pip install torch torchvision segment-anything safetensors transformers pillow numpy

Run from the repository root:
    python Tests/Fixtures/make_fixtures.py [--out Tests/Fixtures/sam] [--big-dir /work/big]
        [--only tiny_a,tiny_b] [--skip-hf] [--skip-shapes] [--skip-big]

What it writes (see Tests/Fixtures/README.md and <out>/manifest.json):
  * <out>/<cfg>.pth, <cfg>.safetensors   small SAM models built with the official classes
                                          (segment_anything.modeling), every tensor re-initialised
                                          with seeded random values. .pth = torch.save(state_dict)
                                          exactly like the official checkpoints.
  * <out>/image.png, image.jpg           deterministic 220x160 RGB test image (+ decoded arrays)
  * <out>/<cfg>/*.npy                    SamPredictor inputs/outputs (resized image, input
                                          tensor, embedding, per-block encoder activations,
                                          per-prompt low-res logits, IoU, masks)
  * <out>/relpos/*.npy                   get_rel_pos interpolation cases
  * <out>/hf_tiny_a/                     transformers SamModel with the tiny_a weights
                                          (save_pretrained) + name_map.json
  * <out>/official_shapes.json           name -> shape of official vit_b / vit_l / vit_h
  * <out>/manifest.json                  describes everything above
  * <big-dir>/sam_vit_b_random.pth, sam_vit_h_random.pth   full-size random checkpoints
                                          (NOT committed), and <big-dir>/fixtures/tiny_c.*
                                          weights (too big to commit, see README).

Everything is deterministic (fixed seeds, torch.Generator / numpy RandomState); re-running
reproduces the same arrays. All .npy files are NumPy format v1.0, C order, float32 unless
stated (masks/images are uint8).
"""

import argparse
import hashlib
import json
import os
import re
import sys
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from segment_anything import SamPredictor, sam_model_registry
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from segment_anything.modeling.image_encoder import get_rel_pos

PIXEL_MEAN = [123.675, 116.28, 103.53]
PIXEL_STD = [58.395, 57.12, 57.375]

# Decoder heads are ALWAYS 8 (as in every official model; not inferable from shapes).
CONFIGS = {
    "tiny_a": dict(
        img_size=256, patch_size=16, embed_dim=64, depth=3, num_heads=4, window_size=7,
        global_attn_indexes=[2], prompt_embed_dim=64, decoder_mlp_dim=128,
        iou_head_hidden_dim=64, mask_in_chans=16, seed=1001,
    ),
    "tiny_b": dict(
        img_size=128, patch_size=8, embed_dim=48, depth=4, num_heads=3, window_size=4,
        global_attn_indexes=[1, 3], prompt_embed_dim=32, decoder_mlp_dim=64,
        iou_head_hidden_dim=32, mask_in_chans=8, seed=1002,
    ),
    # Real decoder widths. Its weights are ~19 MB per copy, too big to commit: they are
    # written to <big-dir>/fixtures/ and only its outputs are committed (see manifest).
    "tiny_c": dict(
        img_size=256, patch_size=16, embed_dim=32, depth=2, num_heads=2, window_size=8,
        global_attn_indexes=[1], prompt_embed_dim=256, decoder_mlp_dim=2048,
        iou_head_hidden_dim=256, mask_in_chans=16, seed=1003, external_weights=True,
    ),
}
COMMON = dict(
    mlp_ratio=4.0, qkv_bias=True, use_rel_pos=True, use_abs_pos=True,
    # LayerNorm epsilons of the official modules (NOT all the same!):
    encoder_layer_norm_eps=1e-6,            # ViT blocks norm1/norm2 (norm_layer=partial(LayerNorm, eps=1e-6))
    layer_norm2d_eps=1e-6,                  # neck.1/neck.3, mask_downscaling.1/.4, output_upscaling.1
    decoder_transformer_layer_norm_eps=1e-5,  # TwoWayTransformer norm1..4 + norm_final_attn (nn.LayerNorm default)
    decoder_depth=2, decoder_num_heads=8, attention_downsample_rate=2, iou_head_depth=3,
    num_multimask_outputs=3, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD, mask_threshold=0.0,
    image_format="RGB",
)

IMAGE_W, IMAGE_H = 168, 124  # non-square; 124*256/168 = 188.95 -> 189 rows (odd), 94 rows at 128
IMAGE_SEED = 20240601


# ----------------------------------------------------------------------------- models

def full_config(name):
    c = dict(COMMON)
    c.update(CONFIGS[name])
    c["out_chans"] = c["prompt_embed_dim"]
    c["image_embedding_size"] = c["img_size"] // c["patch_size"]
    c["low_res_size"] = 4 * c["image_embedding_size"]
    c["num_pos_feats"] = c["prompt_embed_dim"] // 2
    c.setdefault("external_weights", False)
    return c


def build_sam(c):
    """Mirror of segment_anything.build_sam._build_sam with small sizes."""
    g = c["image_embedding_size"]
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=c["depth"],
            embed_dim=c["embed_dim"],
            img_size=c["img_size"],
            mlp_ratio=c["mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=c["num_heads"],
            patch_size=c["patch_size"],
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=c["global_attn_indexes"],
            window_size=c["window_size"],
            out_chans=c["prompt_embed_dim"],
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=c["prompt_embed_dim"],
            image_embedding_size=(g, g),
            input_image_size=(c["img_size"], c["img_size"]),
            mask_in_chans=c["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=c["decoder_depth"],
                embedding_dim=c["prompt_embed_dim"],
                mlp_dim=c["decoder_mlp_dim"],
                num_heads=c["decoder_num_heads"],
            ),
            transformer_dim=c["prompt_embed_dim"],
            iou_head_depth=c["iou_head_depth"],
            iou_head_hidden_dim=c["iou_head_hidden_dim"],
        ),
        pixel_mean=PIXEL_MEAN,
        pixel_std=PIXEL_STD,
    )
    sam.eval()
    return sam


_NORM_WEIGHT = re.compile(
    r"(norm\w*\.weight|neck\.[13]\.weight|output_upscaling\.1\.weight|mask_downscaling\.[14]\.weight)$"
)
_EMBEDDINGS = ("point_embeddings", "not_a_point_embed", "no_mask_embed", "iou_token", "mask_tokens")


def init_rule(name, shape):
    """(kind, std, mean) for one state-dict entry. Chosen so activations stay O(1) and no
    tensor is zero/one/constant (a wrong index anywhere must change the outputs)."""
    if _NORM_WEIGHT.search(name):
        return "norm_weight", 0.1, 1.0
    if name.endswith("positional_encoding_gaussian_matrix"):
        return "gaussian_pe", 1.0, 0.0
    if name.endswith(("rel_pos_h", "rel_pos_w")):
        return "rel_pos", 0.25, 0.0
    if name.endswith("pos_embed"):
        return "pos_embed", 0.25, 0.0
    if any(e in name for e in _EMBEDDINGS):
        return "embedding", 0.5, 0.0
    if name.endswith("bias"):
        return "bias", 0.05, 0.0
    if len(shape) >= 2:
        if "output_upscaling" in name and len(shape) == 4:
            fan_in = shape[0]  # ConvTranspose2d weight is (in, out, kh, kw), stride == kernel
        else:
            fan_in = int(np.prod(shape[1:]))
        return "weight", 1.0 / np.sqrt(fan_in), 0.0
    raise ValueError(f"no init rule for {name} {shape}")


def init_weights(sam, seed):
    g = torch.Generator().manual_seed(seed)
    sd = sam.state_dict()  # tensors share storage with the module
    with torch.no_grad():
        for name, t in sd.items():
            kind, std, mean = init_rule(name, tuple(t.shape))
            t.copy_(mean + std * torch.randn(t.shape, generator=g, dtype=torch.float32))
    return sam


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(sam, base):
    from safetensors.torch import save_file

    sd = sam.state_dict()
    torch.save(sd, base + ".pth")
    save_file({k: v.contiguous() for k, v in sd.items()}, base + ".safetensors", metadata={"format": "pt"})


# ----------------------------------------------------------------------------- image

def make_image():
    """Photo-like, non-square, deterministic RGB uint8 image (IMAGE_H x IMAGE_W).
    Shapes are laid out in a 220x160 design space scaled to the real size."""
    rs = np.random.RandomState(IMAGE_SEED)
    Hr, Wr = IMAGE_H, IMAGE_W
    H, W = 160, 220
    yy, xx = np.mgrid[0:Hr, 0:Wr].astype(np.float64)
    xx *= W / Wr
    yy *= H / Hr
    img = np.zeros((Hr, Wr, 3), np.float64)
    # sky-ish vertical/diagonal gradient
    img[..., 0] = 40 + 120 * (xx / W)
    img[..., 1] = 90 + 100 * (yy / H)
    img[..., 2] = 200 - 80 * ((xx + yy) / (W + H))
    # low-frequency shading
    img += 18 * np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]

    def blend(mask, color, alpha=1.0):
        m = mask[..., None] * alpha
        img[:] = img * (1 - m) + np.asarray(color, np.float64) * m

    def soft(d):  # anti-aliased edge from signed distance-ish value
        return np.clip(0.5 - d, 0.0, 1.0)

    # ellipse (red), with radial shading
    cx, cy, ax, ay = 75, 70, 45, 32
    r = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
    blend(soft((r - 1) * 30), [210, 60, 50])
    img -= (20 * np.clip(1 - r, 0, 1) * (xx - cx) / ax)[..., None] * (r < 1)[..., None]
    # rectangle (green), overlapping the ellipse, semi-transparent
    rect = soft(np.maximum(np.maximum(95 - xx, xx - 170), np.maximum(45 - yy, yy - 125)))
    blend(rect, [60, 170, 80], 0.85)
    # triangle (yellow)
    p = np.array([[150, 20], [205, 95], [120, 90]], np.float64)
    tri = np.ones((Hr, Wr), bool)
    for i in range(3):
        a, b = p[i], p[(i + 1) % 3]
        cross = (b[0] - a[0]) * (yy - a[1]) - (b[1] - a[1]) * (xx - a[0])
        tri &= cross > 0
    blend(tri.astype(np.float64), [235, 205, 40], 0.9)
    # dark disc (blue) near bottom-left
    d = np.sqrt((xx - 40) ** 2 + (yy - 130) ** 2)
    blend(soft(d - 22), [30, 40, 120])
    # thin diagonal stripe
    stripe = soft(np.abs((yy - 0.6 * xx - 10)) - 2.0)
    blend(stripe, [245, 245, 245], 0.7)
    # texture: smooth noise + pixel noise
    coarse = rs.randn(Hr // 6 + 2, Wr // 6 + 2, 3)
    up = np.kron(coarse, np.ones((6, 6, 1)))[:Hr, :Wr]
    img += 10 * up + 6 * rs.randn(Hr, Wr, 3)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- prompts

def prompt_cases():
    """Coordinates in original image pixels (x, y), as SamPredictor takes them."""
    return [
        dict(desc="one positive point", points=[[92.0, 62.0]], labels=[1], box=None, multimask=True),
        dict(desc="one positive point, single mask", points=[[92.0, 62.0]], labels=[1], box=None, multimask=False),
        dict(desc="three points labels 1,0,1 (fractional coords)", points=[[46.5, 38.25], [115.0, 85.0], [137.0, 31.0]],
             labels=[1, 0, 1], box=None, multimask=True),
        dict(desc="box", points=None, labels=None, box=[30.0, 23.0, 130.0, 100.0], multimask=True),
        dict(desc="box, single mask", points=None, labels=None, box=[30.0, 23.0, 130.0, 100.0], multimask=False),
        dict(desc="box + positive point", points=[[76.0, 54.0]], labels=[1], box=[30.0, 23.0, 130.0, 100.0],
             multimask=False),
        dict(desc="negative point only", points=[[69.0, 77.0]], labels=[0], box=None, multimask=True),
        dict(desc="positive point near bottom-right corner", points=[[162.0, 120.0]], labels=[1], box=None,
             multimask=True),
        dict(desc="mask_input (best of case 0) + positive point", points=[[92.0, 62.0]], labels=[1], box=None,
             multimask=False, mask_from_case=0),
        dict(desc="mask_input only (no sparse prompts)", points=None, labels=None, box=None, multimask=True,
             mask_from_case=0),
        dict(desc="box + two points (labels 0,1), multimask", points=[[23.0, 15.0], [84.0, 73.0]], labels=[0, 1],
             box=[15.0, 8.0, 153.0, 116.0], multimask=True),
    ]


# ----------------------------------------------------------------------------- helpers

def npsave(path, arr):
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    np.save(path, arr, allow_pickle=False)


def check_not_degenerate(name, k, lowres, iou):
    issues = []
    frac_pos = float((lowres > 0).mean())
    if not (0.01 < frac_pos < 0.99):
        issues.append(f"lowres positive fraction {frac_pos:.3f}")
    if iou.size > 1 and float(np.ptp(iou)) < 1e-3:
        issues.append(f"iou predictions nearly identical {iou}")
    if issues:
        print(f"  WARNING {name} case {k}: " + "; ".join(issues))
    return frac_pos


# ----------------------------------------------------------------------------- per-config run

def run_config(name, out, big_dir, image_rgb, shared_inputs):
    c = full_config(name)
    torch.manual_seed(c["seed"])
    sam = init_weights(build_sam(c), c["seed"])
    cdir = os.path.join(out, name)
    os.makedirs(cdir, exist_ok=True)

    wdir = os.path.join(big_dir, "fixtures") if c["external_weights"] else out
    os.makedirs(wdir, exist_ok=True)
    base = os.path.join(wdir, name)
    save_weights(sam, base)
    entry = {"config": {k: v for k, v in c.items() if k not in ("seed", "external_weights")},
             "seed": c["seed"]}
    entry["weights"] = {
        "external": c["external_weights"],
        "pth": (name + ".pth") if not c["external_weights"] else None,
        "safetensors": (name + ".safetensors") if not c["external_weights"] else None,
        # external files live in <big-dir>/fixtures/ (default big-dir /work/big; not committed)
        "external_pth": f"fixtures/{name}.pth" if c["external_weights"] else None,
        "external_safetensors": f"fixtures/{name}.safetensors" if c["external_weights"] else None,
        "pth_sha256": sha256(base + ".pth"),
        "safetensors_sha256": sha256(base + ".safetensors"),
        "num_tensors": len(sam.state_dict()),
        "num_params": int(sum(v.numel() for v in sam.state_dict().values())),
    }
    entry["state_dict_shapes"] = {k: list(v.shape) for k, v in sam.state_dict().items()}
    entry["init"] = {k: init_rule(k, tuple(v.shape))[0] for k, v in sam.state_dict().items()}

    predictor = SamPredictor(sam)
    files = {}

    # ---- image path, with activations captured by hooks
    acts = {}
    hooks = []
    enc = sam.image_encoder

    def cap(key):
        def fn(_m, _i, o):
            acts[key] = o.detach().clone()
        return fn

    hooks.append(enc.patch_embed.register_forward_hook(cap("patch_embed")))
    for i, blk in enumerate(enc.blocks):
        hooks.append(blk.register_forward_hook(cap(f"block_{i}")))
    with torch.no_grad():
        predictor.set_image(image_rgb)
    for h in hooks:
        h.remove()

    resized = predictor.transform.apply_image(image_rgb)
    x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None, :, :, :]
    with torch.no_grad():
        input_tensor = sam.preprocess(x)
        emb_direct = sam.image_encoder(input_tensor)
    emb = predictor.get_image_embedding()
    assert torch.equal(emb_direct, emb), "embedding from input_tensor differs from predictor"
    # configs with the same img_size share the (identical) input files to save space
    share = shared_inputs.get(c["img_size"])
    if share is not None:
        assert np.array_equal(np.load(os.path.join(out, share["input_tensor"])), input_tensor.numpy())
        assert np.array_equal(np.load(os.path.join(out, share["input_resized_u8"])), resized)
        files.update(share)
    else:
        npsave(os.path.join(cdir, "input_resized_u8.npy"), resized.astype(np.uint8))
        npsave(os.path.join(cdir, "input_tensor.npy"), input_tensor.numpy().astype(np.float32))
        files.update(input_resized_u8=f"{name}/input_resized_u8.npy", input_tensor=f"{name}/input_tensor.npy")
        shared_inputs[c["img_size"]] = dict(files)
    npsave(os.path.join(cdir, "embedding.npy"), emb.numpy().astype(np.float32))
    files["embedding"] = f"{name}/embedding.npy"
    # patch_embed output includes no pos_embed; blocks are B×H×W×C (channels last)
    npsave(os.path.join(cdir, "patch_embed.npy"), acts["patch_embed"].numpy())
    files["patch_embed"] = f"{name}/patch_embed.npy"
    files["blocks"] = []
    for i in range(c["depth"]):
        fn = f"block_{i}.npy"
        npsave(os.path.join(cdir, fn), acts[f"block_{i}"].numpy())
        files["blocks"].append(f"{name}/{fn}")
    with torch.no_grad():
        image_pe = sam.prompt_encoder.get_dense_pe()
    if not c["external_weights"]:  # tiny_c: skip (256 channels, same code path as tiny_a)
        npsave(os.path.join(cdir, "image_pe.npy"), image_pe.numpy())
        files["image_pe"] = f"{name}/image_pe.npy"
    entry["input_size"] = list(predictor.input_size)      # (h, w) after resize, before pad
    entry["original_size"] = list(predictor.original_size)
    entry["files"] = files

    # ---- prompts
    cases = []
    results = {}
    for k, pc in enumerate(prompt_cases()):
        pts = np.array(pc["points"], np.float32) if pc["points"] is not None else None
        lbl = np.array(pc["labels"], np.int64) if pc["labels"] is not None else None
        box = np.array(pc["box"], np.float32) if pc["box"] is not None else None
        mask_input = None
        mask_file = None
        if "mask_from_case" in pc:
            src_low, src_iou = results[pc["mask_from_case"]]
            best = int(np.argmax(src_iou))
            mask_input = src_low[best][None, :, :].astype(np.float32)  # 1×h×w
            mask_file = f"{name}/case_{k}_mask_input.npy"
            npsave(os.path.join(out, mask_file), mask_input)
        with torch.no_grad():
            # sparse/dense prompt embeddings (debug aid)
            coords_t = labels_t = box_t = mask_t = None
            if pts is not None:
                coords_t = torch.as_tensor(predictor.transform.apply_coords(pts, predictor.original_size),
                                           dtype=torch.float)[None]
                labels_t = torch.as_tensor(lbl, dtype=torch.int)[None]
            if box is not None:
                box_t = torch.as_tensor(predictor.transform.apply_boxes(box, predictor.original_size),
                                        dtype=torch.float)[None]
            if mask_input is not None:
                mask_t = torch.as_tensor(mask_input, dtype=torch.float)[None]
            sparse, dense = sam.prompt_encoder(
                points=(coords_t, labels_t) if coords_t is not None else None, boxes=box_t, masks=mask_t)
            masks, iou, low = predictor.predict(
                point_coords=pts, point_labels=lbl, box=box, mask_input=mask_input,
                multimask_output=pc["multimask"], return_logits=False)
        results[k] = (low, iou)
        frac = check_not_degenerate(name, k, low, iou)
        cf = dict(
            low_res_logits=f"{name}/case_{k}_low_res_logits.npy",
            iou_predictions=f"{name}/case_{k}_iou.npy",
            masks=f"{name}/case_{k}_masks.npy",
            sparse_embeddings=f"{name}/case_{k}_sparse.npy",
        )
        npsave(os.path.join(out, cf["low_res_logits"]), low.astype(np.float32))
        npsave(os.path.join(out, cf["iou_predictions"]), iou.astype(np.float32))
        if c["external_weights"] and pc["multimask"]:
            cf["masks"] = None  # tiny_c: full-size masks only for single-mask cases (size budget)
        else:
            npsave(os.path.join(out, cf["masks"]), masks.astype(np.uint8))
        npsave(os.path.join(out, cf["sparse_embeddings"]), sparse.numpy())
        if mask_input is not None and not c["external_weights"]:
            cf["dense_embeddings"] = f"{name}/case_{k}_dense.npy"
            npsave(os.path.join(out, cf["dense_embeddings"]), dense.numpy())
        cases.append(dict(
            index=k, desc=pc["desc"], points=pc["points"], labels=pc["labels"], box=pc["box"],
            mask_input=mask_file,
            mask_input_from=(dict(case=pc["mask_from_case"], mask_index=int(np.argmax(results[pc["mask_from_case"]][1])))
                             if mask_file else None),
            multimask=pc["multimask"],
            num_masks=int(low.shape[0]),
            low_res_shape=list(low.shape), masks_shape=list(masks.shape),
            iou=[float(v) for v in iou],
            lowres_positive_fraction=round(frac, 4),
            mask_positive_fraction=[round(float(m.mean()), 4) for m in masks],
            # transformed (input-frame) coordinates, for debugging
            points_input_frame=(predictor.transform.apply_coords(pts, predictor.original_size).tolist()
                                if pts is not None else None),
            box_input_frame=(predictor.transform.apply_boxes(box, predictor.original_size)[0].tolist()
                             if box is not None else None),
            files=cf,
        ))
        print(f"  {name} case {k}: iou={np.round(iou, 3).tolist()} pos={frac:.2f} "
              f"low={list(low.shape)} masks={list(masks.shape)}")
    entry["cases"] = cases
    return entry, sam


# ----------------------------------------------------------------------------- relpos

def relpos_fixtures(out):
    rdir = os.path.join(out, "relpos")
    os.makedirs(rdir, exist_ok=True)
    g = torch.Generator().manual_seed(777)
    specs = [
        (7, 7, 9, 4),     # short table, upsampled 9 -> 13
        (8, 8, 31, 4),    # long table, downsampled 31 -> 15
        (14, 14, 27, 8),  # exact length, no interpolation
        (7, 7, 13, 3),    # exact length
        (16, 16, 27, 6),  # 27 -> 31 (window 14 table used at grid 16)
        (64, 64, 127, 2), # exact global table size of the official models
        (4, 8, 15, 3),    # q != k (coordinate scaling branch), exact length
        (8, 4, 9, 3),     # q != k with interpolation 9 -> 15
    ]
    cases = []
    for k, (q, kk, L, C) in enumerate(specs):
        table = torch.randn(L, C, generator=g)
        max_rel = 2 * max(q, kk) - 1
        if L != max_rel:
            resized = F.interpolate(table.reshape(1, L, -1).permute(0, 2, 1), size=max_rel, mode="linear")
            resized = resized.reshape(-1, max_rel).permute(1, 0)
        else:
            resized = table
        outv = get_rel_pos(q, kk, table)
        fin, fres, fout = f"case_{k}_in.npy", f"case_{k}_resized.npy", f"case_{k}_out.npy"
        npsave(os.path.join(rdir, fin), table.numpy())
        npsave(os.path.join(rdir, fres), resized.contiguous().numpy())
        npsave(os.path.join(rdir, fout), outv.contiguous().numpy())
        cases.append(dict(index=k, q_size=q, k_size=kk, table_len=L, channels=C, resized_len=max_rel,
                          interpolated=L != max_rel, input="relpos/" + fin, resized="relpos/" + fres,
                          output="relpos/" + fout, output_shape=list(outv.shape)))
    return dict(
        note="output = get_rel_pos(q_size, k_size, table): shape (q_size, k_size, C). resized = the table "
             "after F.interpolate(mode='linear', align_corners=False) to 2*max(q,k)-1 rows (== input when "
             "lengths already match).",
        cases=cases,
    )


# ----------------------------------------------------------------------------- HF

def official_to_hf_key(key):
    """transformers/models/sam/convert_sam_to_hf.py: KEYS_TO_MODIFY_MAPPING + replace_keys."""
    mapping = {
        "iou_prediction_head.layers.0": "iou_prediction_head.proj_in",
        "iou_prediction_head.layers.1": "iou_prediction_head.layers.0",
        "iou_prediction_head.layers.2": "iou_prediction_head.proj_out",
        "mask_decoder.output_upscaling.0": "mask_decoder.upscale_conv1",
        "mask_decoder.output_upscaling.1": "mask_decoder.upscale_layer_norm",
        "mask_decoder.output_upscaling.3": "mask_decoder.upscale_conv2",
        "mask_downscaling.0": "mask_embed.conv1",
        "mask_downscaling.1": "mask_embed.layer_norm1",
        "mask_downscaling.3": "mask_embed.conv2",
        "mask_downscaling.4": "mask_embed.layer_norm2",
        "mask_downscaling.6": "mask_embed.conv3",
        "point_embeddings": "point_embed",
        "pe_layer.positional_encoding_gaussian_matrix": "shared_embedding.positional_embedding",
        "image_encoder": "vision_encoder",
        "neck.0": "neck.conv1",
        "neck.1": "neck.layer_norm1",
        "neck.2": "neck.conv2",
        "neck.3": "neck.layer_norm2",
        "patch_embed.proj": "patch_embed.projection",
        ".norm": ".layer_norm",
        "blocks": "layers",
    }
    try:  # prefer the real script if this transformers version ships it
        from transformers.models.sam.convert_sam_to_hf import KEYS_TO_MODIFY_MAPPING  # noqa
        mapping = KEYS_TO_MODIFY_MAPPING
    except Exception:
        pass
    for a, b in mapping.items():
        if a in key:
            key = key.replace(a, b)
    m = re.match(r".*.output_hypernetworks_mlps.(\d+).layers.(\d+).*", key)
    if m:
        n = int(m.group(2))
        key = key.replace(f"layers.{n}", {0: "proj_in", 1: "layers.0", 2: "proj_out"}[n])
    return key


# Reverse mapping (HF -> official), as documented in sam/hf_mapping.md. Verified below on every tensor.
_HF_TO_OFFICIAL = [
    (r"^shared_image_embedding\.positional_embedding$", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
    (r"^prompt_encoder\.shared_embedding\.positional_embedding$",
     "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"),
    (r"^vision_encoder\.", "image_encoder."),
    (r"^image_encoder\.layers\.(\d+)\.layer_norm([12])\.", r"image_encoder.blocks.\1.norm\2."),
    (r"^image_encoder\.layers\.", "image_encoder.blocks."),
    (r"^image_encoder\.patch_embed\.projection\.", "image_encoder.patch_embed.proj."),
    (r"^image_encoder\.neck\.conv1\.", "image_encoder.neck.0."),
    (r"^image_encoder\.neck\.layer_norm1\.", "image_encoder.neck.1."),
    (r"^image_encoder\.neck\.conv2\.", "image_encoder.neck.2."),
    (r"^image_encoder\.neck\.layer_norm2\.", "image_encoder.neck.3."),
    (r"^prompt_encoder\.point_embed\.", "prompt_encoder.point_embeddings."),
    (r"^prompt_encoder\.mask_embed\.conv1\.", "prompt_encoder.mask_downscaling.0."),
    (r"^prompt_encoder\.mask_embed\.layer_norm1\.", "prompt_encoder.mask_downscaling.1."),
    (r"^prompt_encoder\.mask_embed\.conv2\.", "prompt_encoder.mask_downscaling.3."),
    (r"^prompt_encoder\.mask_embed\.layer_norm2\.", "prompt_encoder.mask_downscaling.4."),
    (r"^prompt_encoder\.mask_embed\.conv3\.", "prompt_encoder.mask_downscaling.6."),
    (r"^mask_decoder\.upscale_conv1\.", "mask_decoder.output_upscaling.0."),
    (r"^mask_decoder\.upscale_layer_norm\.", "mask_decoder.output_upscaling.1."),
    (r"^mask_decoder\.upscale_conv2\.", "mask_decoder.output_upscaling.3."),
    (r"^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm(\d)\.", r"mask_decoder.transformer.layers.\1.norm\2."),
    (r"^mask_decoder\.transformer\.layer_norm_final_attn\.", "mask_decoder.transformer.norm_final_attn."),
]


def hf_to_official_key(key, mlp_num_layers=3):
    """HF SamModel name -> official segment_anything name (rules of hf_mapping.md)."""
    for pat, rep in _HF_TO_OFFICIAL:
        key = re.sub(pat, rep, key)
    # SamFeedForward (iou_prediction_head, output_hypernetworks_mlps.N): proj_in, layers.i, proj_out
    # -> official MLP layers.0, layers.(i+1), layers.(num_layers-1)
    m = re.match(r"^(mask_decoder\.(?:iou_prediction_head|output_hypernetworks_mlps\.\d+))\.(proj_in|proj_out|layers\.(\d+))\.(.*)$", key)
    if m:
        idx = 0 if m.group(2) == "proj_in" else (mlp_num_layers - 1 if m.group(2) == "proj_out" else int(m.group(3)) + 1)
        key = f"{m.group(1)}.layers.{idx}.{m.group(4)}"
    return key


def hf_fixture(out, sam_a, ca, case0, files_dir):
    from transformers import SamConfig, SamModel
    from safetensors import safe_open

    hdir = os.path.join(out, "hf_tiny_a")
    os.makedirs(hdir, exist_ok=True)
    config = SamConfig(
        vision_config=dict(
            hidden_size=ca["embed_dim"], output_channels=ca["out_chans"], num_hidden_layers=ca["depth"],
            num_attention_heads=ca["num_heads"], image_size=ca["img_size"], patch_size=ca["patch_size"],
            window_size=ca["window_size"], global_attn_indexes=list(ca["global_attn_indexes"]),
            mlp_dim=int(ca["embed_dim"] * ca["mlp_ratio"]), qkv_bias=True, use_abs_pos=True, use_rel_pos=True,
            num_pos_feats=ca["prompt_embed_dim"] // 2, layer_norm_eps=1e-6,
        ),
        prompt_encoder_config=dict(
            hidden_size=ca["prompt_embed_dim"], image_size=ca["img_size"], patch_size=ca["patch_size"],
            mask_input_channels=ca["mask_in_chans"], layer_norm_eps=1e-6,
        ),
        mask_decoder_config=dict(
            hidden_size=ca["prompt_embed_dim"], mlp_dim=ca["decoder_mlp_dim"], num_hidden_layers=2,
            num_attention_heads=8, attention_downsample_rate=2, num_multimask_outputs=3, iou_head_depth=3,
            iou_head_hidden_dim=ca["iou_head_hidden_dim"], layer_norm_eps=1e-6,
        ),
    )
    hf = SamModel(config).eval()
    off_sd = {k: v.clone() for k, v in sam_a.state_dict().items()}
    conv = {official_to_hf_key(k): v for k, v in off_sd.items()}
    # replace_keys also duplicates the (tied) gaussian matrix:
    conv["shared_image_embedding.positional_embedding"] = conv["prompt_encoder.shared_embedding.positional_embedding"]
    hf_keys = set(hf.state_dict().keys())
    missing = sorted(hf_keys - set(conv))
    unexpected = sorted(set(conv) - hf_keys)
    assert not missing and not unexpected, (missing, unexpected)
    for k, v in conv.items():
        assert tuple(hf.state_dict()[k].shape) == tuple(v.shape), (k, hf.state_dict()[k].shape, v.shape)
    res = hf.load_state_dict(conv, strict=True)
    print("  HF load_state_dict strict:", res)

    # verify: embedding and decoder outputs
    input_tensor = torch.from_numpy(np.load(os.path.join(files_dir, "tiny_a", "input_tensor.npy")))
    with torch.no_grad():
        emb_off = sam_a.image_encoder(input_tensor)
        emb_hf = hf.get_image_embeddings(pixel_values=input_tensor)
    emb_err = float((emb_off - emb_hf).abs().max())
    assert torch.allclose(emb_off, emb_hf, atol=1e-4, rtol=1e-4), emb_err
    print(f"  HF embedding max abs diff {emb_err:.2e}")
    dec_err = dec_err_eps = None
    try:
        pts = torch.tensor(case0["points_input_frame"], dtype=torch.float)[None, None]  # B, point_batch, N, 2
        lbl = torch.tensor(case0["labels"], dtype=torch.long)[None, None]
        with torch.no_grad():
            o = hf(image_embeddings=emb_off, input_points=pts, input_labels=lbl, multimask_output=True)
        low_off = np.load(os.path.join(files_dir, case0["files"]["low_res_logits"]))
        iou_off = np.load(os.path.join(files_dir, case0["files"]["iou_predictions"]))
        low_hf = o.pred_masks[0, 0].numpy()
        iou_hf = o.iou_scores[0, 0].numpy()
        dec_err = float(max(np.abs(low_hf - low_off).max(), np.abs(iou_hf - iou_off).max()))
        print(f"  HF decoder (case 0) max abs diff {dec_err:.2e} (HF decoder LayerNorms use eps 1e-6)")
        # HF's SamTwoWayAttentionBlock.layer_norm1..4 use mask_decoder_config.layer_norm_eps (1e-6);
        # the official TwoWayBlock uses nn.LayerNorm's default 1e-5. With 1e-5 they agree to f32 noise:
        lns = [m for n, m in hf.mask_decoder.transformer.layers.named_modules() if isinstance(m, torch.nn.LayerNorm)]
        for m in lns:
            m.eps = 1e-5
        with torch.no_grad():
            o = hf(image_embeddings=emb_off, input_points=pts, input_labels=lbl, multimask_output=True)
        for m in lns:
            m.eps = 1e-6
        dec_err_eps = float(max(np.abs(o.pred_masks[0, 0].numpy() - low_off).max(),
                                np.abs(o.iou_scores[0, 0].numpy() - iou_off).max()))
        print(f"  HF decoder (case 0) with eps 1e-5: max abs diff {dec_err_eps:.2e}")
        assert dec_err_eps < 1e-4, dec_err_eps
    except Exception as e:  # informative only
        print("  HF decoder comparison skipped:", repr(e))

    hf.save_pretrained(hdir)
    saved = {}
    for fn in sorted(os.listdir(hdir)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(hdir, fn), "pt") as f:
                for k in f.keys():
                    saved[k] = list(f.get_slice(k).get_shape())
    inv = {}
    for k in off_sd:
        inv.setdefault(official_to_hf_key(k), k)
    name_map = {}
    hf_only = []
    for k in sorted(saved):
        if k in inv:
            name_map[k] = inv[k]
        elif k == "shared_image_embedding.positional_embedding":
            name_map[k] = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
        else:
            hf_only.append(k)
            name_map[k] = None
    # the documented reverse rules must reproduce the official names exactly
    for k in saved:
        assert hf_to_official_key(k) == name_map[k], (k, hf_to_official_key(k), name_map[k])
    assert hf_to_official_key("prompt_encoder.shared_embedding.positional_embedding") == \
        "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
    for k in saved:
        assert saved[k] == list(off_sd[name_map[k]].shape), k
    with open(os.path.join(hdir, "name_map.json"), "w") as f:
        json.dump(dict(
            note="HF tensor name (as saved in model.safetensors) -> official segment_anything name. "
                 "All tensors have identical shapes and values (no reshape/split/transpose). "
                 "shared_image_embedding.positional_embedding and "
                 "prompt_encoder.shared_embedding.positional_embedding are tied; save_pretrained keeps "
                 "only the names listed in 'saved'.",
            name_map=name_map, hf_only=hf_only,
            not_saved_tied=sorted(set(conv) - set(saved)),
            official_not_in_hf=sorted(set(off_sd) - set(inv.values())),
            saved_shapes=saved,
        ), f, indent=1, sort_keys=True)
    return dict(dir="hf_tiny_a", files=sorted(os.listdir(hdir)), name_map="hf_tiny_a/name_map.json",
                embedding_max_abs_diff=emb_err, decoder_case0_max_abs_diff=dec_err,
                decoder_case0_max_abs_diff_with_eps_1e5=dec_err_eps,
                note="HF decoder transformer layer_norm1..4 use eps 1e-6 (config.layer_norm_eps); official "
                     "uses 1e-5, hence the small decoder difference. Weights/names are exact.",
                num_saved_tensors=len(saved), hf_only=hf_only,
                tied_not_saved=sorted(set(conv) - set(saved)),
                transformers_version=__import__("transformers").__version__)


# ----------------------------------------------------------------------------- shapes / big

GLOBAL_IDX = {"vit_b": [2, 5, 8, 11], "vit_l": [5, 11, 17, 23], "vit_h": [7, 15, 23, 31]}
SIZES = {"vit_b": (768, 12, 12), "vit_l": (1024, 24, 16), "vit_h": (1280, 32, 16)}


def official_shapes(out, big_dir, write_big):
    res = {}
    for name in ("vit_b", "vit_l", "vit_h"):
        torch.manual_seed(0)
        sam = sam_model_registry[name]()
        sd = sam.state_dict()
        ed, dp, nh = SIZES[name]
        res[name] = dict(
            encoder_embed_dim=ed, encoder_depth=dp, encoder_num_heads=nh, global_attn_indexes=GLOBAL_IDX[name],
            img_size=1024, patch_size=16, window_size=14, prompt_embed_dim=256, decoder_mlp_dim=2048,
            decoder_num_heads=8, iou_head_hidden_dim=256, mask_in_chans=16,
            num_tensors=len(sd), num_params=int(sum(v.numel() for v in sd.values())),
            dtypes=sorted({str(v.dtype) for v in sd.values()}),
            shapes={k: list(v.shape) for k, v in sd.items()},
        )
        if write_big and name in ("vit_b", "vit_h"):
            os.makedirs(big_dir, exist_ok=True)
            p = os.path.join(big_dir, f"sam_{name}_random.pth")
            torch.save(sd, p)
            res[name]["random_checkpoint"] = dict(path_in_big_dir=os.path.basename(p), bytes=os.path.getsize(p),
                                                  sha256=sha256(p), torch_manual_seed=0,
                                                  note="official default init (zeros/ones included)")
            print(f"  wrote {p} ({os.path.getsize(p) / 1e6:.1f} MB)")
        del sam, sd
    with open(os.path.join(out, "official_shapes.json"), "w") as f:
        json.dump(res, f, indent=1)
    return {k: {kk: vv for kk, vv in v.items() if kk != "shapes"} for k, v in res.items()}


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "sam"))
    ap.add_argument("--big-dir", default="/work/big")
    ap.add_argument("--only", default=",".join(CONFIGS))
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--skip-shapes", action="store_true")
    ap.add_argument("--skip-big", action="store_true", help="don't write full-size random checkpoints")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    man_path = os.path.join(out, "manifest.json")
    manifest = {}
    if os.path.exists(man_path):  # partial runs (--only/--skip-*) update the existing manifest
        with open(man_path) as f:
            manifest = json.load(f)
    manifest["format"] = "samq-fixtures-v1"
    manifest["generator"] = "Tests/Fixtures/make_fixtures.py"
    manifest["versions"] = dict(
        torch=torch.__version__, numpy=np.__version__, pillow=Image.__version__,
        segment_anything=getattr(__import__("segment_anything"), "__version__", "1.0"),
        python=sys.version.split()[0],
    )
    manifest["conventions"] = dict(
        paths="every file path in this manifest is relative to the directory holding manifest.json",
        npy="NumPy format v1.0, C order; float32 unless noted; *_u8 and masks are uint8 (0/1)",
        coordinates="points [x, y] and boxes [x0, y0, x1, y1] in ORIGINAL image pixels (SamPredictor)",
        labels="1 = foreground, 0 = background",
        input_resized_u8="H'xW'x3 uint8 after ResizeLongestSide.apply_image (torchvision/PIL bilinear, antialias)",
        input_tensor="1x3xSxS float32 after Sam.preprocess (normalize, then zero-pad bottom/right)",
        embedding="1xCxGxG float32 (C = prompt_embed_dim, G = img_size/patch_size)",
        patch_embed="1xGxGxD float32: PatchEmbed output (channels last), BEFORE adding pos_embed",
        blocks="block_i.npy = output of image_encoder.blocks[i], 1xGxGxD channels last",
        image_pe="1xCxGxG float32: prompt_encoder.get_dense_pe()",
        low_res_logits="CxLxL float32, L = 4*G (C = 3 multimask, 1 single)",
        iou="C float32",
        masks="CxHxW uint8 0/1 at the original size (logits upsampled bilinear, > 0.0)",
        sparse="1xNxC float32 sparse prompt embeddings (points incl. padding point, box corners)",
        dense="1xCxGxG float32 dense prompt embeddings (only for mask_input cases)",
        state_dict="pixel_mean / pixel_std are non-persistent buffers: NOT in the state dict",
    )

    img = make_image()
    Image.fromarray(img).save(os.path.join(out, "image.png"))
    Image.fromarray(img).save(os.path.join(out, "image.jpg"), quality=90)
    loaded = np.array(Image.open(os.path.join(out, "image.png")).convert("RGB"))
    assert np.array_equal(loaded, img)
    jpg_dec = np.array(Image.open(os.path.join(out, "image.jpg")).convert("RGB"))
    npsave(os.path.join(out, "image_jpg_decoded_u8.npy"), jpg_dec)
    manifest["image"] = dict(png="image.png", jpg="image.jpg", jpg_quality=90, width=IMAGE_W, height=IMAGE_H,
                             jpg_pixels_pil="image_jpg_decoded_u8.npy",
                             seed=IMAGE_SEED)

    manifest.setdefault("configs", {})
    entries = {}
    shared_inputs = {}
    for name in [s for s in args.only.split(",") if s]:
        print(f"[{name}]")
        entry, sam = run_config(name, out, args.big_dir, loaded, shared_inputs)
        entry["dir"] = name
        manifest["configs"][name] = entry
        entries[name] = (entry, sam)
        with open(man_path, "w") as f:
            json.dump(manifest, f, indent=1)

    manifest["relpos"] = relpos_fixtures(out)

    if not args.skip_hf and "tiny_a" in entries:
        print("[hf_tiny_a]")
        entry, sam_a = entries["tiny_a"]
        manifest["hf_tiny_a"] = hf_fixture(out, sam_a, entry["config"], entry["cases"][0],
                                           out)
    with open(man_path, "w") as f:
        json.dump(manifest, f, indent=1)

    if not args.skip_shapes:
        print("[official shapes]")
        manifest["official_shapes"] = dict(file="official_shapes.json",
                                           models=official_shapes(out, args.big_dir, not args.skip_big))
    with open(man_path, "w") as f:
        json.dump(manifest, f, indent=1)
    for root, _dirs, fns in os.walk(out):  # safetensors writes 0600; make everything world-readable
        for fn in fns:
            os.chmod(os.path.join(root, fn), 0o644)
    print("done:", man_path)


if __name__ == "__main__":
    main()
