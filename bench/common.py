"""Small helpers shared by the benchmarks: percentiles and a uniform report line."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def describe(name: str, samples_s: Sequence[float]) -> dict[str, float]:
    figures = {
        "median_ms": statistics.median(samples_s) * 1000,
        "p99_ms": percentile(samples_s, 0.99) * 1000,
        "n": float(len(samples_s)),
    }
    print(f"  {name:<44} median {figures['median_ms']:8.3f} ms   p99 {figures['p99_ms']:8.3f} ms"
          f"   (n={len(samples_s)})")
    return figures


def ratio(label: str, value: float, floor: float, target: float | None = None) -> float:
    r = value / floor if floor else float("inf")
    verdict = "" if target is None else ("  OK" if r <= target else f"  ABOVE TARGET {target}×")
    print(f"  {label:<44} {r:6.2f}×{verdict}")
    return r
