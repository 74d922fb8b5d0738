#!/usr/bin/env python3
"""The same math as the CUDA backend's timings, in PyTorch on the same GPU, as the side-by-side anchor.

Times (CUDA events, median after warm-up): device-to-device copy bandwidth, pageable host-to-device copy, the
FP32 matrix product (TF32 off, as the backend's f32 tolerance needs) and the bf16 one for reference, BASED
linear-attention prefill at B=8, H=16, N=8192, f=16, dv=64 in the chunked form with the Taylor feature map
(features materialised, 64-token chunks, states summed across chunks), and the decode step at batch 1, 64, 256.
The prefill output is checked against a float64 evaluation on a slice, so the anchor computes the same function.

Given the backend's results (CudaTimings' properties file), prints and writes a markdown table with the ratios.
Usage: torch_reference.py [cuda-results.properties] [output.md]
"""
import math
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DEV = "cuda"
H, F, DV = 16, 16, 64


def median_ms(fn, warmup=2, reps=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def taylor(x):
    """[1, x/f^¼, (x⊗x)/(√2·√f)], the full row-major outer product (based-math.md a)."""
    f = x.shape[-1]
    ones = torch.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)
    quad = (x.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2) / (math.sqrt(2.0) * math.sqrt(f))
    return torch.cat([ones, x / f ** 0.25, quad], dim=-1)


def chunked_prefill(q, k, v, chunk=64, eps=1e-12):
    """Causal linear attention from a zero state in chunks: inter-chunk through the summed states of the earlier
    chunks, intra-chunk through the masked 1 + s + s²/2 products (the Taylor identity)."""
    b, h, n, f = q.shape
    nc = n // chunk
    phq = taylor(q).view(b, h, nc, chunk, -1)
    phk = taylor(k).view(b, h, nc, chunk, -1)
    vc = v.view(b, h, nc, chunk, -1)
    kv = phk.transpose(-1, -2) @ vc                      # [b,h,nc,D,dv] per-chunk φ(k)ᵀv
    z = phk.sum(-2)                                       # [b,h,nc,D]
    kv_before = kv.cumsum(2) - kv                          # exclusive prefix over chunks
    z_before = z.cumsum(2) - z
    num = phq @ kv_before                                  # [b,h,nc,C,dv]
    den = (phq * z_before.unsqueeze(-2)).sum(-1)           # [b,h,nc,C]
    s = (q.view(b, h, nc, chunk, f) @ k.view(b, h, nc, chunk, f).transpose(-1, -2)) / math.sqrt(f)
    a = (1 + s + 0.5 * s * s).tril()
    num = num + a @ vc
    den = den + a.sum(-1)
    return (num / (den.unsqueeze(-1) + eps)).view(b, h, n, -1)


def reference_f64(q, k, v, eps=1e-12):
    """Plain quadratic form in float64 on a small slice, for the correctness check."""
    phq, phk = taylor(q.double()), taylor(k.double())
    a = (phq @ phk.transpose(-1, -2)).tril()
    return (a @ v.double()) / (a.sum(-1, keepdim=True) + eps)


def decode_step(kv, z, q, k, v, eps=1e-12):
    """One token for every head of every sequence: update first, then read out (based-math.md b)."""
    phq, phk = taylor(q), taylor(k)                       # [b,h,D]
    kv += v.unsqueeze(-1) * phk.unsqueeze(-2)             # [b,h,dv,D]
    z += phk
    num = (kv * phq.unsqueeze(-2)).sum(-1)
    den = (z * phq).sum(-1, keepdim=True) + eps
    return num / den


