#!/usr/bin/env python3
"""PyTorch baseline for `pnpm bench:train`: one LoRA training step of a GPT-2-shaped model on CPU.

The model is written out in plain PyTorch with GPT-2's Conv1D layout, LoRA (PEFT's formula) on the chosen
modules, frozen base weights, softmax cross-entropy over next tokens and torch.optim.AdamW on the adapters:
the same work as Strata's trainer step. Prints one JSON line: median step seconds and peak RSS.

Usage: python3 torch_lora_step.py '{"n_embd":768,"n_layer":6,"n_head":12,"vocab_size":50257,
        "n_positions":1024,"batch":4,"seq":128,"r":8,"alpha":8,"targets":["c_attn"],"steps":5,"warmup":2,
        "threads":2}'
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    E, L, H, V, P = cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"], cfg["n_positions"]
    B, S, r = cfg["batch"], cfg["seq"], cfg["r"]
    D = E // H
    scaling = cfg["alpha"] / r
    w = {"wte": torch.randn(V, E) * 0.02, "wpe": torch.randn(P, E) * 0.02}
    shapes = {"attn.c_attn": (E, 3 * E), "attn.c_proj": (E, E), "mlp.c_fc": (E, 4 * E), "mlp.c_proj": (4 * E, E)}
    for i in range(L):
        for ln in ("ln_1", "ln_2"):
            w[f"h.{i}.{ln}.weight"], w[f"h.{i}.{ln}.bias"] = torch.ones(E), torch.zeros(E)
        for name, (fan_in, fan_out) in shapes.items():
            w[f"h.{i}.{name}.weight"] = torch.randn(fan_in, fan_out) * 0.02
            w[f"h.{i}.{name}.bias"] = torch.zeros(fan_out)
    w["ln_f.weight"], w["ln_f.bias"] = torch.ones(E), torch.zeros(E)
    lora = {}
    for i in range(L):
        for name, (fan_in, fan_out) in shapes.items():
            if name.split(".")[1] in cfg["targets"]:
                a = (torch.rand(r, fan_in) * 2 - 1) / math.sqrt(fan_in)
                lora[f"h.{i}.{name}"] = (a.requires_grad_(), torch.zeros(fan_out, r, requires_grad=True))
    params = [t for pair in lora.values() for t in pair]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    future = torch.triu(torch.ones(S, S, dtype=torch.bool), 1)

    def linear(x, path):
        y = x @ w[path + ".weight"] + w[path + ".bias"]
        if path in lora:
            a, b = lora[path]
            y = y + scaling * ((x @ a.T) @ b.T)
        return y

    def ln(x, prefix):
        return F.layer_norm(x, (E,), w[prefix + ".weight"], w[prefix + ".bias"], 1e-5)

    def step(ids, labels):
        h = w["wte"][ids] + w["wpe"][:S]
        for i in range(L):
            qkv = linear(ln(h, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn")
            q, k, v = (t.view(B, S, H, D).transpose(1, 2) for t in qkv.split(E, -1))
            att = torch.softmax(((q @ k.transpose(-1, -2)) / math.sqrt(D)).masked_fill(future, -1e9), -1)
            h = h + linear((att @ v).transpose(1, 2).reshape(B, S, E), f"h.{i}.attn.c_proj")
            fc = linear(ln(h, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc")
            h = h + linear(F.gelu(fc, approximate="tanh"), f"h.{i}.mlp.c_proj")
        logits = ln(h, "ln_f").reshape(B * S, E) @ w["wte"].T
        loss = F.cross_entropy(logits, labels.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        return loss.item()

    times = []
    for n in range(cfg["warmup"] + cfg["steps"]):
        ids = torch.randint(0, V, (B, S))
        labels = torch.randint(0, V, (B, S))
        t0 = time.perf_counter()
        step(ids, labels)
        if n >= cfg["warmup"]:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({
        "step_seconds": times[len(times) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
