#!/usr/bin/env python3
"""Multiply-accumulates of the official MobileSAM (vit_t, TinyViT) image encoder at 1024×1024,
counted on the official module with forward hooks, split by the kind of kernel that runs them in
SAMQ, and the values that pass through a GELU or a LayerNorm. It turns the README's encoder
target into arithmetic: time ≥ GEMM MACs / the machine's int8 rate (`samq bench --peak`).

    /work/venv/bin/python Benchmarks/vit_t_macs.py [--json]

Needs torch, mobilesam-mirror and timm (the fixture venv). Weights are irrelevant to the count,
so the model is built untrained.
"""

import argparse
import json
from collections import defaultdict

import torch
from mobile_sam import sam_model_registry
from mobile_sam.modeling.tiny_vit_sam import Attention


def count(encoder, size=1024):
    macs = defaultdict(int)

    def conv_hook(module, inputs, output):
        kh, kw = module.kernel_size
        per_output = module.in_channels // module.groups * kh * kw
        kind = ("depthwise conv" if module.groups == module.in_channels and module.groups > 1
                else "pointwise conv (GEMM)" if (kh, kw) == (1, 1) else f"{kh}x{kw} dense conv")
        macs[kind] += output.numel() * per_output

    def linear_hook(module, inputs, output):
        macs["linear (GEMM)"] += output.numel() * module.in_features

    values = defaultdict(int)

    def count_values(kind):
        def hook(module, inputs, output):
            values[kind] += output.numel()
        return hook

    def attention_hook(module, inputs, output):
        batch_windows, tokens, _ = inputs[0].shape
        # Q·Kᵀ over key_dim and P·V over d per head (attn_ratio 1 in MobileSAM: d = key_dim)
        macs["window attention products"] += batch_windows * module.num_heads * tokens * tokens * (
            module.key_dim + module.d)

    for module in encoder.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(conv_hook)
        elif isinstance(module, torch.nn.Linear):
            module.register_forward_hook(linear_hook)
        elif isinstance(module, Attention):
            module.register_forward_hook(attention_hook)
        elif isinstance(module, torch.nn.GELU):
            module.register_forward_hook(count_values("GELU"))
        elif isinstance(module, torch.nn.LayerNorm) or type(module).__name__ == "LayerNorm2d":
            module.register_forward_hook(count_values("LayerNorm"))
    with torch.no_grad():
        encoder(torch.zeros(1, 3, size, size))
    return dict(macs), dict(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sam = sam_model_registry["vit_t"]()
    macs, values = count(sam.image_encoder.eval())
    total = sum(macs.values())
    if args.json:
        print(json.dumps({"macs": macs, "total": total, "values": values}, indent=1))
        return
    for kind, n in sorted(macs.items(), key=lambda kv: -kv[1]):
        print(f"{kind:28s} {n / 1e9:7.2f} GMAC  {100 * n / total:5.1f}%")
    print(f"{'total':28s} {total / 1e9:7.2f} GMAC")
    for kind, n in sorted(values.items()):
        print(f"{kind + ' outputs':28s} {n / 1e6:7.1f} M values")


if __name__ == "__main__":
    main()
