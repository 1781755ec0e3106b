#!/usr/bin/env python3
"""Reference inference throughput: llama.cpp (via llama-cpp-python) on CPU.

Loads a GGUF with llama_cpp.Llama and measures
  (a) prompt processing (prefill): one llm.eval() of the tokenized prompt
      (n_batch=512, so a prompt <= 512 tokens is a single llama_decode), and
  (b) decode: greedy generation of exactly --n-predict tokens after the prompt,
      EOS masked out (so it never stops early); each generated token is fed
      back through llama_decode (n_predict single-token decodes, like
      llama-bench's "tg" test), argmax done in numpy on the last logits.
Both are timed with wall clock (time.perf_counter) around the Python calls;
llama.cpp's own perf counters (llama_perf_context: time inside llama_decode)
are reported alongside as *_perf fields. Best (max) of --repeat runs each.

The prompt file is used raw (already chat formatted); special tokens such as
<|im_start|> are parsed as special tokens; BOS is added only if the model's
GGUF metadata asks for it.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--prompt-file", required=True, help="UTF-8 text, used as the raw prompt")
    ap.add_argument("--n-predict", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    if args.n_predict < 1 or args.repeat < 1:
        ap.error("--n-predict and --repeat must be >= 1")

    import llama_cpp

    with open(args.prompt_file, encoding="utf-8") as f:
        prompt = f.read()

    llm = llama_cpp.Llama(
        model_path=args.model,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_ctx=2048,
        n_batch=512,
        seed=args.seed,
        verbose=False,
    )
    ctx = llm._ctx.ctx
    n_vocab = llm.n_vocab()
    eos = llm.token_eos()

    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    n_prompt = len(tokens)
    if n_prompt + args.n_predict > llm.n_ctx():
        sys.exit(f"prompt ({n_prompt}) + n_predict ({args.n_predict}) exceeds n_ctx ({llm.n_ctx()})")

    def last_logits():
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(n_vocab,))

    def greedy():
        logits = last_logits().copy()
        if 0 <= eos < n_vocab:
            logits[eos] = -np.inf
        return int(np.argmax(logits))

    def run_once(n_predict):
        llm.reset()
        llama_cpp.llama_perf_context_reset(ctx)
        t0 = time.perf_counter()
        llm.eval(tokens)
        llama_cpp.llama_synchronize(ctx)  # perf counters are booked at sync
        t1 = time.perf_counter()
        p_perf = llama_cpp.llama_perf_context(ctx)
        out = []
        t2 = time.perf_counter()
        for _ in range(n_predict):
            tok = greedy()
            out.append(tok)
            llm.eval([tok])
        llama_cpp.llama_synchronize(ctx)
        t3 = time.perf_counter()
        perf = llama_cpp.llama_perf_context(ctx)
        return {
            "prefill_s": t1 - t0,
            "decode_s": t3 - t2,
            "p_eval_ms": p_perf.t_p_eval_ms, "n_p_eval": p_perf.n_p_eval,
            "eval_ms": perf.t_eval_ms, "n_eval": perf.n_eval,
            "tokens": out,
        }

    load_before = os.getloadavg()[0]
    # untimed warmup: pages in the mmapped weights, spins up threads
    run_once(min(4, args.n_predict))

    runs = [run_once(args.n_predict) for _ in range(args.repeat)]

    prefill_tps = [n_prompt / r["prefill_s"] for r in runs]
    decode_tps = [args.n_predict / r["decode_s"] for r in runs]
    prefill_perf = [r["n_p_eval"] / (r["p_eval_ms"] / 1e3) for r in runs if r["p_eval_ms"] > 0]
    decode_perf = [r["n_eval"] / (r["eval_ms"] / 1e3) for r in runs if r["eval_ms"] > 0]
    gen = runs[-1]["tokens"]
    same = all(r["tokens"] == gen for r in runs)
    text = llm.detokenize(gen, special=True).decode("utf-8", errors="replace")

    try:
        sysinfo = llama_cpp.llama_print_system_info().decode().strip()
    except Exception:
        sysinfo = None

    res = {
        "tool": "llama.cpp",
        "version": f"llama-cpp-python {llama_cpp.__version__}",
        "threads": args.threads,
        "prompt_tokens": n_prompt,
        "prefill_tokens_per_s": round(max(prefill_tps), 2),
        "generated_tokens": len(gen),
        "decode_tokens_per_s": round(max(decode_tps), 2),
        # extra context
        "prefill_tokens_per_s_perf": round(max(prefill_perf), 2) if prefill_perf else None,
        "decode_tokens_per_s_perf": round(max(decode_perf), 2) if decode_perf else None,
        "prefill_tokens_per_s_all": [round(x, 2) for x in prefill_tps],
        "decode_tokens_per_s_all": [round(x, 2) for x in decode_tps],
        "repeat": args.repeat,
        "n_eval_perf": runs[-1]["n_eval"],
        "deterministic": same,
        "output_text": text,
        "loadavg_1m_before": round(load_before, 2),
        "system_info": sysinfo,
    }
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    else:
        print(f"llama.cpp threads={args.threads}: prompt {n_prompt} tok @ {res['prefill_tokens_per_s']} tok/s, "
              f"decode {len(gen)} tok @ {res['decode_tokens_per_s']} tok/s "
              f"(perf counters: {res['prefill_tokens_per_s_perf']} / {res['decode_tokens_per_s_perf']})")
        print("output:", text)


if __name__ == "__main__":
    main()
