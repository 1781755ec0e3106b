#!/usr/bin/env python3
"""Reference LoRA training throughput: PyTorch + transformers + PEFT on CPU.

Loads SmolLM2-135M-Instruct from its GGUF (transformers dequantizes it to f32),
wraps it in a LoRA (r=8, alpha=16, dropout 0, all attention + MLP projections)
and trains with AdamW (lr 2e-4) on a fixed batch of seeded random token ids
(labels = input ids, no masking). Reports tokens/s over the steps after warmup
(batch * seq * steps / seconds) and peak RSS.

  --gemm  instead measures torch f32 matmul GFLOP/s (M=N=K=1024, best of a few).

Prints one JSON line (with --json) or a human summary.
"""
import argparse
import gc
import json
import os
import resource
import sys
import time


def rss_mib_from_proc(field):
    """VmRSS / VmHWM of this process in MiB, or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset VmHWM (Linux >= 4.0: write 5 to clear_refs). True if it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_gemm(args):
    import torch

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    m = n = k = 1024
    g = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=g, dtype=torch.float32)
    b = torch.randn(k, n, generator=g, dtype=torch.float32)
    c = torch.empty(m, n, dtype=torch.float32)
    for _ in range(3):  # warmup
        torch.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(args.gemm_reps):
        t0 = time.perf_counter()
        torch.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    gflops = 2.0 * m * n * k / best / 1e9
    out = {
        "tool": "torch-gemm",
        "loadavg_1m_before": round(load_before, 2),
        "torch": torch.__version__,
        "threads": args.threads,
        "m": m, "n": n, "k": k,
        "dtype": "f32",
        "best_seconds": round(best, 6),
        "gflops": round(gflops, 2),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"torch f32 GEMM {m}x{n}x{k} threads={args.threads}: {gflops:.1f} GFLOP/s (best {best*1e3:.2f} ms)")


def run_train(args):
    import torch
    import transformers
    import peft
    from transformers import AutoModelForCausalLM
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model_path = os.path.abspath(args.model)
    d, name = os.path.split(model_path)
    t_load = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
    load_s = time.perf_counter() - t_load
    rss_after_load = rss_mib_from_proc("VmRSS")
    peak_during_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    cfg = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, cfg)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)

    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(args.seed)
    input_ids = torch.randint(0, vocab, (args.batch, args.seq), generator=g, dtype=torch.long)
    labels = input_ids.clone()  # all positions count (HF shifts internally: seq-1 targets per row)

    gc.collect()
    load_before = os.getloadavg()[0]
    peak_reset = reset_peak_rss()

    step_times = []
    losses = []
    n_total = args.warmup + args.steps
    for step in range(n_total):
        t0 = time.perf_counter()
        out = model(input_ids=input_ids, labels=labels)
        loss = out.loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        step_times.append(dt)
        losses.append(float(loss.detach()))
        if not args.json:
            tag = "warmup" if step < args.warmup else "step"
            print(f"  {tag} {step}: {dt:.3f}s loss={losses[-1]:.4f}", file=sys.stderr)

    timed = step_times[args.warmup:]
    secs = sum(timed)
    tokens = args.batch * args.seq * len(timed)
    # VmHWM is this process' own peak; ru_maxrss would include the peak of a
    # parent that started Python (Linux carries it across fork and exec).
    peak_rss = rss_mib_from_proc("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peak_train = rss_mib_from_proc("VmHWM") if peak_reset else None

    out = {
        "tool": "pytorch+peft",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "seq": args.seq,
        "steps": len(timed),
        "warmup": args.warmup,
        "tokens_per_s": round(tokens / secs, 2) if secs > 0 else None,
        "seconds_per_step": round(secs / len(timed), 4) if timed else None,
        "peak_rss_mib": round(peak_rss, 1),
        # extra context
        "tokens_per_s_best_step": round(args.batch * args.seq / min(timed), 2),
        "peak_rss_load_mib": round(peak_during_load, 1),
        "rss_after_load_mib": round(rss_after_load, 1) if rss_after_load else None,
        "peak_rss_train_mib": round(peak_train, 1) if peak_train else None,
        "step_seconds": [round(t, 4) for t in step_times],
        "losses": [round(l, 4) for l in losses],
        "trainable_params": trainable,
        "total_params": total,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "load_seconds": round(load_s, 2),
        "loadavg_1m_before": round(load_before, 2),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"pytorch+peft threads={args.threads} B={args.batch} L={args.seq} steps={len(timed)}: "
              f"{out['tokens_per_s']} tok/s, {out['seconds_per_step']} s/step, peak RSS {out['peak_rss_mib']} MiB")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_model = os.path.normpath(os.path.join(here, "..", "..", ".cache", "models",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=default_model, help="GGUF file (default: %(default)s)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5, help="timed steps after warmup")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gemm", action="store_true", help="measure torch f32 GEMM GFLOP/s instead")
    ap.add_argument("--gemm-reps", type=int, default=10)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    if args.gemm:
        run_gemm(args)
    else:
        if args.steps < 1:
            ap.error("--steps must be >= 1")
        run_train(args)


if __name__ == "__main__":
    main()
