"""One percentile for every benchmark: interpolated between the samples (the inclusive
method), so it is never past the largest one measured; with few samples the exclusive
method would put a p99 beyond the worst call."""

from __future__ import annotations

import statistics


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (q in 1..99) of `samples`; nan when there are none."""
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]
