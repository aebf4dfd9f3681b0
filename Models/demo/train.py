#!/usr/bin/env python3
"""Train the SAMQ demo model: a small SAM built from the official
segment_anything.modeling classes, on procedurally generated scenes (scenes.py).

The committed weights (MODEL_CARD.md) are one run from scratch, 57.9 min on 2 vCPUs:

    /work/venv/bin/python Models/demo/train.py --out R --procs 2 --threads 1 --steps 8000 --lr 8e-4 \
        --warmup 100 --bce-steps 600 --singles 8 --refine-prob 0.2 --loss-res 64 --interior-prob 0.5 \
        --others-weight 0.15 --val-every 500 --time-limit 58 --lr-by-time --seed 0 --fast-decoder

The defaults are stage 1 of the previous four-stage recipe (MODEL_CARD.md, "Previous weights"),
so those commands still reproduce it. Flags not in that command (--iou-res, --ema, --bf16,
--rank-weight, ...) are experiments the model card reports on.

Writes <out>/samq_demo_256.pth (torch.save(model.state_dict()) — the official
checkpoint format) every --save-every steps and at the end, plus <out>/log.jsonl.
CPU only, fixed seed, torch.set_num_threads(--threads, default 1; see the flag help).
"""

import argparse
import json
import math
import os
import sys
import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer
from segment_anything.utils.transforms import ResizeLongestSide

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

CONFIG = {
    "image_size": 256,
    "patch_size": 16,
    "encoder_embed_dim": 128,
    "encoder_depth": 4,
    "encoder_num_heads": 4,
    "encoder_mlp_ratio": 4,
    "encoder_window_size": 7,
    "encoder_global_attn_indexes": [1, 3],
    "qkv_bias": True,
    "use_rel_pos": True,
    "layer_norm_eps": 1e-6,
    "prompt_embed_dim": 128,
    "mask_in_chans": 16,
    "decoder_transformer_depth": 2,
    "decoder_transformer_mlp_dim": 512,
    "decoder_num_heads": 8,
    "num_multimask_outputs": 3,
    "iou_head_depth": 3,
    "iou_head_hidden_dim": 128,
    "pixel_mean": [123.675, 116.28, 103.53],
    "pixel_std": [58.395, 57.12, 57.375],
}

TRAIN_SEED_BASE = 1_000_000  # training scenes: seeds 1_000_000 + k
VAL_SEED_BASE = 9_000_000    # in-training validation scenes (held-out set uses 5_000_000, see make_assets.py)


