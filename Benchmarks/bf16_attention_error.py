#!/usr/bin/env python3
"""What bf16 products in TinyViT's window attention cost, on the official model.

Runs the official MobileSAM image encoder (mobilesam-mirror) in f32 on the
fixture input, then with q, k·scale (q·kᵀ) and/or the softmax and v (P·V)
rounded to bf16 before the products, as samq_window_attention_bf16 does, and
prints the embedding's relative L2 error for each. docs/ACCURACY.md quotes it
(session 13). Not part of CI.

    /work/venv/bin/python Benchmarks/bf16_attention_error.py [--big-dir /work/big]

tiny_t comes from Tests/Fixtures/sam; vit_t from BIG_DIR/fixtures
(Tests/Fixtures/make_mobilesam_fixtures.py --big-dir BIG_DIR), skipped if absent.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Fixtures"))
import make_mobilesam_fixtures as fixtures  # noqa: E402
from mobile_sam.modeling import tiny_vit_sam  # noqa: E402

official_forward = tiny_vit_sam.Attention.forward
ROUND = {"qk": False, "pv": False}


def bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


def forward(self, x):
    """tiny_vit_sam.Attention.forward (eval mode), with the chosen operands rounded."""
    if not (ROUND["qk"] or ROUND["pv"]):
        return official_forward(self, x)
    b, n, _ = x.shape
    qkv = self.qkv(self.norm(x))
    q, k, v = qkv.view(b, n, self.num_heads, -1).split([self.key_dim, self.key_dim, self.d], dim=3)
    q, k, v = (t.permute(0, 2, 1, 3) for t in (q, k, v))
    k = k * self.scale
    if ROUND["qk"]:
        q, k = bf16(q), bf16(k)
    attn = (q @ k.transpose(-2, -1) + self.ab).softmax(dim=-1)
    if ROUND["pv"]:
        attn, v = bf16(attn), bf16(v)
    return self.proj((attn @ v).transpose(1, 2).reshape(b, n, self.dh))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-dir", default="/work/big")
    args = ap.parse_args()
    torch.set_num_threads(2)
    tiny_vit_sam.Attention.forward = forward
    models = [("tiny_t", fixtures.TINY_T, True, os.path.join(ROOT, "Tests", "Fixtures", "sam")),
              ("vit_t", fixtures.VIT_T, False, os.path.join(args.big_dir, "fixtures"))]
    for name, config, small, directory in models:
        checkpoint = os.path.join(directory, name + ".pth")
        if not os.path.exists(checkpoint):
            print(f"{name}: {checkpoint} not found, skipped")
            continue
        sam = fixtures.build(config, small)
        sam.load_state_dict(torch.load(checkpoint, map_location="cpu"))
        sam.eval()
        x = torch.from_numpy(np.load(os.path.join(directory, name, "input_tensor.npy")))
        with torch.no_grad():
            ROUND.update(qk=False, pv=False)
            reference = sam.image_encoder(x)
            for qk, pv, label in [(True, False, "q·kᵀ"), (False, True, "P·V"), (True, True, "both")]:
                ROUND.update(qk=qk, pv=pv)
                out = sam.image_encoder(x)
                error = ((out - reference).norm() / reference.norm()).item()
                print(f"{name}: bf16 {label:5s} embedding rel L2 {error:.2e}")


if __name__ == "__main__":
    main()
