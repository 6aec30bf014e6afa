"""The engine seen through HTTP's one door (ivr.adapters.http.centre.Centre).

Rules: a read-through view, holding nothing of its own: every read is the centre's state
at that moment (frozen: a request's view cannot change under it), or the service-level
monitor's last measurement; every request is an event for the centre, which decides.
Nothing here decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prometheus_client import generate_latest

from ivr.adapters.archive import Archive
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.http.centre import Alarm, AlarmKind
from ivr.adapters.log_hygiene import withheld_numbers
from ivr.config.schema import CentreConfig
from ivr.core import events as ev
from ivr.core import ids, privacy
from ivr.core.acd import events as acd
from ivr.core.acd.model import Taker, Waiting
from ivr.core.call_state import Call
from ivr.core.callback import Callback
from ivr.core.centre_events import CallbackAsked
from ivr.core.health import Part
from ivr.engine.engine import Engine
from ivr.engine.health_parts import health_parts
from ivr.engine.live_metrics import metrics_registry
from ivr.engine.loop_lag import LoopLag
from ivr.engine.service_levels import ServiceLevelMonitor

log = logging.getLogger(__name__)


class CentreService:
    def __init__(
        self,
        engine: Engine,
        service_levels: ServiceLevelMonitor | None = None,
        nodes: Callable[[], dict[str, bool]] = dict,
        role: Callable[[], str] = lambda: "active",
        ami: Callable[[], dict[str, bool]] = dict,
        edges: Callable[[], dict[str, bool]] = dict,
        lag: LoopLag | None = None,
    ) -> None:
        self._engine = engine
        self._service_levels = service_levels
        self._nodes = nodes
        self.role = role
        self._ami = ami  # each AMI connection (name "" with one Asterisk): logged in or not
        self._edges = edges  # with several SIP edges: each one answering or not (else empty)
        self._registry = metrics_registry(engine, self, ami, lag)  # this control plane's own

    @property
    def config(self) -> CentreConfig:
        return self._engine.config

    @property
    def archive(self) -> Archive | None:
        return self._engine.archive

    def ari_connected(self) -> bool:
        return self._engine.ari_connected()

    def ari_nodes(self) -> dict[str, bool]:
        """With several Asterisk nodes: each one's events stream, up or not (else empty)."""
        return self._nodes()

    def sip_edges(self) -> dict[str, bool]:
        """With several SIP edges: each one answering the leader's probes or not (else empty)."""
        return self._edges() if self.role() == "active" else {}

    def alarms(self) -> list[Alarm]:
        engine = self._engine
        recorder = engine.recorder
        alarms = [Alarm(AlarmKind.RECORDINGS, recorder.alarm)] if recorder and recorder.alarm else []
        if engine.writes.failing:
            held = f"records held in memory ({engine.writes.held}): {engine.writes.failing}"
            alarms.append(Alarm(AlarmKind.RECORDS_HELD, held))
        alarms += [Alarm(AlarmKind.AGENCY_CONTACT, a.text, a.at) for a in engine.agency_contacts.alarms()]
        alarms += [
            Alarm(
                AlarmKind.ASTERISK_NODE, f"Asterisk node {name} unreachable: new calls go to the other nodes"
            )
            for name, up in self._nodes().items()
            if not up and self.role() == "active"  # a standby connects to no node
        ]
        alarms += [
            Alarm(AlarmKind.SIP_EDGE, f"SIP edge {edge} does not answer: calls go through the other edges")
            for edge, up in self.sip_edges().items()
            if not up
        ]
        if self._service_levels is not None:
            alarms += [Alarm(AlarmKind.SERVICE_LEVEL, text, at) for text, at in self._service_levels.alarms()]
        return alarms

    def health_parts(self) -> list[Part]:
        links = (self.ari_connected, self._nodes, self.role, self._ami, self.sip_edges)
        return health_parts(self._engine, *links)

    def service_level(self) -> list[dict[str, Any]]:
        return self._service_levels.view() if self._service_levels is not None else []

    def calls(self) -> Mapping[str, Call]:
        return self._engine.calls

    def callbacks(self) -> Mapping[str, Callback]:
        return self._engine.callbacks

    def takers(self) -> Mapping[str, Taker]:
        return self._engine.acd.takers

    def events(self) -> EventFeed:
        return self._engine.feed

    def waiting(self) -> Sequence[Waiting]:
        return self._engine.acd.waiting

    def score(self, caller: Waiting, now: float) -> float:
        return self._engine.acd.score(caller, now)

    def phone(self, endpoint: str) -> dict[str, Any] | None:
        return self._engine.phones.get(endpoint)

    def screening(self) -> dict[str, object]:
        screener = self._engine.screener
        return screener.status() if screener is not None else {"running": False}

    def screenings_running(self) -> int:
        screener = self._engine.screener
        return len(screener.sessions) if screener is not None else 0

    def finished_calls(self) -> int:
        return sum(self._engine.metrics.outcomes.values())

    def metrics(self) -> bytes:
        return generate_latest(self._registry)

    def post(self, call_id: str, event: ev.CallEvent) -> None:
        self._engine.post(call_id, event)

    def to_acd(self, event: acd.AcdEvent) -> None:
        self._engine.to_acd(event)

    def start_callback(
        self, called_back: str, attempt: int, number: str, taker_id: str, by: str, withheld: bool
    ) -> str:
        """Calls an abandoned caller back with this call taker (checked free by the caller);
        a withheld number stays withheld in the callback's record, caller ID and logs."""
        if withheld:
            withheld_numbers.add(number)
        callback_id = ids.callback_id(called_back, attempt)
        shown = privacy.shown(number, withheld)
        log.info("callback %s: calling %s back with %s (asked by %s)", callback_id, shown, taker_id, by)
        self._engine.deliver(CallbackAsked(called_back, attempt, number, taker_id, by, withheld))
        return callback_id

    async def recording(self, call_id: str) -> bytes:
        return await self._engine.ari.recording_file(call_id)

    async def archive_again(self, call_id: str) -> None:
        await self._engine.archive_again(call_id)