def build_sam(cfg):
    """Mirrors segment_anything.build_sam._build_sam with a small config."""
    grid = cfg["image_size"] // cfg["patch_size"]
    dim = cfg["prompt_embed_dim"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=cfg["encoder_depth"],
            embed_dim=cfg["encoder_embed_dim"],
            img_size=cfg["image_size"],
            mlp_ratio=cfg["encoder_mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=cfg["layer_norm_eps"]),
            num_heads=cfg["encoder_num_heads"],
            patch_size=cfg["patch_size"],
            qkv_bias=cfg["qkv_bias"],
            use_rel_pos=cfg["use_rel_pos"],
            global_attn_indexes=cfg["encoder_global_attn_indexes"],
            window_size=cfg["encoder_window_size"],
            out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(grid, grid),
            input_image_size=(cfg["image_size"], cfg["image_size"]),
            mask_in_chans=cfg["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=cfg["num_multimask_outputs"],
            transformer=TwoWayTransformer(
                depth=cfg["decoder_transformer_depth"],
                embedding_dim=dim,
                mlp_dim=cfg["decoder_transformer_mlp_dim"],
                num_heads=cfg["decoder_num_heads"],
            ),
            transformer_dim=dim,
            iou_head_depth=cfg["iou_head_depth"],
            iou_head_hidden_dim=cfg["iou_head_hidden_dim"],
        ),
        pixel_mean=cfg["pixel_mean"],
        pixel_std=cfg["pixel_std"],
    )


# ----------------------------------------------------------------------------- data

def eligible_objects(masks, min_frac=0.004, min_px=100):
    h, w = masks[0].shape
    return [i for i, m in enumerate(masks) if m.sum() >= max(min_px, min_frac * h * w)]


def prepare(sam, transform, img, masks):
    """SamPredictor-style preprocessing. Returns (input 1×3×S×S, GT masks N×S×S in the padded
    input frame, original size)."""
    h, w = img.shape[:2]
    x = transform.apply_image(img)  # official ResizeLongestSide (PIL resize)
    x = torch.as_tensor(x).permute(2, 0, 1).contiguous()[None].float()
    x = sam.preprocess(x)  # normalize + pad
    nh, nw = transform.get_preprocess_shape(h, w, transform.target_length)
    s = sam.image_encoder.img_size
    gts = []
    for m in masks:
        r = Image.fromarray(m.astype(np.uint8) * 255).resize((nw, nh), Image.BILINEAR)
        g = np.zeros((s, s), np.float32)
        g[:nh, :nw] = np.asarray(r, np.float32) > 127
        gts.append(g)
    return x, torch.from_numpy(np.stack(gts)), (h, w)


def sample_in(rng, mask):
    ys, xs = np.nonzero(mask)
    k = int(rng.integers(0, len(xs)))
    return [float(xs[k]), float(ys[k])]


def jitter_box(rng, box, h, w):
    """SAM-style box noise: std 10% of the side, at most 20 px."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    n = rng.normal(0, 1, 4) * np.array([bw, bh, bw, bh]) * 0.1
    n = np.clip(n, -20, 20)
    b = np.array(box, np.float64) + n
    b[[0, 2]] = np.clip(b[[0, 2]], 0, w - 1)
    b[[1, 3]] = np.clip(b[[1, 3]], 0, h - 1)
    return [min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])]


def negative_point(rng, masks, obj, h, w):
    """A background point for object obj: usually on another visible shape or near the object."""
    m = masks[obj]
    if rng.random() < 0.6:
        others = [i for i in range(len(masks)) if i != obj and masks[i].sum() > 20]
        if others:
            return sample_in(rng, masks[others[int(rng.integers(0, len(others)))]])
    x0, y0, x1, y1 = scenes.bbox(m)
    pad = 20
    ring = np.zeros_like(m)
    ring[max(0, y0 - pad):y1 + pad + 1, max(0, x0 - pad):x1 + pad + 1] = True
    ring &= ~m
    if ring.sum() < 5:
        ring = ~m
    return sample_in(rng, ring)


def interior(mask, frac=0.5):
    """The pixels of mask at least frac of its maximum erosion depth from the boundary: where a
    person clicks to select an object (and where the held-out rule's deepest point lies)."""
    depth = scenes.erosion_depth(mask)
    return depth >= max(1, int(math.ceil(frac * depth.max())))


def make_prompts(rng, masks, elig, h, w, n_single, npos, nneg, interior_prob=0.0):
    """Prompt groups for one image; each group is decoded in one call (same structure).
    Returns list of dicts: kind, objs, coords (B×P×2 original px) or None, labels, boxes (B×4) or None,
    multimask. With interior_prob > 0, each single point is drawn from the object's interior
    (see interior) with that probability, else uniformly; 0 keeps the stage 1-3 random stream."""
    pick = lambda: elig[int(rng.integers(0, len(elig)))]  # noqa: E731
    groups = []
    objs = [pick() for _ in range(n_single)]
    cores = {}

    def single(o):
        if interior_prob > 0 and rng.random() < interior_prob:
            if o not in cores:
                cores[o] = interior(masks[o])
            return sample_in(rng, cores[o])
        return sample_in(rng, masks[o])

    groups.append(dict(kind="point", objs=objs, coords=[[single(o)] for o in objs],
                       labels=[[1] for _ in objs], boxes=None, multimask=True))
    objs = [pick() for _ in range(2)]
    groups.append(dict(kind="box", objs=objs, coords=None, labels=None,
                       boxes=[jitter_box(rng, scenes.bbox(masks[o]), h, w) for o in objs], multimask=False))
    objs = [pick() for _ in range(2)]
    coords, labels = [], []
    for o in objs:
        c = [sample_in(rng, masks[o]) for _ in range(npos)] + [negative_point(rng, masks, o, h, w) for _ in range(nneg)]
        coords.append(c)
        labels.append([1] * npos + [0] * nneg)
    groups.append(dict(kind="points", objs=objs, coords=coords, labels=labels, boxes=None, multimask=False))
    o = pick()
    groups.append(dict(kind="box+point", objs=[o], coords=[[sample_in(rng, masks[o])]], labels=[[1]],
                       boxes=[jitter_box(rng, scenes.bbox(masks[o]), h, w)], multimask=False))
    return groups


# ----------------------------------------------------------------------------- model calls

def decode(sam, emb, coords, labels, boxes, mask_input, multimask):
    """Exactly SamPredictor.predict_torch's path (prompt encoder → mask decoder), batched over prompts.
    coords/boxes are already in the input frame."""
    points = (coords, labels) if coords is not None else None
    sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
    low, iou = sam.mask_decoder(
        image_embeddings=emb,
        image_pe=sam.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense,
        multimask_output=multimask,
    )
    return low, iou


def decode_batched(sam, embs, coords, labels, boxes, mask_input, multimask):
    """Training-only batched form of prompt_encoder + MaskDecoder.predict_masks: identical math,
    but each prompt carries its own image embedding (embs: B×C×h×w), so prompts from several
    images are decoded in one call. (The official predict_masks repeat_interleaves ONE image
    embedding over the prompts; inference uses the official path unchanged.)"""
    md = sam.mask_decoder
    points = (coords, labels) if coords is not None else None
    sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
    b = sparse.shape[0]
    out_tok = torch.cat([md.iou_token.weight, md.mask_tokens.weight], dim=0)[None].expand(b, -1, -1)
    tokens = torch.cat((out_tok, sparse), dim=1)
    src = embs + dense
    pos = sam.prompt_encoder.get_dense_pe().expand(b, -1, -1, -1)
    _, c, h, w = src.shape
    hs, src = md.transformer(src, pos, tokens)
    iou_tok = hs[:, 0, :]
    mask_toks = hs[:, 1:1 + md.num_mask_tokens, :]
    hyper = torch.stack([md.output_hypernetworks_mlps[i](mask_toks[:, i, :]) for i in range(md.num_mask_tokens)], 1)
    if FAST_DECODER:
        masks = upscale_masks(md, src, hyper, h, w)
    else:
        up = md.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        _, c2, h2, w2 = up.shape
        masks = (hyper @ up.view(b, c2, h2 * w2)).view(b, -1, h2, w2)
    iou = md.iou_prediction_head(iou_tok)
    if multimask == "all":  # --single-weight: the single-mask output and the three multimask ones
        return masks, iou
    sl = slice(1, None) if multimask else slice(0, 1)
    return masks[:, sl], iou[:, sl]


# --fast-decoder: the same decoder math, arranged for a faster backward on the CPU. Training only;
# eval.py and SAMQ run the official modules. Session 17 measured a decoder forward + backward of
# 24 single-point prompts at 108 ms with the official modules and 81 ms with both rewrites.
FAST_DECODER = False


def upscale_masks(md, src, hyper, h, w):
    """MaskDecoder.output_upscaling followed by `hyper_in @ upscaled`, from the transformer's
    B×(h·w)×C image tokens. A 2×2 stride-2 ConvTranspose2d maps each token to its 2×2 sub-pixels
    on its own, and LayerNorm2d and GELU act per pixel, so both layers run as matmuls on a
    B×tokens×sub-pixels×channels layout and only the final masks are rearranged to B×M×4h×4w.
    (Official path: 40 ms forward + backward for 24 prompts; this one: 16-18 ms.)"""
    ct1, ln, act1, ct2, act2 = md.output_upscaling
    b, n, c = src.shape
    c1, c2 = ct1.out_channels, ct2.out_channels
    x = (src @ ct1.weight.permute(0, 2, 3, 1).reshape(c, 4 * c1)).view(b, n, 4, c1) + ct1.bias
    x = act1(F.layer_norm(x, (c1,), ln.weight, ln.bias, ln.eps))  # LayerNorm2d = LayerNorm over channels
    x = (x @ ct2.weight.permute(0, 2, 3, 1).reshape(c1, 4 * c2)).view(b, n, 16, c2) + ct2.bias
    x = act2(x)
    m = hyper.shape[1]
    masks = x.view(b, n * 16, c2) @ hyper.transpose(1, 2)  # B × (token, ky, kx, ky2, kx2) × M
    masks = masks.view(b, h, w, 2, 2, 2, 2, m).permute(0, 7, 1, 3, 5, 2, 4, 6)  # y = 4·ty + 2·ky + ky2
    return masks.reshape(b, m, 4 * h, 4 * w)


def sdpa_attention_forward(self, q, k, v):
    """segment_anything's decoder Attention.forward with the product, softmax and product fused
    in F.scaled_dot_product_attention (same scale, 1/sqrt(head dim)); 8% off a decode (88 → 81 ms)."""
    q = self._separate_heads(self.q_proj(q), self.num_heads)
    k = self._separate_heads(self.k_proj(k), self.num_heads)
    v = self._separate_heads(self.v_proj(v), self.num_heads)
    return self.out_proj(self._recombine_heads(F.scaled_dot_product_attention(q, k, v)))


def weighted_mean(loss, weight):
    """Per-mask mean of a per-pixel loss; with a weight map, its weighted mean (same scale)."""
    if weight is None:
        return loss.flatten(-2).mean(-1)
    return (loss * weight).flatten(-2).sum(-1) / weight.flatten(-2).sum(-1)


def boundary_weight(gt, extra):
    """--boundary-weight: 1 + extra on the loss grid's cells at the truth's edge (a soft, partly
    covered cell, or next to one: a 3×3 max filter), 1 elsewhere. None when extra is 0."""
    if not extra:
        return None
    edge = ((gt > 0.02) & (gt < 0.98)).float()
    near = F.max_pool2d(edge.reshape(-1, 1, *gt.shape[-2:]), 3, stride=1, padding=1).reshape(gt.shape)
    return 1.0 + extra * near


def focal_loss(logits, gt, alpha=0.25, gamma=2.0, weight=None):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, gt, reduction="none")
    pt = p * gt + (1 - p) * (1 - gt)
    loss = ce * (1 - pt) ** gamma
    loss = (alpha * gt + (1 - alpha) * (1 - gt)) * loss
    return weighted_mean(loss, weight)


def dice_loss(logits, gt):
    p = torch.sigmoid(logits).flatten(-2)
    g = gt.flatten(-2)
    return 1 - (2 * (p * g).sum(-1) + 1) / (p.sum(-1) + g.sum(-1) + 1)


def mask_iou(logits, gt):
    pred = (logits > 0).float().flatten(-2)
    g = gt.flatten(-2)
    inter = (pred * g).sum(-1)
    union = pred.sum(-1) + g.sum(-1) - inter
    return inter / union.clamp(min=1.0)


LOSS = {"kind": "sam", "alpha": 0.25}  # set from --loss / --focal-alpha
LOSS_RES = 128  # masks are compared with the ground truth at LOSS_RES² (128: input frame / 2; --loss-res)
OTHERS_WEIGHT = 0.0  # --others-weight
BOUNDARY_WEIGHT = 0.0  # --boundary-weight
RANK = {"weight": 0.0, "temp": 0.05}  # --rank-weight, --rank-temp
IOU_RES = 0     # the IoU head's target is measured at IOU_RES² (0: at LOSS_RES, from the soft GT; --iou-res)


def group_loss(low, iou_pred, gt, gt_iou=None):
    """low: B×C×64×64 logits, iou_pred B×C, gt B×128×128 (area-downsampled, soft at edges).
    Focal(×20) + dice on the logits bilinearly upsampled to 128×128 (as Sam.postprocess_masks does);
    for C>1 only the best of the C masks gets the mask loss (SAM's min over multimask outputs);
    the IoU head regresses the actual IoU of every output (MSE)."""
    s = gt.shape[-1]
    up = F.interpolate(low, (s, s), mode="bilinear", align_corners=False)
    g = gt[:, None].expand_as(up)
    w = boundary_weight(g, BOUNDARY_WEIGHT)
    if LOSS["kind"] == "bce":
        per = weighted_mean(F.binary_cross_entropy_with_logits(up, g, reduction="none"), w) + dice_loss(up, g)
    else:
        per = 20.0 * focal_loss(up, g, alpha=LOSS["alpha"], weight=w) + dice_loss(up, g)  # B×C
    best = per.argmin(1)
    mask_l = per.gather(1, best[:, None]).squeeze(1)
    if OTHERS_WEIGHT and per.shape[1] > 1:
        # --others-weight: the outputs that lost the min still get a little of the mask loss
        mask_l = mask_l + OTHERS_WEIGHT * (per.sum(1) - mask_l) / (per.shape[1] - 1)
    with torch.no_grad():
        if gt_iou is None:
            true_iou = mask_iou(up, (g > 0.5).float())
        else:  # --iou-res: the IoU head's target measured on a finer grid than the mask loss
            s2 = gt_iou.shape[-1]
            fine = F.interpolate(low, (s2, s2), mode="bilinear", align_corners=False)
            true_iou = mask_iou(fine, gt_iou[:, None].expand_as(fine))
    iou_l = F.mse_loss(iou_pred, true_iou, reduction="none").mean(1)
    if RANK["weight"] and iou_pred.shape[1] > 1:
        # --rank-weight: SamPredictor keeps the output with the highest predicted IoU, so train that
        # choice directly: the expected IoU lost by picking from softmax(pred / temp) instead of the
        # truly best output. Near-ties cost nothing, so the MSE still sets the values.
        regret = true_iou.max(1, keepdim=True).values - true_iou
        iou_l = iou_l + RANK["weight"] * (F.softmax(iou_pred / RANK["temp"], 1) * regret).sum(1)
    return mask_l, iou_l, best, up, true_iou


def corrective_points(rng, up_best, gt, valid_hw):
    """One corrective click per prompt, sampled uniformly from the error region (loss grid),
    returned in input-frame coordinates: positive on a missed pixel, negative on a false one."""
    nh, nw = valid_hw
    f = up_best.shape[-1]
    scale = CONFIG["image_size"] / f
    pts, labs = [], []
    pred = (up_best > 0).numpy()
    g = gt.numpy() > 0.5
    for b in range(g.shape[0]):
        err = (pred[b] != g[b])
        err[int(math.ceil(nh[b] / scale)):, :] = False
        err[:, int(math.ceil(nw[b] / scale)):] = False
        ys, xs = np.nonzero(err) if err.any() else np.nonzero(g[b])
        k = int(rng.integers(0, len(xs)))
        y, x = ys[k], xs[k]
        pts.append([(x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5])
        labs.append(1 if g[b, y, x] else 0)
    return torch.tensor(pts, dtype=torch.float32)[:, None], torch.tensor(labs, dtype=torch.int64)[:, None]


# ----------------------------------------------------------------------------- validation

_VAL_CACHE = []


@torch.no_grad()
def validate(sam, transform, n=40):
    """Quick held-out check (SamPredictor path, inside the input frame): single deepest point,
    multimask → mask with the best predicted IoU; the tight box; and the same point with
    multimask_output=False. Scenes are built once."""
    if not _VAL_CACHE:
        for k in range(n):
            img, masks, _ = scenes.make_scene(VAL_SEED_BASE + k)
            h, w = img.shape[:2]
            elig = eligible_objects(masks, min_frac=0.02)
            if not elig:
                continue
            o = elig[k % len(elig)]
            x, gt, _ = prepare(sam, transform, img, [masks[o]])
            p = transform.apply_coords(np.array([[scenes.deepest_point(masks[o])]], np.float64), (h, w))
            b = transform.apply_boxes(np.array([scenes.bbox(masks[o])], np.float64), (h, w))
            _VAL_CACHE.append((x, gt, torch.as_tensor(p, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)))
    sam.eval()
    pt_ious, box_ious, single_ious = [], [], []
    for x, gt, p, b in _VAL_CACHE:
        emb = sam.image_encoder(x)
        label = torch.ones(1, 1, dtype=torch.int64)

        def iou_of(low, k=0):  # IoU of output k, upsampled to the truth's grid
            up = F.interpolate(low, gt.shape[-2:], mode="bilinear", align_corners=False)
            return mask_iou(up[0, k][None], gt)[0].item()
        low, iou = decode(sam, emb, p, label, None, None, True)
        pt_ious.append(iou_of(low, int(iou[0].argmax())))
        single_ious.append(iou_of(decode(sam, emb, p, label, None, None, False)[0]))
        box_ious.append(iou_of(decode(sam, emb, None, None, b, None, False)[0]))
    sam.train()
    return float(np.mean(pt_ious)), float(np.mean(box_ious)), float(np.mean(single_ious))


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/samq_demo_run")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--images", type=int, default=6, help="images per step")
    ap.add_argument("--singles", type=int, default=6, help="single-point prompts per image")
    ap.add_argument("--min-object-frac", type=float, default=0.004,
                    help="prompt only shapes whose visible area is at least this fraction of the image "
                         "(0.004 until session 14; the held-out rule asks about shapes of at least 0.02)")
    ap.add_argument("--interior-prob", type=float, default=0.0,
                    help="chance that a single-point prompt is drawn from the object's interior "
                         "(erosion depth >= half the maximum) instead of uniformly (stage 4: 0.5)")
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--refine-prob", type=float, default=0.3, help="chance per group of one refinement round")
    ap.add_argument("--val-every", type=int, default=50)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--time-limit", type=float, default=0, help="stop (and save) after this many minutes")
    ap.add_argument("--target", type=float, default=0.0, help="stop early once val point IoU reaches this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--freeze-encoder-steps", type=int, default=0,
                    help="keep the randomly initialised image encoder frozen for the first N steps "
                         "(experimental; not used for the committed model)")
    ap.add_argument("--encoder-lr-mult", type=float, default=1.0)
    ap.add_argument("--loss", choices=["sam", "bce"], default="sam")
    ap.add_argument("--focal-alpha", type=float, default=0.25)
    ap.add_argument("--loss-res", type=int, choices=[64, 128, 256], default=128,
                    help="compare masks with the ground truth at this size (256 = the input frame)")
    ap.add_argument("--iou-res", type=int, choices=[0, 64, 128, 256], default=0,
                    help="measure the IoU head's target (the true IoU of each output) at this size, "
                         "thresholding the logits upsampled to it (0: at --loss-res). Session 9 tried 256 with "
                         "--loss-res 64: the three masks were ranked no better (MODEL_CARD.md)")
    ap.add_argument("--iou-weight", type=float, default=1.0,
                    help="weight of the IoU-head MSE against the mask loss (SAM: 1)")
    ap.add_argument("--others-weight", type=float, default=0.0,
                    help="mask-loss weight of the multimask outputs other than the best (SAM: 0)")
    ap.add_argument("--boundary-weight", type=float, default=0.0,
                    help="extra per-pixel weight of the focal/BCE mask loss on cells at the truth's edge "
                         "(1 + W there, 1 elsewhere; dice unchanged)")
    ap.add_argument("--single-weight", type=float, default=0.0,
                    help="weight of a loss on the single-mask output (multimask_output=False) for the "
                         "single-point prompts, from the same decode as their multimask loss (SAM: 0)")
    ap.add_argument("--rank-weight", type=float, default=0.0,
                    help="weight of a ranking term on the IoU head for multimask prompts: the expected IoU "
                         "lost when an output is picked from softmax(predicted IoU / --rank-temp) instead of "
                         "the truly best one (SAM: 0)")
    ap.add_argument("--rank-temp", type=float, default=0.05, help="temperature of --rank-weight's softmax")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="validate and save an exponential moving average of the weights with this decay "
                         "(e.g. 0.999; 0: the weights themselves)")
    ap.add_argument("--bf16", action="store_true",
                    help="run the model's forward (and so its backward) under bfloat16 autocast; the "
                         "weights, optimizer and losses stay f32. On this Zen 4 (AVX512-BF16) the model's "
                         "forward + backward ran 1.37x faster, whole steps only 3-10%% (MODEL_CARD.md)")
    ap.add_argument("--fast-decoder", action="store_true",
                    help="train through upscale_masks and fused attention: the decoder's math in a quarter less time")
    ap.add_argument("--encoder-depth", type=int, default=0,
                    help="ViT blocks (0: CONFIG's 4); with --global-attn. Writes <out>/config.json for eval.py --config")
    ap.add_argument("--global-attn", default="", help="comma-separated global-attention block indexes, e.g. 2,5")
    ap.add_argument("--bce-steps", type=int, default=500, help="use BCE+dice for the first N steps, then --loss")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads. 1 by default: on this shared 2-core box with other jobs running, "
                         "2 OpenMP threads measured 4-8x SLOWER than 1 (spin-waiting while preempted)")
    ap.add_argument("--lr-by-time", action="store_true",
                    help="cosine progress = max(step fraction, elapsed / --time-limit), so the LR has "
                         "decayed when the time limit stops the run (not bit-reproducible)")
    ap.add_argument("--resume", default="", help="start from these weights (optimizer state is not kept)")
    ap.add_argument("--scene-offset", type=int, default=0, help="first training scene index (fresh scenes for a resumed stage)")
    ap.add_argument("--procs", type=int, default=1,
                    help="data-parallel processes (gloo on localhost), each with --threads threads and "
                         "--images/--procs images per step; gradients are averaged, so every process "
                         "holds the same weights. Session 9, stage-4 settings: 2 x 1 thread 0.85 s per step, "
                         "1 x 2 threads 0.88 s, 1 x 1 thread 1.13 s")
    ap.add_argument("--port", type=int, default=29517, help="localhost port for --procs > 1")
    args = ap.parse_args()
    if args.images % args.procs:
        ap.error("--images must be a multiple of --procs")
    if args.global_attn and not args.encoder_depth:
        ap.error("--global-attn needs --encoder-depth")
    if args.procs > 1:
        import torch.multiprocessing as mp
        mp.spawn(run, args=(args,), nprocs=args.procs)
    else:
        run(0, args)


