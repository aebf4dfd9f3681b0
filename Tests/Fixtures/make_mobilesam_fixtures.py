#!/usr/bin/env python3
"""Golden fixtures for SAMQ's MobileSAM (TinyViT `vit_t`) path, made with the official
MobileSAM code (PyPI `mobilesam-mirror`, module `mobile_sam`, needs `timm`).

Needs: everything make_fixtures.py needs, plus
    pip install mobilesam-mirror timm

Run from the repository root (after make_fixtures.py, whose image and manifest it reuses):
    python Tests/Fixtures/make_mobilesam_fixtures.py [--out Tests/Fixtures/sam] [--big-dir /work/big] [--skip-big]

What it writes:
  * <out>/tiny_t.pth                 a SMALL TinyViT MobileSAM (torch.save(state_dict), like mobile_sam.pt),
                                     every tensor seeded-random, BatchNorm running stats included
  * <out>/tiny_t/*.npy               input tensor, embedding, per-stage activations, per-prompt low-res
                                     logits / IoU / masks (SamPredictor from mobile_sam)
  * <big-dir>/fixtures/vit_t.pth     the official vit_t shapes (sam_model_registry["vit_t"]), seeded-random,
                                     ~40 MB, NOT committed; its outputs go to <big-dir>/fixtures/vit_t/
  * <out>/manifest.json              gains mobilesam_configs.tiny_t (and .vit_t, whose files are external)
                                     (a separate key: the SAM parity tests loop over `configs`)

The small config generalises two constants of the official TinyViT that only hold at 1024 px:
  - TinyViT.forward_features reshapes to a hard-coded 64x64 grid; here the grid is img_size/16;
  - the neck's output width is hard-coded to 256; here it is the (small) prompt_embed_dim;
  - PatchMerging picks stride 1 only for out_dim in {320, 448, 576}; TinyViT.__init__ assumes the
    LAST merge is stride 1 (layer 3 keeps layer 2's resolution), so the small config forces stride 1
    on the last merge, the rule every working official TinyViT-SAM follows.
Everything else (Conv2d_BN, MBConv, PatchMerging, TinyViTBlock, Attention with attention_biases,
Mlp, LayerNorm2d, prompt encoder, mask decoder, predictor) is the official code, unmodified.
vit_t itself is built with the official registry, untouched.
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import (  # noqa: E402  shared helpers: same image, prompts, npy conventions
    PIXEL_MEAN, PIXEL_STD, check_not_degenerate, npsave, prompt_cases, sha256,
)

import mobile_sam  # noqa: E402
from mobile_sam import SamPredictor, sam_model_registry  # noqa: E402
from mobile_sam.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer  # noqa: E402
from mobile_sam.modeling import tiny_vit_sam  # noqa: E402
from mobile_sam.modeling.tiny_vit_sam import LayerNorm2d, TinyViT  # noqa: E402

TINY_T = dict(
    img_size=256, embed_dims=[16, 24, 32, 40], depths=[1, 2, 2, 1], num_heads=[1, 2, 2, 4],
    window_sizes=[7, 7, 5, 4], mlp_ratio=4.0, mbconv_expand_ratio=4.0, local_conv_size=3,
    prompt_embed_dim=32, decoder_mlp_dim=64, iou_head_hidden_dim=32, mask_in_chans=8, seed=1101,
)
VIT_T = dict(
    img_size=1024, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2], num_heads=[2, 4, 5, 10],
    window_sizes=[7, 7, 14, 7], mlp_ratio=4.0, mbconv_expand_ratio=4.0, local_conv_size=3,
    prompt_embed_dim=256, decoder_mlp_dim=2048, iou_head_hidden_dim=256, mask_in_chans=16, seed=1102,
)


class _LastMergeStride1(tiny_vit_sam.PatchMerging):
    """Official PatchMerging; the merge into the last stage is stride 1 (see module doc)."""
    last_out_dim = None

    def __init__(self, input_resolution, dim, out_dim, activation):
        super().__init__(input_resolution, dim, out_dim, activation)
        if out_dim == _LastMergeStride1.last_out_dim:
            self.conv2.c.stride = (1, 1)


class _SmallTinyViT(TinyViT):
    """Official TinyViT with the grid side and neck width taken from the config."""

    def __init__(self, out_chans, **kw):
        _LastMergeStride1.last_out_dim = kw["embed_dims"][-1]
        saved = tiny_vit_sam.PatchMerging
        tiny_vit_sam.PatchMerging = _LastMergeStride1
        try:
            super().__init__(**kw)
        finally:
            tiny_vit_sam.PatchMerging = saved
        dim = kw["embed_dims"][-1]
        self.neck = torch.nn.Sequential(
            torch.nn.Conv2d(dim, out_chans, kernel_size=1, bias=False), LayerNorm2d(out_chans),
            torch.nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False), LayerNorm2d(out_chans))

    def forward_features(self, x):
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        B, L, C = x.size()
        side = int(round(L ** 0.5))
        x = x.view(B, side, side, C).permute(0, 3, 1, 2)
        return self.neck(x)


def build(c, small):
    g = c["img_size"] // 16
    kw = dict(img_size=c["img_size"], in_chans=3, num_classes=1000, embed_dims=c["embed_dims"], depths=c["depths"],
              num_heads=c["num_heads"], window_sizes=c["window_sizes"], mlp_ratio=c["mlp_ratio"], drop_rate=0.,
              drop_path_rate=0.0, use_checkpoint=False, mbconv_expand_ratio=c["mbconv_expand_ratio"],
              local_conv_size=c["local_conv_size"], layer_lr_decay=0.8)
    if not small:
        sam = sam_model_registry["vit_t"]()
    else:
        d = c["prompt_embed_dim"]
        sam = Sam(
            image_encoder=_SmallTinyViT(out_chans=d, **kw),
            prompt_encoder=PromptEncoder(embed_dim=d, image_embedding_size=(g, g),
                                         input_image_size=(c["img_size"], c["img_size"]), mask_in_chans=c["mask_in_chans"]),
            mask_decoder=MaskDecoder(num_multimask_outputs=3,
                                     transformer=TwoWayTransformer(depth=2, embedding_dim=d, mlp_dim=c["decoder_mlp_dim"],
                                                                   num_heads=8),
                                     transformer_dim=d, iou_head_depth=3, iou_head_hidden_dim=c["iou_head_hidden_dim"]),
            pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    sam.eval()
    return sam


def init_rule(name, shape):
    """(kind, std, mean). BatchNorm running stats are random too so BN folding is tested."""
    if name.endswith("num_batches_tracked"):
        return "counter", 0.0, 0.0
    if name.endswith("running_var"):
        return "bn_var", 0.0, 0.0          # uniform [0.5, 1.5), see init_weights
    if name.endswith("running_mean"):
        return "bn_mean", 0.1, 0.0
    if ".bn.weight" in name:
        return "bn_weight", 0.1, 1.0
    if name.endswith("attention_biases"):
        return "attention_bias", 0.5, 0.0
    if name.endswith("norm.weight") or name.endswith("norm_head.weight") or ".norm" in name and name.endswith(".weight") \
            or name.endswith(("neck.1.weight", "neck.3.weight", "output_upscaling.1.weight",
                              "mask_downscaling.1.weight", "mask_downscaling.4.weight")):
        return "norm_weight", 0.1, 1.0
    if name.endswith("positional_encoding_gaussian_matrix"):
        return "gaussian_pe", 1.0, 0.0
    if any(e in name for e in ("point_embeddings", "not_a_point_embed", "no_mask_embed", "iou_token", "mask_tokens")):
        return "embedding", 0.5, 0.0
    if name.endswith("bias"):
        return "bias", 0.05, 0.0
    if len(shape) >= 2:
        if "output_upscaling" in name and len(shape) == 4:
            fan_in = shape[0]
        else:
            fan_in = int(np.prod(shape[1:]))
        return "weight", 1.0 / np.sqrt(fan_in), 0.0
    raise ValueError(f"no init rule for {name} {shape}")


def init_weights(sam, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in sam.state_dict().items():
            kind, std, mean = init_rule(name, tuple(t.shape))
            if kind == "counter":
                continue
            if kind == "bn_var":
                t.copy_(0.5 + torch.rand(t.shape, generator=g, dtype=torch.float32))
            else:
                t.copy_(mean + std * torch.randn(t.shape, generator=g, dtype=torch.float32))
    # Attention caches attention_biases[:, idxs] in `ab` at .eval(): refresh it from the new values.
    sam.eval()
    return sam


def run(name, c, small, out, big_dir, image_rgb, external):
    torch.manual_seed(c["seed"])
    sam = init_weights(build(c, small), c["seed"])
    wdir = os.path.join(big_dir, "fixtures") if external else out
    odir_root = wdir if external else out
    cdir = os.path.join(odir_root, name)
    os.makedirs(cdir, exist_ok=True)
    pth = os.path.join(wdir, name + ".pth")
    sd = sam.state_dict()
    torch.save(sd, pth)
    print(f"  wrote {pth} ({os.path.getsize(pth) / 1e6:.2f} MB)")

    enc = sam.image_encoder
    acts = {}
    hooks = [enc.patch_embed.register_forward_hook(lambda m, i, o: acts.__setitem__("patch_embed", o.detach().clone()))]
    for li, layer in enumerate(enc.layers):
        hooks.append(layer.register_forward_hook(
            lambda m, i, o, li=li: acts.__setitem__(f"layer_{li}", o.detach().clone())))
    predictor = SamPredictor(sam)
    with torch.no_grad():
        predictor.set_image(image_rgb)
    for h in hooks:
        h.remove()
    resized = predictor.transform.apply_image(image_rgb)
    x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None]
    with torch.no_grad():
        input_tensor = sam.preprocess(x)
    emb = predictor.get_image_embedding()
    rel = lambda p: os.path.relpath(p, odir_root)  # noqa: E731
    files = {}
    for key, arr in [("input_tensor", input_tensor.numpy()), ("embedding", emb.numpy())]:
        p = os.path.join(cdir, key + ".npy")
        npsave(p, arr.astype(np.float32))
        files[key] = rel(p)
    if small:  # per-stage activations (debug aid): patch_embed is NCHW, layers are B x L x C tokens
        for key in ["patch_embed"] + [f"layer_{i}" for i in range(len(enc.layers))]:
            p = os.path.join(cdir, key + ".npy")
            a = acts[key]
            if a.ndim == 4:
                a = a.permute(0, 2, 3, 1)  # -> channels last, like the runtime
            npsave(p, a.contiguous().numpy())
            files[key] = rel(p)
    cases = []
    results = {}
    for k, pc in enumerate(prompt_cases()):
        if "mask_from_case" in pc and pc["points"] is None:
            continue
        pts = np.array(pc["points"], np.float32) if pc["points"] is not None else None
        lbl = np.array(pc["labels"], np.int64) if pc["labels"] is not None else None
        box = np.array(pc["box"], np.float32) if pc["box"] is not None else None
        mask_input = None
        mask_file = None
        if "mask_from_case" in pc:
            src_low, src_iou = results[pc["mask_from_case"]]
            mask_input = src_low[int(np.argmax(src_iou))][None].astype(np.float32)
            mask_file = rel(os.path.join(cdir, f"case_{k}_mask_input.npy"))
            npsave(os.path.join(odir_root, mask_file), mask_input)
        with torch.no_grad():
            masks, iou, low = predictor.predict(point_coords=pts, point_labels=lbl, box=box, mask_input=mask_input,
                                                multimask_output=pc["multimask"], return_logits=False)
        results[k] = (low, iou)
        frac = check_not_degenerate(name, k, low, iou)
        cf = dict(low_res_logits=rel(os.path.join(cdir, f"case_{k}_low_res_logits.npy")),
                  iou_predictions=rel(os.path.join(cdir, f"case_{k}_iou.npy")),
                  masks=rel(os.path.join(cdir, f"case_{k}_masks.npy")))
        npsave(os.path.join(odir_root, cf["low_res_logits"]), low.astype(np.float32))
        npsave(os.path.join(odir_root, cf["iou_predictions"]), iou.astype(np.float32))
        npsave(os.path.join(odir_root, cf["masks"]), masks.astype(np.uint8))
        cases.append(dict(index=k, desc=pc["desc"], points=pc["points"], labels=pc["labels"], box=pc["box"],
                          mask_input=mask_file, multimask=pc["multimask"], num_masks=int(low.shape[0]),
                          iou=[float(v) for v in iou], lowres_positive_fraction=round(frac, 4), files=cf))
        print(f"  {name} case {k}: iou={np.round(iou, 3).tolist()} pos={frac:.2f}")
    cfg = {k: v for k, v in c.items() if k != "seed"}
    cfg.update(out_chans=c["prompt_embed_dim"], patch_size=16, image_embedding_size=c["img_size"] // 16,
               low_res_size=c["img_size"] // 4, encoder="tiny_vit",
               merge_strides=[2] * (len(c["depths"]) - 2) + [1], decoder_depth=2, decoder_num_heads=8,
               attention_downsample_rate=2, iou_head_depth=3, num_multimask_outputs=3,
               pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
    entry = dict(
        config=cfg, seed=c["seed"], official_builder=("sam_model_registry['vit_t']" if not small
                                                      else "mobile_sam classes, see make_mobilesam_fixtures.py"),
        weights=dict(external=external, pth=None if external else name + ".pth",
                     external_pth=f"fixtures/{name}.pth" if external else None,
                     pth_sha256=sha256(pth), num_tensors=len(sd),
                     num_params=int(sum(v.numel() for v in sd.values()))),
        outputs_external=external,
        external_outputs_dir=f"fixtures/{name}" if external else None,
        input_size=list(predictor.input_size), original_size=list(predictor.original_size),
        files=files, cases=cases,
        state_dict_shapes={k: list(v.shape) for k, v in sd.items()},
    )
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "sam"))
    ap.add_argument("--big-dir", default="/work/big")
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    from PIL import Image
    man_path = os.path.join(args.out, "manifest.json")
    with open(man_path) as f:
        manifest = json.load(f)
    image = np.array(Image.open(os.path.join(args.out, manifest["image"]["png"])).convert("RGB"))
    manifest.setdefault("versions", {})["mobile_sam"] = "mobilesam-mirror " + \
        __import__("importlib.metadata").metadata.version("mobilesam-mirror")
    manifest["versions"]["timm"] = __import__("timm").__version__
    manifest["mobilesam_generator"] = "Tests/Fixtures/make_mobilesam_fixtures.py"
    print("[tiny_t]")
    manifest.setdefault("mobilesam_configs", {})["tiny_t"] = run("tiny_t", TINY_T, True, args.out, args.big_dir, image, external=False)
    if not args.skip_big:
        print("[vit_t]")
        manifest["mobilesam_configs"]["vit_t"] = run("vit_t", VIT_T, False, args.out, args.big_dir, image, external=True)
    with open(man_path, "w") as f:
        json.dump(manifest, f, indent=1)
    for root, _dirs, fns in os.walk(args.out):
        for fn in fns:
            os.chmod(os.path.join(root, fn), 0o644)
    print("done:", man_path)


if __name__ == "__main__":
    main()
