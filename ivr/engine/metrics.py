"""Prometheus metrics of the running control plane, in the text exposition format.

Rules: counters and histograms count calls finished since this process started
(Prometheus handles restarts); gauges are read from the live state at each scrape.
Names start with ivr112_; label values are the stored names (outcomes, verdicts, states).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.adapters.call_store import first_at

ANSWER_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0)
SCREENING_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.n += 1
        self.total += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{b:g}"}} {c}' for b, c in zip(self.buckets, self.counts, strict=True)]
        return [
            *out,
            f'{name}_bucket{{le="+Inf"}} {self.n}',
            f"{name}_sum {self.total:.3f}",
            f"{name}_count {self.n}",
        ]


def answer_buckets(service_levels: tuple[float, ...] = ()) -> tuple[float, ...]:
    """The answer-time buckets, with each service-level tier's seconds among the bounds (so
    Prometheus computes the same share the wallboard shows)."""
    return tuple(sorted({*ANSWER_BUCKETS, *service_levels}))


@dataclass
class Metrics:
    outcomes: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    answer_seconds: Histogram = field(default_factory=lambda: Histogram(ANSWER_BUCKETS))
    screening_seconds: Histogram = field(default_factory=lambda: Histogram(SCREENING_BUCKETS))

    def call_finished(self, record: dict[str, Any]) -> None:
        """Count a finished call from its record (hash fields and timeline)."""
        timeline = record.get("timeline", [])

        def at(entry: str) -> float | None:
            return first_at(timeline, entry)

        self.outcomes[record.get("outcome", "unknown")] += 1
        if record.get("verdict"):
            self.verdicts[record["verdict"]] += 1
        arrived, answered = at("arrived"), at("taker-answered")
        if arrived is not None and answered is not None:
            self.answer_seconds.observe(answered - arrived)
        greeted = at("greeting-done") or at("greeting-timeout") or at("greeting-failed")
        screened = at("screened")
        if greeted is not None and screened is not None and screened >= greeted:
            self.screening_seconds.observe(screened - greeted)

    def render(self, gauges: Callable[[], dict[str, dict[str, float]]]) -> str:
        lines: list[str] = []
        for name, text, label, counts in (
            ("calls_total", "Calls finished, by outcome.", "outcome", self.outcomes),
            ("screening_verdicts_total", "Finished calls by screening verdict.", "verdict", self.verdicts),
        ):
            lines += [f"# HELP ivr112_{name} {text}", f"# TYPE ivr112_{name} counter"]
            lines += [f'ivr112_{name}{{{label}="{k}"}} {v}' for k, v in sorted(counts.items())]
        for name, text, histogram in (
            ("answer_seconds", "From the INVITE to a person answering.", self.answer_seconds),
            (
                "screening_latency_seconds",
                "From greeting end to the screening verdict.",
                self.screening_seconds,
            ),
        ):
            lines += [f"# HELP ivr112_{name} {text}", f"# TYPE ivr112_{name} histogram"]
            lines += histogram.lines(f"ivr112_{name}")
        for name, series in gauges().items():
            lines += [f"# TYPE ivr112_{name} gauge"]
            for labels, value in series.items():
                lines.append(f"ivr112_{name}{labels} {value:g}")
        return "\n".join(lines) + "\n"
