"""The PyTorch side of `npm run bench:generate`: greedy generation with a key/value cache.

Run by bench/generate.ts as
  /usr/bin/python3 bench/generate_torch.py MODEL_DIR --context C --new-tokens N --threads T
with the environment Kiln used. MODEL_DIR is a GPT-2 folder Kiln wrote (config.json and
model.safetensors, Conv1D weights stored (in, out)). It builds GPT-2 in plain PyTorch (there is
no `transformers` package here), generates N tokens greedily after a prompt of C ids
(id i = (31 * i + 7) % vocab_size), the way Hugging Face's GPT-2 does with use_cache=True: the
prompt in one forward, then one token per forward, each layer's keys and values concatenated to
its cache (torch.cat, as DynamicCache does). One untimed warm-up generation of 4 tokens comes
first. Prints one JSON line: {"tokens_per_s", "seconds", "tokens": [...new ids...]}.
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:
    sys.exit(f"generate_torch.py: {sys.executable} cannot import torch ({error}); install Debian's python3-torch")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from reference_safetensors import read_weights  # noqa: E402


def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            self.config = json.load(f)
        raw = read_weights(folder)
        self.w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in raw.items()}
        self.layers = self.config["n_layer"]
        self.heads = self.config["n_head"]
        self.dim = self.config["n_embd"]

    def forward(self, ids, cache):
        """ids (B, T) after len(cache[0][0]) cached positions -> logits (B, V) at the last; cache updated."""
        B, T = ids.shape
        past = 0 if cache[0] is None else cache[0][0].shape[2]
        w, H, C = self.w, self.heads, self.dim
        D = C // H
        positions = torch.arange(past, past + T)
        x = F.embedding(ids, w["wte.weight"]) + F.embedding(positions, w["wpe.weight"])
        for i in range(self.layers):
            p = f"h.{i}."
            h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h.view(-1, C), w[p + "attn.c_attn.weight"]).view(B, T, 3 * C)
            q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in qkv.split(C, dim=2))
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            cache[i] = (k, v)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)  # (B, H, T, S)
            if T > 1:
                S = k.shape[2]
                causal = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
                scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
            y = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(B, T, C)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], y.view(-1, C), w[p + "attn.c_proj.weight"]).view(B, T, C)
            h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
            inner = gelu_new(torch.addmm(w[p + "mlp.c_fc.bias"], h.view(-1, C), w[p + "mlp.c_fc.weight"]))
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], inner, w[p + "mlp.c_proj.weight"]).view(B, T, C)
        last = layer_norm(x[:, -1], w["ln_f.weight"], w["ln_f.bias"])
        return last @ w["wte.weight"].t()

    def generate(self, ids, new_tokens):
        cache = [None] * self.layers
        out = []
        logits = self.forward(ids, cache)
        for step in range(new_tokens):
            token = logits.argmax(-1, keepdim=True)  # (B, 1)
            out.append(int(token[0, 0]))
            if step + 1 < new_tokens:
                logits = self.forward(token, cache)
        return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--context", type=int, required=True)
    parser.add_argument("--new-tokens", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = Gpt2(args.model)
    vocab = model.config["vocab_size"]
    prompt = torch.tensor([[(31 * i + 7) % vocab for i in range(args.context)]], dtype=torch.long)
    with torch.no_grad():
        model.generate(prompt[:, :8], 4)
        start = time.perf_counter()
        tokens = model.generate(prompt, args.new_tokens)
        seconds = time.perf_counter() - start
    print(json.dumps({"tokens_per_s": args.new_tokens / seconds, "seconds": seconds, "tokens": tokens}))


if __name__ == "__main__":
    main()
