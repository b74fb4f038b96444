"""The PyTorch side of scripts/gpu-check.sh: the GPT-2-124M-shaped model of bench/gpu-check.ts.

Run after the Kiln side, which writes the token ids:
  python3 bench/gpu_check_torch.py --tokens gpu-check-tokens.bin --device cuda --steps 40 ...
Same architecture and initialisation as Kiln's GPT (bench/pretrain_torch.py's CharGPT with
GPT-2's 50,257-token vocabulary), the same batches in the same order (row r of step s starts at
((s * batch + r) * context) mod (len - context - 1)), AdamW (betas 0.9/0.95, weight decay 0.1 on
>= 2-D parameters, constant lr), grad-norm clip 1, bf16 autocast. Prints one JSON line:
  {"side": "torch", "torch": ..., "tokens_per_s": ..., "mfu": ..., "losses": [...]}
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pretrain_torch import CharGPT  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokens", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--dim", type=int, default=768)
    p.add_argument("--context", type=int, default=1024)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--peak-tflops", type=float, default=989.0)
    a = p.parse_args()
    ids = torch.from_numpy(np.fromfile(a.tokens, dtype=np.uint16).astype(np.int64))
    torch.manual_seed(1337)
    device = torch.device(a.device)
    model = CharGPT(50257, a.context, a.layers, a.heads, a.dim).to(device)
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    groups = [{"params": [q for q in params if q.dim() >= 2], "weight_decay": 0.1},
              {"params": [q for q in params if q.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95))
    usable = len(ids) - a.context - 1
    losses, seconds = [], []
    for step in range(a.steps):
        starts = [((step * a.batch + r) * a.context) % usable for r in range(a.batch)]
        x = torch.stack([ids[s:s + a.context] for s in starts])
        y = torch.stack([ids[s + 1:s + 1 + a.context] for s in starts])
        start = time.perf_counter()
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        value = loss.item()  # waits for the device
        seconds.append(time.perf_counter() - start)
        losses.append(value)
        print(f"[torch] step {step + 1}: loss {value:.4f} ({seconds[-1]:.3f} s)", file=sys.stderr)
    tokens_per_s = a.batch * a.context / statistics.median(seconds[min(5, len(seconds) - 1):])
    n = sum(q.numel() for q in model.parameters())
    mfu = 6 * n * tokens_per_s / (a.peak_tflops * 1e12)
    print(json.dumps({"side": "torch", "torch": torch.__version__, "device": a.device, "parameters": n,
                      "tokens_per_s": tokens_per_s, "mfu": mfu, "losses": losses}))


if __name__ == "__main__":
    main()
