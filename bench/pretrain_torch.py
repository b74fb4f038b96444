"""The PyTorch side of `npm run bench:pretrain`: nanoGPT's character-level CPU recipe, from scratch.

Run by bench/pretrain.ts as
  /usr/bin/python3 bench/pretrain_torch.py TEXT_FILE --threads N --steps 2000 --eval-iters 20 ...
with the environment Kiln used (OPENBLAS_CORETYPE in particular). It trains a GPT-2 style
character model with the same architecture and initialisation as Kiln's GPT (src/models/gpt.ts)
on the same text, with the same recipe, and prints one JSON line:
  {"torch": ..., "threads": ..., "steps": ..., "train_seconds": ..., "tokens_per_s": ...,
   "val_loss": ..., "vocab_size": ..., "train_tokens": ..., "val_tokens": ...}

  data       the text's distinct code points, sorted, are the vocabulary (nanoGPT's
             sorted(set(text))); the first floor(n * (1 - val_fraction)) ids train, the
             contiguous tail validates
  batches    B random windows of T + 1 ids from the training ids (own RNG: the batches are not
             Kiln's, only drawn the same way)
  model      pre-LN GPT-2 blocks (c_attn, causal attention, c_proj; MLP 4x with tanh GELU),
             learned positions, final layer norm, lm_head tied to wte; biases on; layer norm eps
             1e-5; weights N(0, 0.02), c_proj N(0, 0.02 / sqrt(2 * n_layer)), biases 0
  optimizer  AdamW(betas (beta1, beta2)), weight decay on >= 2-D parameters only, foreach off,
             nanoGPT's get_lr (linear warm-up lr * it / warmup, cosine to min_lr), grad-norm
             clip, no dropout
  eval       after the last step, eval mode, no grad: the mean loss over the first
             eval_iters * B sequential, non-overlapping T-token windows of the validation ids
             (the windows Kiln's evaluateLoss uses)
  throughput B * T * steps / seconds of the training loop (batch sampling, forward, backward,
             clip, step, loss.item() each step); evaluation is not timed
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:
    sys.exit(
        f"pretrain_torch.py: {sys.executable} cannot import torch ({error}); "
        "install Debian's python3-torch (sudo apt-get install python3-torch)"
    )


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, block_size):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        mask = torch.tril(torch.ones(block_size, block_size, dtype=torch.bool))
        self.register_buffer("causal", mask.view(1, 1, block_size, block_size), persistent=False)

    def forward(self, x):  # (B, T, C) -> (B, T, C)
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)  # 3 x (B, T, C)
        hd = C // self.heads
        q = q.view(B, T, self.heads, hd).transpose(1, 2)  # (B, H, T, hd)
        k = k.view(B, T, self.heads, hd).transpose(1, 2)
        v = v.view(B, T, self.heads, hd).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # (B, H, T, T)
        scores = scores.masked_fill(~self.causal[:, :, :T, :T], float("-inf"))
        y = F.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.c_proj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, dim, heads, block_size):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = SelfAttention(dim, heads, block_size)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = MLP(dim)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class CharGPT(nn.Module):
    def __init__(self, vocab_size, block_size, layers, heads, dim):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, dim)
        self.wpe = nn.Embedding(block_size, dim)
        self.h = nn.ModuleList([Block(dim, heads, block_size) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied
        residual_std = 0.02 / math.sqrt(2 * layers)
        for name, module in self.named_modules():
            if module is self.lm_head:
                continue
            if isinstance(module, nn.Linear):
                std = residual_std if name.endswith(".c_proj") else 0.02
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, ids, targets):  # (B, T), (B, T) -> scalar loss
        T = ids.shape[1]
        pos = torch.arange(T, dtype=torch.long, device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))  # (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def get_lr(it, lr, min_lr, warmup, total):
    """nanoGPT's get_lr (its warm-up as lr * it / warmup_iters)."""
    if it < warmup:
        return lr * it / warmup
    if it >= total:
        return min_lr
    ratio = (it - warmup) / (total - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("text", help="UTF-8 text file")
    p.add_argument("--threads", type=int, required=True, help="intra-op threads (torch.set_num_threads)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16)")
    a = p.parse_args()
    if a.threads < 1:
        p.error(f"--threads must be at least 1, got {a.threads}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(len(data) * (1 - a.val_fraction))
    train, val = data[:n_train], data[n_train:]
    B, T = a.batch_size, a.block_size

    model = CharGPT(len(chars), T, a.layers, a.heads, a.dim)
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    decay = [q for q in params if q.dim() >= 2]
    no_decay = [q for q in params if q.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=a.lr,
        betas=(a.beta1, a.beta2),
        foreach=False,
    )
    gen = torch.Generator().manual_seed(a.seed)
    offsets = torch.arange(T + 1)

    def get_batch():
        starts = torch.randint(len(train) - T, (B,), generator=gen)  # in [0, n - T - 1]
        windows = train[starts.unsqueeze(1) + offsets]  # (B, T + 1)
        return windows[:, :-1], windows[:, 1:]

    start = time.perf_counter()
    for it in range(a.steps):
        lr = get_lr(it, a.lr, a.min_lr, a.warmup, a.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        optimizer.step()
        loss.item()
    seconds = time.perf_counter() - start

    model.eval()
    windows = min((len(val) - 1) // T, a.eval_iters * B)
    total, count = 0.0, 0
    with torch.no_grad():
        for first in range(0, windows, B):
            rows = min(B, windows - first)
            starts = (torch.arange(rows) + first) * T
            w = val[starts.unsqueeze(1) + offsets]  # (rows, T + 1)
            total += model(w[:, :-1], w[:, 1:]).item() * rows
            count += rows
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                "steps": a.steps,
                "train_seconds": seconds,
                "tokens_per_s": B * T * a.steps / seconds,
                "val_loss": total / count,
                "final_train_loss": loss.item(),
                "vocab_size": len(chars),
                "train_tokens": len(train),
                "val_tokens": len(val),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
