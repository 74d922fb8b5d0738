#!/usr/bin/env python3
"""Prints JMH JSON results of based4j's benchmarks as one Markdown table.

    python3 benchmarks/jmh_table.py jmh-results/*.json

Columns: benchmark, its parameters (backend and the shape parameters that every run shares left out), time per
operation, and the auxiliary counters of dev.based4j.benchmarks.Rates: tokens/s, GFLOP/s (273-dim count) and GB/s
(0 = not counted). The figure after +- is JMH's 99.9 % confidence half-width of the primary score, in percent.
"""

import json
import sys

SHARED = {"backend", "heads", "featureDim", "valueDim", "keyDim", "headDim", "in", "out", "channels",
          "kernelSize", "elements", "windowSize"}


def fmt(x, digits=1):
    if x is None or x == 0:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def main(paths):
    rows = []
    for path in paths:
        with open(path) as fh:
            rows.extend(json.load(fh))
    print("| benchmark | parameters | time/op | tokens/s | GFLOP/s | GB/s | +- |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        name = ".".join(r["benchmark"].rsplit(".", 2)[-2:]).replace("Benchmark", "")
        params = " ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items() if k not in SHARED)
        ops = r["primaryMetric"]["score"]
        err = r["primaryMetric"].get("scoreError")
        sec = r.get("secondaryMetrics", {})
        per_op = 1.0 / ops if ops else float("nan")
        if per_op >= 1:
            t = f"{per_op:.2f} s"
        elif per_op >= 1e-3:
            t = f"{per_op * 1e3:.2f} ms"
        else:
            t = f"{per_op * 1e6:.1f} us"
        pct = f"{100 * err / ops:.0f} %" if err and ops and err == err else "-"
        print(f"| {name} | {params} | {t} | {fmt(sec.get('tokens', {}).get('score'))} | "
              f"{fmt(sec.get('gflop', {}).get('score'), 2)} | {fmt(sec.get('gbyte', {}).get('score'), 2)} | {pct} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
