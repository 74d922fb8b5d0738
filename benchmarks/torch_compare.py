#!/usr/bin/python3
"""PyTorch comparison for based4j's JMH benchmarks.

Runs the BASED authors' math in plain torch ops on the CPU at the shapes of the JMH benchmarks (H = 16 heads,
Taylor feature dim f = 16 -> 273 features, value dim 64, F32), prints tokens/s for each, and, given a JMH JSON
result file, the ratio based4j / PyTorch for every row:

  * linear-attention prefill, chunked (the FLA `naive_chunk_based` algorithm on the 273-wide Taylor features) and
    quadratic (the authors' `LinearAttention.forward` "quadratic" form: einsum, tril, einsum, cumsum normaliser);
  * linear-attention decode (the authors' `recurrent_forward`: state update, then read-out);
  * sliding-window attention (lookback 64: 64 earlier keys and the query's own), banded: blocks of 64 queries
    against their own and the previous block of keys, with a band mask; prefill and decode;
  * full causal attention decode at 1k / 4k / 16k (/ 32k) tokens of context (a preallocated KV cache, as
    flash_attn_with_kvcache uses);
  * the 360M-shaped BASED stack (27 layers of width 1024: linear attention at 1, 6, 11, 16, 21, sliding window at
    2, 7, 12, 17, 22, BaseConv elsewhere, SwiGLU MLPs of 2048, RMSNorm, tied head over 50264 tokens), one decode
    step with the logits, random weights.

Every figure is the best of 1 and 2 threads (torch.set_num_threads), each the median of repeated runs.

Which torch, which BLAS
-----------------------
Use Debian's packages: `apt-get install -y python3-torch libopenblas0-openmp` and run this with Debian's Python
(/usr/bin/python3; a pyenv or venv python does not see python3-torch). Debian's torch is built with
BLAS_INFO=generic: it calls whatever `libblas.so.3` the alternatives system points to. Alone, python3-torch pulls
in the reference BLAS (libblas3, an unoptimised Fortran loop nest, about 6 GFLOP/s on a 2048^2 matmul here), which
would make torch look several times slower than it is. Installing libopenblas0-openmp registers OpenBLAS (OpenMP
threading, so torch.set_num_threads controls it too) as the `libblas.so.3-x86_64-linux-gnu` alternative with a
higher priority, and torch then multiplies through OpenBLAS. Check with
    update-alternatives --display libblas.so.3-x86_64-linux-gnu
(it must point to .../openblas-openmp/libblas.so.3), or to choose it by hand
    update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
The script measures a 2048 x 2048 matmul first and warns when it runs below 30 GFLOP/s (the reference BLAS).
Nothing here goes into CI: it is a measurement tool.

Usage
-----
    /usr/bin/python3 benchmarks/torch_compare.py [--jmh jmh-results/*.json] [--quick] [--threads 1,2]
        [--skip-stack] [--json torch-result.json]
The JMH file comes from `java -jar benchmarks/target/benchmarks.jar ... -rf json -rff jmh-result.json`; for each
row the best based4j figure over its `threads` parameter is compared. Measure on a quiet machine: check `uptime`.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

H = 16
F = 16
DV = 64
HEAD_DIM = 64
LOOKBACK = 64
EPS = 1e-12


# ------------------------------------------------------------------ the authors' math, in torch ops

def taylor(x):
    """TaylorExp.forward of based/models/mixers/linear_attention.py: [1, x/f^(1/4), (x x^T)/(sqrt2 sqrt f)]."""
    f = x.shape[-1]
    r2 = math.sqrt(2)
    rd = math.sqrt(f)
    rrd = math.sqrt(rd)
    x2 = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(start_dim=-2) / r2
    return torch.cat([x[..., :1] ** 0, x / rrd, x2 / rd], dim=-1)


def linear_quadratic(q, k, v):
    """LinearAttention.forward, parallel_implementation="quadratic"."""
    q, k = taylor(q), taylor(k)
    a = torch.einsum("bhnd,bhmd->bhnm", q, k)
    a = torch.tril(a)
    y = torch.einsum("bhnm,bhme->bhne", a, v)
    z = 1 / (torch.einsum("bhld,bhld->bhl", q, k.cumsum(2)) + EPS)
    return y * z[..., None]


def linear_chunked(q, k, v, chunk=64):
    """The chunked form (FLA naive_chunk_based) on the 273-wide features: per chunk, the read-out of the state
    carried from earlier chunks plus the masked quadratic form inside the chunk, then the chunk enters the state."""
    b, h, n, _ = q.shape
    q, k = taylor(q), taylor(k)
    d = q.shape[-1]
    state = q.new_zeros(b, h, d, v.shape[-1])      # sum of phi(k) v^T
    z = q.new_zeros(b, h, 1, d)                    # sum of phi(k)
    mask = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    out = torch.empty_like(v)
    for c0 in range(0, n, chunk):
        qc, kc, vc = q[:, :, c0:c0 + chunk], k[:, :, c0:c0 + chunk], v[:, :, c0:c0 + chunk]
        m = mask[: qc.shape[2], : qc.shape[2]]
        a = torch.matmul(qc, kc.transpose(-1, -2)).masked_fill_(~m, 0.0)
        num = torch.matmul(qc, state) + torch.matmul(a, vc)
        den = (qc * z).sum(-1) + a.sum(-1)
        out[:, :, c0:c0 + chunk] = num / (den[..., None] + EPS)
        state += torch.matmul(kc.transpose(-1, -2), vc)
        z += kc.sum(2, keepdim=True)
    return out


def linear_decode_step(q, k, v, kv_state, k_state):
    """recurrent_forward: kv_state [B,H,dv,D] += v (x) phi(k); k_state += phi(k); read out phi(q)."""
    qf, kf = taylor(q), taylor(k)                  # [B,H,D]
    kv_state.add_(v.unsqueeze(-1) * kf.unsqueeze(-2))
    k_state.add_(kf)
    num = torch.matmul(kv_state, qf.unsqueeze(-1)).squeeze(-1)
    den = (qf * k_state).sum(-1, keepdim=True) + EPS
    return num / den


def window_banded(q, k, v, lookback=LOOKBACK):
    """Sliding-window softmax attention, banded: blocks of `lookback` queries see their block and the previous one."""
    b, h, n, dk = q.shape
    w = lookback
    blocks = n // w
    scale = dk ** -0.5
    qb = q.view(b, h, blocks, w, dk)
    kb = k.view(b, h, blocks, w, dk)
    vb = v.view(b, h, blocks, w, v.shape[-1])
    pad_k = torch.cat([torch.zeros_like(kb[:, :, :1]), kb[:, :, :-1]], dim=2)
    pad_v = torch.cat([torch.zeros_like(vb[:, :, :1]), vb[:, :, :-1]], dim=2)
    keys = torch.cat([pad_k, kb], dim=3)          # [b,h,blocks,2w,dk]
    values = torch.cat([pad_v, vb], dim=3)
    s = torch.einsum("bhnqd,bhnkd->bhnqk", qb, keys) * scale
    r = torch.arange(w).view(w, 1)
    m = torch.arange(2 * w).view(1, 2 * w)
    band = (m >= r) & (m <= r + w)                 # key j of query r: positions r-w .. r
    first = torch.zeros(blocks, 1, 1, dtype=torch.bool)
    first[0] = True
    mask = band & ~(first & (m < w))               # the first block has no previous block
    s = s.masked_fill(~mask, float("-inf"))
    return torch.einsum("bhnqk,bhnke->bhnqe", torch.softmax(s, dim=-1), values).reshape(b, h, n, -1)


def attention_decode_step(q, keys, values, length):
    """One query against the first `length` cached keys (a preallocated KV cache)."""
    s = torch.matmul(q.unsqueeze(-2), keys[:, :, :length].transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    return torch.matmul(torch.softmax(s, dim=-1), values[:, :, :length]).squeeze(-2)


# ------------------------------------------------------------------ the 360M-shaped stack

class Stack360m:
    """The released based-360m layout with random weights; decode only (state per layer)."""

    D = 1024
    LAYERS = 27
    LA = {1, 6, 11, 16, 21}
    SWA = {2, 7, 12, 17, 22}
    VOCAB = 50264
    HIDDEN = 2048

    def __init__(self, batch):
        g = torch.Generator().manual_seed(0)
        d = self.D
        self.batch = batch

        def w(*shape):
            return torch.randn(*shape, generator=g) * (1.0 / math.sqrt(shape[-1]))

        self.embedding = torch.randn(self.VOCAB, d, generator=g)
        self.final_norm = torch.ones(d)
        self.layers = []
        for i in range(self.LAYERS):
            layer = {"norm1": torch.ones(d), "norm2": torch.ones(d), "fc1": w(2 * self.HIDDEN, d),
                     "fc2": w(d, self.HIDDEN)}
            if i in self.LA:
                layer.update(kind="la", q=w(H * F, d), k=w(H * F, d), v=w(d, d), o=w(d, d),
                             kv=torch.zeros(batch, H, HEAD_DIM, 1 + F + F * F), z=torch.zeros(batch, H, 1 + F + F * F))
            elif i in self.SWA:
                layer.update(kind="swa", qkv=w(3 * d, d), o=w(d, d),
                             keys=torch.zeros(batch, H, LOOKBACK + 1, HEAD_DIM),
                             values=torch.zeros(batch, H, LOOKBACK + 1, HEAD_DIM))
            else:
                layer.update(kind="conv", inp=w(4 * d, d), inb=torch.zeros(4 * d), conv=w(2 * d, 3),
                             out=w(d, 2 * d), outb=torch.zeros(d), state=torch.zeros(batch, 2 * d, 3))
            self.layers.append(layer)
        self.position = 0
        half = HEAD_DIM // 2
        self.inv_freq = 1.0 / (10000.0 ** (torch.arange(half, dtype=torch.float32) * 2 / HEAD_DIM))

    @staticmethod
    def rms(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * weight

    def rotary(self, x, p):
        half = HEAD_DIM // 2
        ang = p * self.inv_freq
        cos, sin = torch.cos(ang), torch.sin(ang)
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)

    def decode(self, ids):
        bsz = self.batch
        x = self.embedding[ids]                                   # [B, D]
        residual = x
        p = self.position
        for layer in self.layers:
            h = self.rms(residual, layer["norm1"])
            kind = layer["kind"]
            if kind == "la":
                q = (h @ layer["q"].T).view(bsz, H, F)
                k = (h @ layer["k"].T).view(bsz, H, F)
                v = (h @ layer["v"].T).view(bsz, H, HEAD_DIM)
                y = linear_decode_step(q, k, v, layer["kv"], layer["z"]).reshape(bsz, -1) @ layer["o"].T
            elif kind == "swa":
                qkv = h @ layer["qkv"].T
                q, k, v = (t.view(bsz, H, HEAD_DIM) for t in qkv.split(self.D, dim=-1))
                q, k = self.rotary(q, p), self.rotary(k, p)
                slot = p % (LOOKBACK + 1)
                layer["keys"][:, :, slot] = k
                layer["values"][:, :, slot] = v
                n = min(p + 1, LOOKBACK + 1)
                y = attention_decode_step(q, layer["keys"], layer["values"], n).reshape(bsz, -1) @ layer["o"].T
            else:
                u = h @ layer["inp"].T + layer["inb"]
                u1, u2 = u[:, :2 * self.D], u[:, 2 * self.D:]
                st = layer["state"]
                st[:] = torch.roll(st, -1, dims=-1)
                st[:, :, -1] = u1
                c = (st * layer["conv"]).sum(-1)
                y = (torch.nn.functional.silu(c) * u2) @ layer["out"].T + layer["outb"]
            residual = residual + y
            h = self.rms(residual, layer["norm2"])
            a, g = (h @ layer["fc1"].T).split(self.HIDDEN, dim=-1)
            residual = residual + (a * torch.nn.functional.silu(g)) @ layer["fc2"].T
        self.position += 1
        return self.rms(residual, self.final_norm) @ self.embedding.T  # logits [B, vocab]


# ------------------------------------------------------------------ timing

def median_seconds(fn, min_time, max_runs=50):
    fn()  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def best_over_threads(fn, threads, min_time):
    best = None
    for t in threads:
        torch.set_num_threads(t)
        s = median_seconds(fn, min_time)
        if best is None or s < best[0]:
            best = (s, t)
    return best


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ------------------------------------------------------------------ based4j's JMH results

def load_jmh(paths):
    """Maps (benchmark simple name, frozen params without threads) to the best tokens/s over `threads`."""
    results = []
    for path in paths:
        with open(path) as fh:
            results.extend(json.load(fh))
    best = {}
    for r in results:
        name = r["benchmark"].rsplit(".", 2)
        name = name[-2] + "." + name[-1]
        params = {k: v for k, v in (r.get("params") or {}).items() if k not in ("threads", "backend")}
        tokens = r.get("secondaryMetrics", {}).get("tokens", {}).get("score")
        if tokens is None:
            continue
        key = (name, tuple(sorted(params.items())))
        best[key] = max(best.get(key, 0.0), tokens)
    return best


def jmh_lookup(jmh, name, **params):
    if jmh is None:
        return None
    want = {k: str(v) for k, v in params.items()}
    best = None
    for (n, ps), tokens in jmh.items():
        d = dict(ps)
        if n == name and all(d.get(k) == v for k, v in want.items()):
            best = tokens if best is None else max(best, tokens)  # the best over parameters not named (chunk)
    return best


# ------------------------------------------------------------------ self-check

def self_check():
    """The forms agree with each other on small inputs (float64): chunked = quadratic = token-by-token decode, and
    the banded window = a dense masked window. Guards the figures above against timing a wrong computation."""
    torch.set_default_dtype(torch.float64)
    try:
        b, n = 2, 128
        q, k, v = rand(b, H, n, F, seed=1), rand(b, H, n, F, seed=2), rand(b, H, n, DV, seed=3)
        quad = linear_quadratic(q, k, v)
        chunk = linear_chunked(q, k, v, chunk=32)
        kv = torch.zeros(b, H, DV, 1 + F + F * F)
        z = torch.zeros(b, H, 1 + F + F * F)
        rec = torch.stack([linear_decode_step(q[:, :, t], k[:, :, t], v[:, :, t], kv, z) for t in range(n)], dim=2)
        qw, kw, vw = rand(b, H, n, HEAD_DIM, seed=4), rand(b, H, n, HEAD_DIM, seed=5), rand(b, H, n, HEAD_DIM, seed=6)
        s = torch.einsum("bhnd,bhmd->bhnm", qw, kw) * HEAD_DIM ** -0.5
        i = torch.arange(n).view(n, 1)
        j = torch.arange(n).view(1, n)
        s = s.masked_fill(~((j <= i) & (j >= i - LOOKBACK)), float("-inf"))
        dense = torch.softmax(s, -1) @ vw
        errors = {"chunked vs quadratic": (chunk - quad).abs().max().item(),
                  "decode vs quadratic": (rec - quad).abs().max().item(),
                  "banded vs dense window": (window_banded(qw, kw, vw) - dense).abs().max().item()}
    finally:
        torch.set_default_dtype(torch.float32)
    for what, err in errors.items():
        print(f"check {what}: max abs difference {err:.2e}")
        if err > 1e-9:
            raise SystemExit(f"self-check failed: {what} differs by {err}")


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jmh", nargs="+", help="JMH JSON result files of based4j's benchmarks, for the ratios")
    ap.add_argument("--threads", default="1,2", help="torch thread counts to try (best kept), default 1,2")
    ap.add_argument("--quick", action="store_true", help="shorter runs, fewer shapes")
    ap.add_argument("--skip-stack", action="store_true", help="leave out the 360M-shaped stack (1.5 GB of weights)")
    ap.add_argument("--contexts", default="1024,4096,16384",
                    help="full-attention decode contexts, default 1024,4096,16384 (add 32768 if memory allows)")
    ap.add_argument("--json", help="write the rows here as JSON")
    ap.add_argument("--check", action="store_true", help="only check that the torch forms agree, then exit")
    args = ap.parse_args()
    if args.check:
        self_check()
        return
    threads = [int(t) for t in args.threads.split(",")]
    min_time = 0.3 if args.quick else 1.0
    jmh = load_jmh(args.jmh) if args.jmh else None
    torch.set_grad_enabled(False)
    print(f"torch {torch.__version__}, threads tried {threads}, load average {os.getloadavg()[0]:.2f}")
    self_check()

    # the BLAS check
    torch.set_num_threads(max(threads))
    a, b = rand(2048, 2048, seed=1), rand(2048, 2048, seed=2)
    s = median_seconds(lambda: torch.mm(a, b), min_time)
    mm = 2 * 2048 ** 3 / s / 1e9
    print(f"matmul 2048x2048 ({max(threads)} threads): {mm:.1f} GFLOP/s")
    if mm < 30:
        print("WARNING: this is the reference BLAS speed; install libopenblas0-openmp (see the docstring)",
              file=sys.stderr)

    rows = []

    def row(what, tokens_per_s, threads_used, jmh_tokens, per_token_note=""):
        ratio = jmh_tokens / tokens_per_s if jmh_tokens else None
        rows.append({"what": what, "torch_tokens_per_s": tokens_per_s, "torch_threads": threads_used,
                     "based4j_tokens_per_s": jmh_tokens, "ratio": ratio})
        ours = f"{jmh_tokens:14,.0f}" if jmh_tokens else f"{'-':>14}"
        rt = f"{ratio:7.2f}x" if ratio else f"{'-':>8}"
        print(f"{what:<46} {tokens_per_s:14,.0f} {threads_used:3d}  {ours} {rt}  {per_token_note}", flush=True)

    print(f"{'':<46} {'torch tok/s':>14} {'thr':>3}  {'based4j tok/s':>14} {'ratio':>8}")

    batches = [1, 8]
    seqs = [512, 2048] if args.quick else [512, 2048, 8192]
    for bsz in batches:
        for n in seqs:
            if bsz == 8 and n == 8192:
                continue  # about 6 GB of intermediates in torch
            q, k, v = rand(bsz, H, n, F, seed=3), rand(bsz, H, n, F, seed=4), rand(bsz, H, n, DV, seed=5)
            s, t = best_over_threads(lambda: linear_chunked(q, k, v), threads, min_time)
            row(f"linear attention prefill chunked B={bsz} N={n}", bsz * n / s, t,
                jmh_lookup(jmh, "LinearAttentionPrefillBenchmark.prefill", batch=bsz, seq=n, algorithm="CHUNKED"))
            if n <= 2048:
                s, t = best_over_threads(lambda: linear_quadratic(q, k, v), threads, min_time)
                row(f"linear attention prefill quadratic B={bsz} N={n}", bsz * n / s, t,
                    jmh_lookup(jmh, "LinearAttentionPrefillBenchmark.prefill", batch=bsz, seq=n,
                               algorithm="QUADRATIC"))

    for bsz in batches:
        q, k, v = rand(bsz, H, F, seed=6), rand(bsz, H, F, seed=7), rand(bsz, H, DV, seed=8)
        kv = torch.zeros(bsz, H, DV, 1 + F + F * F)
        z = torch.zeros(bsz, H, 1 + F + F * F)
        s, t = best_over_threads(lambda: linear_decode_step(q, k, v, kv, z), threads, min_time)
        row(f"linear attention decode B={bsz}", bsz / s, t,
            jmh_lookup(jmh, "LinearAttentionDecodeBenchmark.decode", batch=bsz),
            f"{s / bsz * 1e6:.1f} us per layer-token")

    for bsz in batches:
        for n in seqs:
            q, k, v = (rand(bsz, H, n, HEAD_DIM, seed=9 + i) for i in range(3))
            s, t = best_over_threads(lambda: window_banded(q, k, v), threads, min_time)
            row(f"sliding window prefill banded B={bsz} N={n}", bsz * n / s, t,
                jmh_lookup(jmh, "SlidingWindowPrefillBenchmark.prefill", batch=bsz, seq=n))

    for bsz in batches:
        q = rand(bsz, H, HEAD_DIM, seed=12)
        keys, values = rand(bsz, H, LOOKBACK + 1, HEAD_DIM, seed=13), rand(bsz, H, LOOKBACK + 1, HEAD_DIM, seed=14)
        s, t = best_over_threads(lambda: attention_decode_step(q, keys, values, LOOKBACK + 1), threads, min_time)
        row(f"sliding window decode B={bsz}", bsz / s, t,
            jmh_lookup(jmh, "SlidingWindowDecodeBenchmark.decode", batch=bsz))

    for bsz in batches:
        for ctx in [int(c) for c in args.contexts.split(",")]:
            if bsz == 8 and ctx > 16384:
                continue
            q = rand(bsz, H, HEAD_DIM, seed=15)
            keys, values = rand(bsz, H, ctx + 1, HEAD_DIM, seed=16), rand(bsz, H, ctx + 1, HEAD_DIM, seed=17)
            s, t = best_over_threads(lambda: attention_decode_step(q, keys, values, ctx + 1), threads, min_time)
            row(f"full attention decode B={bsz} context={ctx}", bsz / s, t,
                jmh_lookup(jmh, "FullAttentionDecodeBenchmark.decode", batch=bsz, context=ctx),
                f"{s * 1e3:.2f} ms per step")
            del keys, values

    if not args.skip_stack:
        for bsz in batches:
            stack = Stack360m(bsz)
            ids = torch.randint(0, Stack360m.VOCAB, (bsz,), generator=torch.Generator().manual_seed(18))
            for _ in range(16):
                stack.decode(ids)  # a short prompt, token by token
            s, t = best_over_threads(lambda: stack.decode(ids), threads, min_time)
            row(f"360M-shaped stack decode B={bsz}", bsz / s, t,
                jmh_lookup(jmh, "Stack360mDecodeBenchmark.decode", batch=bsz),
                f"{s * 1e3:.1f} ms per step")
            del stack

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"torch": torch.__version__, "matmul_2048_gflops": mm, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
