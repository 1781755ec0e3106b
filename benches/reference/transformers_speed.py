#!/usr/bin/env python3
"""Reference f32 inference throughput of Hugging Face transformers on CPU.

Loads the GGUF with transformers' GGUF loader (dequantized to float32), then
times (a) prefill: one forward pass over the raw prompt, and (b) decode:
greedy generation of exactly --n-predict tokens with the KV cache (EOS
ignored). Best of --repeat runs. Prints one JSON line with --json.
"""
import argparse
import json
import os
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--prompt-file", required=True)
    ap.add_argument("--n-predict", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d, f = os.path.split(os.path.abspath(a.model))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    prompt = open(a.prompt_file, encoding="utf-8").read()
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    best_p, best_d = 0.0, 0.0
    with torch.inference_mode():
        for _ in range(a.repeat):
            t = time.perf_counter()
            model(ids)
            best_p = max(best_p, ids.shape[1] / (time.perf_counter() - t))
            t = time.perf_counter()
            out = model.generate(ids, max_new_tokens=a.n_predict, min_new_tokens=a.n_predict, do_sample=False)
            total = time.perf_counter() - t
            n = out.shape[1] - ids.shape[1]
            # generate() includes one prefill: subtract it to get decode time.
            decode = max(total - ids.shape[1] / best_p, 1e-9)
            best_d = max(best_d, (n - 1) / decode)
    r = {"tool": "transformers", "version": transformers.__version__, "torch": torch.__version__, "threads": a.threads,
         "prompt_tokens": int(ids.shape[1]), "prefill_tokens_per_s": best_p, "generated_tokens": a.n_predict,
         "decode_tokens_per_s": best_d}
    print(json.dumps(r) if a.json else r)


if __name__ == "__main__":
    main()
