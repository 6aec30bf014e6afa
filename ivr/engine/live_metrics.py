"""The control plane's Prometheus registry: its counts, its live state and its process.

Rules:
- One registry per control plane (never the library's global one), so several can live
  in one process (tests); the live gauges are read at each scrape, from memory (the
  recordings folder's free space from the file system, as the recorder checks it),
  nothing is copied in between; no scrape awaits anything.
- A gauge over a closed list of label values (takers' states, priority levels, alarm
  kinds) has every value, 0 included, so a sum or an alert never meets a missing series;
  nothing stands for "nothing" (no level="none"): a figure not known now (a service
  level with no call in its window, a recordings folder that cannot be read) is absent.
- Label values are names from the configuration or the core, never free text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ivr.adapters.http.centre import AlarmKind, Centre
from ivr.core.acd.model import Activity, Declared, Taker
from ivr.engine.engine import Engine

# A taker's state on the wallboard: the activity while available, else the declared status.
TAKER_STATES = (*(a.value for a in Activity), Declared.PAUSED.value, Declared.LOGGED_OUT.value)
FORMER_TAKERS = "Former name of ivr112_takers, kept for one release."
WAITING = "Callers waiting in line for a call taker, by priority level."
TAKERS = "Call takers by state (activity while available, else paused or logged-out) and phone reachability."
SERVICE_LEVEL = "Share of the window's callers answered within the tier's seconds."
SERVICE_LEVEL_TARGET = "The tier's target share of callers answered within its seconds."
ARI = "1 while the events stream from Asterisk (ARI) is up (several nodes: from any of them), else 0."
ARI_NODE = "With several Asterisk nodes: 1 while that node's events stream is up, else 0."
ACTIVE = "1 while this control plane is the active one, 0 while it stands by."
AMI = "1 while the AMI connection is logged in, else 0 (node is empty with one Asterisk)."
ALARMS = "Alarms standing now, by kind (their sentences: /api/health)."


def taker_state(taker: Taker) -> str:
    return taker.activity.value if taker.declared is Declared.AVAILABLE else taker.declared.value


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _by(name: str, documentation: str, labels: list[str], values: Mapping[Any, float]) -> Metric:
    """A gauge with one sample per key (a tuple of label values), in label order."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


class LiveState(Collector):
    def __init__(self, engine: Engine, centre: Centre, ami: Callable[[], dict[str, bool]]) -> None:
        self._engine = engine
        self._centre = centre
        self._ami = ami

    def collect(self) -> Iterator[Metric]:
        yield from self._line()
        yield from self._links()
        centre = self._centre
        tiers = centre.service_level()
        shares = {(f"{t['within_seconds']:g}",): t["share"] for t in tiers if t["share"] is not None}
        targets = {(f"{t['within_seconds']:g}",): t["target"] for t in tiers}
        yield _by("ivr112_service_level", SERVICE_LEVEL, ["within"], shares)
        yield _by("ivr112_service_level_target", SERVICE_LEVEL_TARGET, ["within"], targets)
        yield _gauge("ivr112_calls_in_progress", "Calls this control plane handles now.", len(centre.calls()))
        running = centre.screenings_running()
        yield _gauge("ivr112_screenings_running", "Calls whose speech detection is listening now.", running)
        held = self._engine.writes.held
        yield _gauge(
            "ivr112_writes_held", "Writes to Redis (records, statuses) held in memory, not yet stored.", held
        )
        alarms: Counter[str] = Counter({kind.value: 0 for kind in AlarmKind})
        alarms.update(alarm.kind.value for alarm in centre.alarms())
        yield _by("ivr112_alarms", ALARMS, ["kind"], {(kind,): n for kind, n in alarms.items()})
        free = self._recordings_free()
        if free is not None:
            yield _gauge("ivr112_recordings_free_bytes", "Free space in the recordings folder.", free)

    def _line(self) -> Iterator[Metric]:
        """The waiting callers and the call takers."""
        levels: Counter[str] = Counter({name: 0 for name in self._engine.acd.policy.levels})
        levels.update(caller.level for caller in self._centre.waiting())
        yield _by("ivr112_waiting_callers", WAITING, ["level"], {(level,): n for level, n in levels.items()})
        takers: Counter[tuple[str, str]] = Counter(
            {(state, reach): 0 for state in TAKER_STATES for reach in ("true", "false")}
        )
        takers.update((taker_state(t), str(t.reachable).lower()) for t in self._centre.takers().values())
        yield _by("ivr112_takers", TAKERS, ["state", "reachable"], takers)
        yield _by("ivr112_agents", FORMER_TAKERS, ["state", "reachable"], takers)

    def _links(self) -> Iterator[Metric]:
        """Asterisk (ARI, each node's, AMI) and this control plane's role."""
        centre = self._centre
        yield _gauge("ivr112_ari_connected", ARI, 1.0 if centre.ari_connected() else 0.0)
        nodes = {(name,): float(up) for name, up in centre.ari_nodes().items()}
        yield _by("ivr112_ari_node_connected", ARI_NODE, ["node"], nodes)
        yield _gauge("ivr112_active", ACTIVE, 1.0 if centre.role() == "active" else 0.0)
        logins = {(name,): float(up) for name, up in self._ami().items()}
        yield _by("ivr112_ami_logged_in", AMI, ["node"], logins)

    def _recordings_free(self) -> float | None:
        recorder = self._engine.recorder
        try:
            free = recorder.free_bytes() if recorder is not None else None
        except OSError:
            return None  # the recordings alarm says why
        return None if free is None else float(free)


def metrics_registry(
    engine: Engine, centre: Centre, ami: Callable[[], dict[str, bool]], lag: Collector | None = None
) -> CollectorRegistry:
    """A registry of this control plane's own: counts, live state, the event loop's lag,
    process and Python."""
    registry = CollectorRegistry()
    registry.register(engine.metrics)
    registry.register(LiveState(engine, centre, ami))
    if lag is not None:
        registry.register(lag)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
