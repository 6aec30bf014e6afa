"""What the control plane counts of its finished calls, for Prometheus (a collector).

Rules: counters and histograms count the calls finished since this process started
(Prometheus handles restarts); each scrape reads them as they are (collect()), nothing
is kept twice. Names start with ivr112_; every outcome and verdict the core names is
exported from the start at 0 (a rate over a label that has not yet occurred is 0, not
missing), and any other stored name as it comes; label values are the stored names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ivr.adapters.call_store import first_at
from ivr.core.outcomes import Outcome
from ivr.core.screening import Verdict

ANSWER_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0)
SCREENING_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class Histogram:
    """Cumulative bucket counts (counts[i]: observations <= buckets[i]), their sum and number."""

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

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation)
        buckets = [(f"{b:g}", float(c)) for b, c in zip(self.buckets, self.counts, strict=True)]
        family.add_metric([], [*buckets, ("+Inf", float(self.n))], self.total)
        return family


def answer_buckets(service_levels: tuple[float, ...] = ()) -> tuple[float, ...]:
    """The answer-time buckets, with each service-level tier's seconds among the bounds (so
    Prometheus computes the same share the wallboard shows)."""
    return tuple(sorted({*ANSWER_BUCKETS, *service_levels}))


def _counter(name: str, documentation: str, label: str, known: list[str], counts: Counter[str]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value in sorted({*known, *counts}):
        family.add_metric([value], counts[value])
    return family


@dataclass(eq=False)  # a registry holds it by identity
class Metrics(Collector):
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

    def collect(self) -> Iterator[Metric]:
        """The counts as Prometheus families (the registry calls this at each scrape)."""
        yield _counter(
            "ivr112_calls",
            "Calls finished, by outcome.",
            "outcome",
            [o.value for o in Outcome],
            self.outcomes,
        )
        yield _counter(
            "ivr112_screening_verdicts",
            "Finished calls by screening verdict.",
            "verdict",
            [v.value for v in Verdict],
            self.verdicts,
        )
        yield self.answer_seconds.family(
            "ivr112_answer_seconds", "Seconds from the caller's INVITE to a call taker answering."
        )
        yield self.screening_seconds.family(
            "ivr112_screening_latency_seconds",
            "Seconds from the end of the greeting to the screening verdict.",
        )