def main():
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}

    # copy bandwidth: bytes read plus bytes written
    x = torch.empty(1 << 29, dtype=torch.float32, device=DEV)
    y = torch.empty_like(x)
    ms = median_ms(lambda: y.copy_(x), 3, 10)
    results["copy.d2d.gb_per_s"] = 2 * x.numel() * 4 / (ms * 1e6)
    del x, y
    host = torch.ones(1 << 28, dtype=torch.float32)
    dst = torch.empty(1 << 28, dtype=torch.float32, device=DEV)
    ms = median_ms(lambda: dst.copy_(host, non_blocking=False), 1, 5)
    results["copy.h2d_pageable.gb_per_s"] = host.numel() * 4 / (ms * 1e6)
    del host, dst

    # matrix products
    m, n, kk = 8192, 4096, 4096
    a = torch.randn(m, kk, device=DEV)
    w = torch.randn(n, kk, device=DEV) * 0.02
    ms = median_ms(lambda: a @ w.t(), 2, 5)
    results["matmul.f32.ms"] = ms
    results["matmul.f32.tflops"] = 2 * m * n * kk / (ms * 1e9)
    a16, w16 = a.bfloat16(), w.bfloat16()
    ms = median_ms(lambda: a16 @ w16.t(), 2, 5)
    results["matmul.bf16.tflops"] = 2 * m * n * kk / (ms * 1e9)
    del a, w, a16, w16

    # prefill B=8, H=16, N=8192, f=16, dv=64
    b, n = 8, 8192
    q = torch.rand(b, H, n, F, device=DEV) * 2 - 1
    k = torch.rand(b, H, n, F, device=DEV) * 2 - 1
    v = torch.rand(b, H, n, DV, device=DEV) * 2 - 1
    out = chunked_prefill(q, k, v)
    ref = reference_f64(q[:1, :2, :512], k[:1, :2, :512], v[:1, :2, :512])
    err = (out[:1, :2, :512].double() - ref).abs().max().item() / max(1.0, ref.abs().max().item())
    results["prefill.linear.check_rel_err"] = err
    ms = median_ms(lambda: chunked_prefill(q, k, v), 2, 5)
    results["prefill.linear.ms"] = ms
    results["prefill.linear.mtokens_per_s"] = b * n / (ms * 1e3)
    del q, k, v, out

    # decode
    d = 1 + F + F * F
    for batch in (1, 64, 256):
        kv = torch.zeros(batch, H, DV, d, device=DEV)
        z = torch.zeros(batch, H, d, device=DEV)
        q = torch.rand(batch, H, F, device=DEV) - 0.5
        k = torch.rand(batch, H, F, device=DEV) - 0.5
        v = torch.rand(batch, H, DV, device=DEV) - 0.5
        ms = median_ms(lambda: decode_step(kv, z, q, k, v), 5, 30)
        results[f"decode.linear.b{batch}.us"] = ms * 1e3
        results[f"decode.linear.b{batch}.state_gb_per_s"] = 2 * (kv.numel() + z.numel()) * 4 / (ms * 1e6)
        del kv, z

    for key, value in results.items():
        print(f"torch {key} = {value:.4f}" if isinstance(value, float) else f"torch {key} = {value}")
    if len(sys.argv) > 1:
        compare(results, sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)


def read_properties(path):
    values = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def compare(torch_results, cuda_path, md_path):
    cuda = read_properties(cuda_path)

    def num(key):
        try:
            return float(cuda[key])
        except (KeyError, ValueError):
            return float("nan")

    bw = torch_results["copy.d2d.gb_per_s"]
    rows = [
        ("device-to-device copy (GB/s, read+write)", num("copy.d2d.gb_per_s"), bw, "higher"),
        ("host-to-device copy, pageable (GB/s)", num("copy.h2d_pageable.gb_per_s"),
         torch_results["copy.h2d_pageable.gb_per_s"], "higher"),
        ("f32 matmul 8192x4096x4096 (TFLOP/s)", num("matmul.f32.tflops"), torch_results["matmul.f32.tflops"], "higher"),
        ("prefill B8 H16 N8192 f16 dv64, chunked (ms)", num("prefill.linear.chunked.ms"),
         torch_results["prefill.linear.ms"], "lower"),
        ("prefill, backend's choice (ms)", num("prefill.linear.auto.ms"), torch_results["prefill.linear.ms"], "lower"),
    ]
    for batch in (1, 64, 256):
        rows.append((f"decode step, batch {batch} (us)", num(f"decode.linear.b{batch}.us"),
                     torch_results[f"decode.linear.b{batch}.us"], "lower"))
    lines = [
        f"GPU: {torch_results['device']}; torch {torch_results['torch']}; backend: {cuda.get('device', '?')}",
        "",
        "| measurement | based4j cuda | PyTorch | based4j / PyTorch |",
        "|---|---|---|---|",
    ]
    for name, ours, theirs, better in rows:
        ratio = ours / theirs if theirs else float("nan")
        if math.isnan(ratio):
            lines.append(f"| {name} | {ours:.3f} | {theirs:.3f} | n/a |")
            continue
        note = "faster" if (ratio < 1) == (better == "lower") else "slower"
        lines.append(f"| {name} | {ours:.3f} | {theirs:.3f} | {ratio:.2f} ({note}) |")
    lines.append("")
    lines.append(f"Measured copy bandwidth (PyTorch, read+write): {bw:.0f} GB/s; bf16 matmul "
                 f"{torch_results['matmul.bf16.tflops']:.0f} TFLOP/s, f32 {torch_results['matmul.f32.tflops']:.1f}.")
    for batch in (1, 64, 256):
        g = num(f"decode.linear.b{batch}.state_gb_per_s")
        lines.append(f"- decode batch {batch}: state moved at {g:.0f} GB/s = {100 * g / bw:.0f}% of the measured copy "
                     f"bandwidth (target at batch >= 64: 50%)")
    lines.append(f"- prefill target (faster than PyTorch): based4j {num('prefill.linear.auto.ms'):.2f} ms vs "
                 f"PyTorch {torch_results['prefill.linear.ms']:.2f} ms (PyTorch's own check vs float64: "
                 f"{torch_results['prefill.linear.check_rel_err']:.1e})")
    for key in sorted(cuda):
        if key.startswith("stack360m") or key.startswith("prefill.window") or key.startswith("prefill.fused") \
                or key.startswith("decode.window") or key == "matmul.f32.ms":
            lines.append(f"- {key} = {cuda[key]}")
    text = "\n".join(lines)
    print(text)
    if md_path:
        with open(md_path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
