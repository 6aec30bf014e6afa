"""The one door from HTTP into the running centre: what the API and the dashboard read,
and what they ask of it.

Rules:
- HTTP modules reach the live centre only through Centre (never the engine): reads give
  the core's own immutable values (Call, Callback, Taker, Waiting) or plain data, taken
  from memory at once; requests are events for the core, which decides (the HTTP module
  only refuses what cannot be asked: an unknown call, a call in the wrong phase).
- The recording is the one read that goes to Asterisk (AriError / AriUnavailable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ivr.adapters.archive import Archive
from ivr.adapters.event_feed import EventFeed
from ivr.config.schema import CentreConfig
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.acd.model import Taker, Waiting
from ivr.core.call_state import Call
from ivr.core.callback import Callback
from ivr.core.health import Part


class AlarmKind(StrEnum):
    """What an alarm is about: a closed list (a metric label and an alert's selector)."""

    RECORDINGS = "recordings"  # the recordings folder is (nearly) full or unusable
    RECORDS_HELD = "records-held"  # Redis is away: call records held in memory
    AGENCY_CONTACT = "agency-contact"  # an agency phone's registered contact changed or went
    ASTERISK_NODE = "asterisk-node"  # one Asterisk node of several is unreachable
    SIP_EDGE = "sip-edge"  # one SIP edge of several does not answer
    SERVICE_LEVEL = "service-level"  # a service-level tier below its target past the alarm time


@dataclass(frozen=True)
class Alarm:
    """Something a supervisor must act on: its kind, a sentence, when it began if known."""

    kind: AlarmKind
    text: str
    at: float | None = None


class Centre(Protocol):
    @property
    def config(self) -> CentreConfig: ...

    @property
    def archive(self) -> Archive | None: ...

    def ari_connected(self) -> bool: ...

    def ari_nodes(self) -> dict[str, bool]:
        """Several Asterisk nodes: each one's events stream up or not; one Asterisk: empty."""
        ...

    def sip_edges(self) -> dict[str, bool]:
        """Several SIP edges: each one answering or not; one edge or none: empty."""
        ...

    def role(self) -> str:
        """active, or standby (another control plane holds the leader's lease)."""
        ...

    def alarms(self) -> list[Alarm]: ...

    def health_parts(self) -> list[Part]:
        """Each part's state (Asterisk, AMI, Redis, archive, recordings, screening)."""
        ...

    def calls(self) -> Mapping[str, Call]:
        """Live calls by call id."""
        ...

    def callbacks(self) -> Mapping[str, Callback]:
        """Callbacks in progress by the callback's id."""
        ...

    def takers(self) -> Mapping[str, Taker]: ...

    def events(self) -> EventFeed:
        """The calls' events for other systems (GET /api/v1/events)."""
        ...

    def waiting(self) -> Sequence[Waiting]:
        """Waiting callers, best placed first."""
        ...

    def score(self, caller: Waiting, now: float) -> float: ...

    def phone(self, endpoint: str) -> dict[str, Any] | None:
        """The phone's contact status (PJSIP, via AMI), when known."""
        ...

    def screening(self) -> dict[str, object]:
        """What screening holds right now ({"running": False} without a screener)."""
        ...

    def service_level(self) -> list[dict[str, Any]]:
        """Each service-level tier over the window: share, target, standing (met, below, alarm)."""
        ...

    def screenings_running(self) -> int:
        """Calls whose speech detection is listening."""
        ...

    def finished_calls(self) -> int:
        """Calls finished since the start (a change means new figures)."""
        ...

    def metrics(self) -> bytes:
        """The Prometheus text exposition (format 0.0.4) of this control plane, read now."""
        ...

    def post(self, call_id: str, event: ev.CallEvent) -> None:
        """An event for a live call (the caller checked that it is live)."""
        ...

    def to_acd(self, event: acd.AcdEvent) -> None: ...

    def start_callback(
        self, called_back: str, attempt: int, number: str, taker_id: str, by: str, withheld: bool
    ) -> str:
        """Calls an abandoned caller back with a free call taker; the callback's id."""
        ...

    async def recording(self, call_id: str) -> bytes: ...

    async def archive_again(self, call_id: str) -> None:
        """The call's record changed after it ended (a disposition, its incident): archive it again."""
        ...
