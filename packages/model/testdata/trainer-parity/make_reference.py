#!/usr/bin/env python3
"""PyTorch reference for the trainer's parity test (packages/model/src/trainer/pytorch-parity.spec.ts).

Builds a tiny GPT-2 (written out here in plain PyTorch, with GPT-2's Conv1D layout and PEFT's LoRA
formula), draws its weights, LoRA matrices, dropout masks and a token batch from a fixed seed, and records
the loss and gradients in float64 for two modes:
  - LoRA on c_attn, c_proj and c_fc (r=4, alpha=8, dropout masks applied to the adapter input);
  - full fine-tuning (gradients of every base weight, no adapters).
Everything goes into reference.safetensors beside this script, so CI needs no torch.

Run: /usr/bin/python3 packages/model/testdata/trainer-parity/make_reference.py  (Debian python3-torch 1.13)
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(20261130)
torch.set_default_dtype(torch.float64)

CONFIG = dict(vocab_size=96, n_positions=16, n_embd=24, n_layer=2, n_head=2, layer_norm_epsilon=1e-5)
BATCH, SEQ = 2, 8
LORA = dict(r=4, lora_alpha=8, lora_dropout=0.1, target_modules=["c_attn", "c_proj", "c_fc"])
V, P, E, L, H = (CONFIG[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"))
D = E // H


def weights():
    w = {"wte.weight": torch.randn(V, E) * 0.3, "wpe.weight": torch.randn(P, E) * 0.3}
    for i in range(L):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = 1 + 0.1 * torch.randn(E)
            w[p + ln + ".bias"] = 0.1 * torch.randn(E)
        for name, fan_in, fan_out in (("attn.c_attn", E, 3 * E), ("attn.c_proj", E, E),
                                      ("mlp.c_fc", E, 4 * E), ("mlp.c_proj", 4 * E, E)):
            w[p + name + ".weight"] = torch.randn(fan_in, fan_out) / math.sqrt(fan_in)
            w[p + name + ".bias"] = 0.1 * torch.randn(fan_out)
    w["ln_f.weight"] = 1 + 0.1 * torch.randn(E)
    w["ln_f.bias"] = 0.1 * torch.randn(E)
    return w


def lora_modules():
    mods = []
    for i in range(L):
        for suffix, target, fan_in, fan_out in (("attn.c_attn", "c_attn", E, 3 * E), ("attn.c_proj", "c_proj", E, E),
                                                ("mlp.c_fc", "c_fc", E, 4 * E), ("mlp.c_proj", "c_proj", 4 * E, E)):
            if target in LORA["target_modules"]:
                mods.append((f"h.{i}.{suffix}", fan_in, fan_out))
    return mods


def forward(w, ids, labels, lora=None, masks=None):
    scaling = LORA["lora_alpha"] / LORA["r"]

    def linear(x, path):
        y = x @ w[path + ".weight"] + w[path + ".bias"]
        if lora is not None and path in lora:
            a, b = lora[path]
            y = y + scaling * (((x * masks[path]) @ a.T) @ b.T)
        return y

    def ln(x, prefix):
        return F.layer_norm(x, (E,), w[prefix + ".weight"], w[prefix + ".bias"], CONFIG["layer_norm_epsilon"])

    h = w["wte.weight"][ids] + w["wpe.weight"][: ids.shape[1]]
    future = torch.triu(torch.ones(SEQ, SEQ, dtype=torch.bool), 1)
    for i in range(L):
        qkv = linear(ln(h, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn")
        q, k, v = (t.view(BATCH, SEQ, H, D).transpose(1, 2) for t in qkv.split(E, -1))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        att = torch.softmax(att.masked_fill(future, float("-inf")), -1)
        ctx = (att @ v).transpose(1, 2).reshape(BATCH, SEQ, E)
        h = h + linear(ctx, f"h.{i}.attn.c_proj")
        fc = linear(ln(h, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc")
        h = h + linear(F.gelu(fc, approximate="tanh"), f"h.{i}.mlp.c_proj")
    logits = ln(h, "ln_f") @ w["wte.weight"].T
    return F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dtype = {torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        raw = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + b"".join(blobs))


def main():
    w = weights()
    ids = torch.randint(0, V, (BATCH, SEQ))
    labels = torch.randint(0, V, (BATCH, SEQ))
    labels[1, -3:] = -100  # padding: not counted
    mods = lora_modules()
    lora, masks = {}, {}
    keep = 1 - LORA["lora_dropout"]
    for path, fan_in, fan_out in mods:
        lora[path] = (torch.randn(LORA["r"], fan_in) / math.sqrt(fan_in), 0.2 * torch.randn(fan_out, LORA["r"]))
        masks[path] = (torch.rand(BATCH, SEQ, fan_in) < keep).double() / keep
    out = {"input_ids": ids, "labels": labels}
    for name, t in w.items():
        out["weight." + name] = t
    for path, (a, b) in lora.items():
        out["lora_A." + path], out["lora_B." + path] = a, b
        out["dropout_mask." + path] = masks[path]

    params = [t for pair in lora.values() for t in pair]
    for t in params:
        t.requires_grad_(True)
    loss = forward(w, ids, labels, lora, masks)
    loss.backward()
    out["loss_lora"] = loss.detach().reshape(())
    for path, (a, b) in lora.items():
        out["grad_lora.lora_A." + path], out["grad_lora.lora_B." + path] = a.grad, b.grad

    for t in w.values():
        t.requires_grad_(True)
    loss = forward(w, ids, labels)
    loss.backward()
    out["loss_full"] = loss.detach().reshape(())
    for name, t in w.items():
        out["grad_full." + name] = t.grad

    metadata = {"config": json.dumps(CONFIG, sort_keys=True), "lora": json.dumps(LORA, sort_keys=True),
                "batch": str(BATCH), "sequence_length": str(SEQ), "torch": torch.__version__}
    write_safetensors(os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.safetensors"), out, metadata)


if __name__ == "__main__":
    main()