def _die_with_parent():
    """A spawned rank gets SIGTERM when the launching process dies, so killing that process
    (not only Ctrl-C to the whole group) stops the ranks and frees --port. Linux only."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run(rank, args):
    """One training process (rank 0 of 1 unless --procs > 1). Rank 0 alone validates, logs
    and saves; it also decides the LR and when to stop, and broadcasts both, so the
    processes cannot drift apart even with --lr-by-time."""
    procs = args.procs
    if procs > 1:
        import torch.distributed as dist
        _die_with_parent()
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=procs)
    lead = rank == 0
    global LOSS_RES
    LOSS_RES = args.loss_res
    global IOU_RES
    IOU_RES = args.iou_res
    global OTHERS_WEIGHT
    OTHERS_WEIGHT = args.others_weight
    global BOUNDARY_WEIGHT
    BOUNDARY_WEIGHT = args.boundary_weight
    RANK.update(weight=args.rank_weight, temp=args.rank_temp)
    global FAST_DECODER
    FAST_DECODER = args.fast_decoder
    if FAST_DECODER:
        from segment_anything.modeling import transformer as two_way
        two_way.Attention.forward = sdpa_attention_forward

    if args.encoder_depth:
        CONFIG.update(encoder_depth=args.encoder_depth,
                      encoder_global_attn_indexes=[int(i) for i in args.global_attn.split(",") if i])
    autocast = partial(torch.autocast, "cpu", dtype=torch.bfloat16, enabled=args.bf16)  # --bf16
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # same on every rank: the same initial weights
    os.makedirs(args.out, exist_ok=True)
    if lead:
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=1)
    sam = build_sam(CONFIG)
    if args.resume:
        sam.load_state_dict(torch.load(args.resume, map_location="cpu"))
    sam.train()
    nparams = sum(p.numel() for p in sam.parameters())
    if lead:
        print(f"params {nparams:,}", flush=True)
    transform = ResizeLongestSide(CONFIG["image_size"])

    groups = {(enc, dec): [] for enc in (True, False) for dec in (True, False)}
    for n, p in sam.named_parameters():
        nodecay = p.ndim < 2 or "pos_embed" in n or "rel_pos" in n or "embed.weight" in n
        groups[(n.startswith("image_encoder."), not nodecay)].append(p)
    opt = torch.optim.AdamW([{"params": ps, "weight_decay": args.wd if dec else 0.0,
                              "lr_mult": args.encoder_lr_mult if enc else 1.0, "encoder": enc}
                             for (enc, dec), ps in groups.items() if ps], lr=args.lr, betas=(0.9, 0.999))

    def lr_at(step, elapsed=0.0):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        if args.lr_by_time and args.time_limit:
            # Wall-clock schedule: on a shared machine the step rate is unknown in advance, and a
            # step-based cosine cut by --time-limit stops at a high LR (stages 4-5 of session 3-4).
            t = max(t, elapsed / (args.time_limit * 60))
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))

    # One process keeps the stage 1-4 prompt stream; with --procs, rank r draws its own prompts
    # and walks the scene stream r, r + procs, r + 2 procs, ...
    rng = np.random.Generator(np.random.PCG64(args.seed if procs == 1 else [args.seed, rank]))
    ckpt = os.path.join(args.out, "samq_demo_256.pth")
    log = open(os.path.join(args.out, "log.jsonl"), "a") if lead else None
    t0 = time.time()
    scene_k = args.scene_offset + rank
    best_val = -1.0
    # --ema: rank 0 keeps an exponential moving average of the weights; it is what is validated
    # and saved. Every rank holds the same weights, so one average is enough.
    ema = None
    if lead and args.ema > 0:
        import copy
        ema = copy.deepcopy(sam)
        for p in ema.parameters():
            p.requires_grad_(False)
    kept = lambda: ema if ema is not None else sam  # noqa: E731
    params = [p for p in sam.parameters()]
    for step in range(args.steps):
        LOSS["kind"] = "bce" if step < args.bce_steps else args.loss
        LOSS["alpha"] = args.focal_alpha
        lr = torch.tensor([lr_at(step, time.time() - t0)], dtype=torch.float64)
        if procs > 1:
            dist.broadcast(lr, 0)
        for g in opt.param_groups:
            g["lr"] = lr.item() * g["lr_mult"] * (0.0 if g["encoder"] and step < args.freeze_encoder_steps else 1.0)
        # --- data
        batch = []
        while len(batch) < args.images // procs:
            img, masks, _ = scenes.make_scene(TRAIN_SEED_BASE + scene_k)
            scene_k += procs
            elig = eligible_objects(masks, min_frac=args.min_object_frac)
            if elig:
                batch.append((img, masks, elig))
        npos, nneg = int(rng.integers(1, 4)), int(rng.integers(0, 3))  # multi-point structure for this step
        if npos + nneg < 2:
            npos = 2
        groups = {k: {"emb": [], "coords": [], "labels": [], "boxes": [], "gt": [], "gt_iou": [], "hw": []}
                  for k in ("point", "box", "points", "box+point")}
        xs = []
        for bi, (img, masks, elig) in enumerate(batch):
            h, w = img.shape[:2]
            x, gts, _ = prepare(sam, transform, img, masks)
            xs.append(x)
            gts_iou = F.avg_pool2d(gts[:, None], CONFIG["image_size"] // IOU_RES)[:, 0] > 0.5 if IOU_RES else None
            gts = F.avg_pool2d(gts[:, None], CONFIG["image_size"] // LOSS_RES)[:, 0]
            nh, nw = transform.get_preprocess_shape(h, w, transform.target_length)
            for g in make_prompts(rng, masks, elig, h, w, args.singles, npos, nneg, args.interior_prob):
                G = groups[g["kind"]]
                for j, o in enumerate(g["objs"]):
                    G["emb"].append(bi)
                    G["gt"].append(gts[o])
                    if gts_iou is not None:
                        G["gt_iou"].append(gts_iou[o].float())
                    G["hw"].append((nh, nw))
                    if g["coords"] is not None:
                        G["coords"].append(transform.apply_coords(np.array(g["coords"][j], np.float64), (h, w)))
                        G["labels"].append(g["labels"][j])
                    if g["boxes"] is not None:
                        G["boxes"].append(transform.apply_boxes(np.array(g["boxes"][j], np.float64), (h, w))[0])
        frozen = step < args.freeze_encoder_steps
        with autocast():
            if frozen:
                with torch.no_grad():
                    emb_all = sam.image_encoder(torch.cat(xs))
            else:
                emb_all = sam.image_encoder(torch.cat(xs))
        # --- decode + loss, one batched call per prompt structure (+ one refinement round)
        mask_losses, iou_losses, stats = [], [], {}
        for kind, G in groups.items():
            embs = emb_all[G["emb"]]
            gt = torch.stack(G["gt"])
            gt_iou = torch.stack(G["gt_iou"]) if G["gt_iou"] else None
            coords = torch.as_tensor(np.stack(G["coords"]), dtype=torch.float32) if G["coords"] else None
            labels = torch.as_tensor(G["labels"], dtype=torch.int64) if G["labels"] else None
            boxes = torch.as_tensor(np.stack(G["boxes"]), dtype=torch.float32) if G["boxes"] else None
            multimask = kind == "point"
            both = multimask and args.single_weight > 0
            with autocast():
                low, iou = decode_batched(sam, embs, coords, labels, boxes, None, "all" if both else multimask)
            low, iou = low.float(), iou.float()  # the losses in f32 (no-ops without --bf16)
            if both:
                # --single-weight: the same decode also trains the single-mask output (token 0) on the
                # click, as multimask_output=False would return it. SAM trains token 0 only on
                # multi-prompt inputs, where a click is ambiguous; these scenes have one right answer.
                ml0, il0, _, _, _ = group_loss(low[:, :1], iou[:, :1], gt, gt_iou)
                low, iou = low[:, 1:], iou[:, 1:]
            ml, il, best, up, tiou = group_loss(low, iou, gt, gt_iou)
            if both:
                ml = ml + args.single_weight * ml0
                il = il + args.single_weight * il0
            mask_losses.append(ml)
            iou_losses.append(il)
            stats[kind] = tiou.gather(1, best[:, None]).mean().item()
            if rng.random() < args.refine_prob:
                ar = torch.arange(low.shape[0])
                prev = low[ar, best][:, None].detach()
                cp, cl = corrective_points(rng, up[ar, best].detach(), gt,
                                           ([hw[0] for hw in G["hw"]], [hw[1] for hw in G["hw"]]))
                coords2 = cp if coords is None else torch.cat([coords, cp], 1)
                labels2 = cl if labels is None else torch.cat([labels, cl], 1)
                with autocast():
                    low2, iou2 = decode_batched(sam, embs, coords2, labels2, boxes, prev, False)
                low2, iou2 = low2.float(), iou2.float()
                ml2, il2, _, _, tiou2 = group_loss(low2, iou2, gt, gt_iou)
                mask_losses.append(ml2)
                iou_losses.append(il2)
                stats[kind + "_refined"] = tiou2[:, 0].mean().item()
        mask_loss = torch.cat(mask_losses).mean()
        iou_loss = torch.cat(iou_losses).mean()
        loss = mask_loss + args.iou_weight * iou_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if procs > 1:
            # One flat all-reduce; a parameter without a gradient this step (e.g. the mask-input
            # path when no group refined on this rank) contributes zeros.
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
            dist.all_reduce(flat)
            flat /= procs
            off = 0
            for p in params:
                n = p.numel()
                p.grad = flat[off:off + n].view_as(p).clone()
                off += n
        torch.nn.utils.clip_grad_norm_(sam.parameters(), 1.0)
        opt.step()
        if ema is not None:
            decay = min(args.ema, (1 + step) / (10 + step))  # the usual warm-up: early weights fade fast
            with torch.no_grad():
                for pe, p in zip(ema.parameters(), sam.parameters()):
                    pe.lerp_(p, 1 - decay)

        elapsed = time.time() - t0
        rec = {"step": step + 1, "loss": round(loss.item(), 4), "mask": round(mask_loss.item(), 4),
               "iou_mse": round(iou_loss.item(), 4), "lr": opt.param_groups[0]["lr"] / opt.param_groups[0]["lr_mult"], "min": round(elapsed / 60, 2)}
        for k, v in stats.items():
            rec["iou_" + k] = round(v, 3)
        if lead and ((step + 1) % 10 == 0 or step == 0):
            print(json.dumps(rec), flush=True)
        stop = bool(args.time_limit and elapsed > args.time_limit * 60)
        if lead:
            if (step + 1) % args.val_every == 0 or step + 1 == args.steps or stop:
                vp, vb, vs = validate(kept(), transform)
                rec.update(val_point=round(vp, 4), val_box=round(vb, 4), val_single=round(vs, 4))
                print(f"== step {step + 1}  val point IoU {vp:.4f}  box IoU {vb:.4f}  single-mask point IoU {vs:.4f}"
                      f"  ({elapsed / 60:.1f} min)", flush=True)
                if vp > best_val:
                    best_val = vp
                    torch.save(kept().state_dict(), os.path.join(args.out, "best.pth"))
                if args.target and vp >= args.target:
                    stop = True
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if procs > 1:  # rank 0's clock and validation decide for everyone
            flag = torch.tensor([1 if stop else 0])
            dist.broadcast(flag, 0)
            stop = bool(flag.item())
        if lead and ((step + 1) % args.save_every == 0 or step + 1 == args.steps or stop):
            torch.save(kept().state_dict(), ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        if stop:
            if lead:
                print(f"stopping at step {step + 1}", flush=True)
            break
    if procs > 1:
        dist.destroy_process_group()
    if not lead:
        return
    print(f"done in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
