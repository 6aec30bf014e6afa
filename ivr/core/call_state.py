"""One call's data: its phases, the policy it runs under, its state, and the helpers
every transition uses to record the timeline and to end the call.

Rules: frozen dataclasses, changed only with dataclasses.replace in ivr.core.call;
end() is the only way to ENDED and always emits the 'ended' entry and FinishCall.
Keys pressed (the caller's DTMF, a call taker's unknown *codes) are listed on the
timeline up to KEYS_LISTED each; further ones are counted, the totals go on 'ended'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.acd import events as acd
from ivr.core.outcomes import Outcome
from ivr.core.privacy import WITHHELD as WITHHELD  # re-exported: the rule lives in privacy
from ivr.core.privacy import shown
from ivr.core.screening import ScreeningPolicy

GREETING_GUARD = "greeting-guard"
REASSURE = "reassure"
HANDOVER_LABEL = "handover"  # dialplan label (context emergency, extension 112)
# Keys listed one by one on a call's timeline (the caller's DTMF, a taker's unknown *codes);
# past it one entry says further keys are counted, and 'ended' carries the total.
KEYS_LISTED = 32


class Stage(StrEnum):
    """Where the call's screening stands; orthogonal to its phase."""

    OFF = "off"  # disabled, not started (adopted call) or could not start
    LISTENING = "listening"  # audio flows to the screener
    DECIDING = "deciding"  # asked for the features, waiting for the report
    SILENT_PROMPT = "silent-prompt"  # the press-55 prompt played, waiting for digits (still listening)
    RECHECKING = "rechecking"  # nobody answered the prompt: asked what was heard since the greeting
    BLOCKING = "blocking"  # a blocked number hears the warning; the call ends when it finishes
    DONE = "done"


class Phase(StrEnum):
    ANSWERING = "answering"
    GREETING = "greeting"
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WITH_AGENCY = "with_agency"  # the call taker left: caller and agencies stay connected
    ENDED = "ended"


class LegStatus(StrEnum):
    RINGING = "ringing"
    ANNOUNCING = "announcing"  # answered, hearing "112 Kendari, connecting a caller"
    JOINED = "joined"
    LEFT = "left"
    FAILED = "failed"  # no endpoint of the agency answered


LIVE_LEG = frozenset({LegStatus.RINGING, LegStatus.ANNOUNCING, LegStatus.JOINED})


@dataclass(frozen=True)
class AgencyLeg:
    agency: str
    channel_id: str
    endpoint_index: int  # which of the agency's endpoints this leg rings
    status: LegStatus = LegStatus.RINGING


@dataclass(frozen=True)
class AgencyPolicy:
    agency: str
    name: str
    endpoints: tuple[str, ...]
    ring_seconds: int = 20
    code: str = ""  # the digit a call taker presses after * to bring this agency in


@dataclass(frozen=True)
class CallPolicy:
    greeting_media: str = "sound:ivr112/greeting"
    greeting_guard_seconds: float = 30.0
    reassurance_media: str = "sound:ivr112/reassurance"
    reassure_every_seconds: float = 20.0
    ring_seconds: int = 15
    # An offer that ended sooner than this was refused (busy, unreachable), not missed.
    quick_failure_seconds: float = 2.0
    screening: ScreeningPolicy | None = None  # None: calls are queued unscreened
    agencies: tuple[AgencyPolicy, ...] = ()
    agency_announce_media: str = "sound:ivr112/agency-announce"
    agency_failed_media: str = "sound:ivr112/agency-unreachable"
    agency_legs_end_with_caller: bool = True  # False: joined agencies stay with the taker
    record_calls: bool = True


@dataclass(frozen=True)
class Call:
    call_id: str  # also the caller's channel id in Asterisk
    caller_number: str
    dialled: str
    phase: Phase
    policy: CallPolicy
    level: str = "normal"
    arrived_at: float = 0.0
    pinned: bool = False  # the level comes from a caller rule (a hospital, a police post)
    taker: str | None = None  # the taker offered or connected; None for an overflow target
    taker_channel: str | None = None
    overflow_target: str | None = None  # set while offered to / connected with the overflow target
    offers: int = 0
    offered_at: float = 0.0
    taker_ringing: bool = False  # the current offer's phone reported ringing
    answered_at: float | None = None  # when a person (a call taker, the overflow target) answered
    prompts: int = 0  # reassurance prompts played
    outcome: Outcome | None = None
    stage: Stage = Stage.OFF
    digits: str = ""  # DTMF the caller pressed before reaching a call taker
    verdict: str = ""  # the screening verdict, once there is one
    flags: frozenset[str] = frozenset()  # shown to the call taker (silent, silent-emergency, ...)
    cues: tuple[str, ...] = ()  # the screening's evidence so far (what was heard or known)
    screen_prompt: str | None = None  # playback id of a screening prompt that may still play
    report_due: float = 0.0  # when the verdict is due, once the greeting ended (0: not yet)
    agencies: tuple[AgencyLeg, ...] = ()
    agency_legs: int = 0  # agency legs originated so far (numbers the leg ids)
    taker_keys: str = ""  # the call taker's keys since their last '*'
    caller_gone: bool = False  # the caller hung up; taker and agencies stay (configured so)
    withheld: bool = False  # Privacy: id from the network: the number is not shown to call takers
    recorded: bool = False  # the dialplan records the call: nothing to start
    greeting_on: bool = False  # the greeting still plays (the caller may be offered meanwhile)
    dtmf_count: int = 0  # every key the caller pressed (listed or not)
    taker_unknown_count: int = 0  # the call taker's unknown *codes (listed or not)

    @property
    def person(self) -> str:
        """Who the call is offered to or connected with: the call taker, else the overflow target."""
        return self.taker or self.overflow_target or ""

    @property
    def shown_number(self) -> str:
        """The caller's number as call takers see it."""
        return shown(self.caller_number, self.withheld)

    def agency_policy(self, agency: str) -> AgencyPolicy | None:
        return next((a for a in self.policy.agencies if a.agency == agency), None)

    def live_legs(self) -> list[AgencyLeg]:
        return [leg for leg in self.agencies if leg.status in LIVE_LEG]

    @property
    def bridge_id(self) -> str:
        return ids.bridge_id(self.call_id)

    @property
    def reassurance_id(self) -> str:
        return f"{self.call_id}-reassure{self.prompts}"


Result = tuple[Call, list[cmd.Command]]
Handler = Callable[[Call, ev.CallEvent, float], Result]


@dataclass(frozen=True)
class Transition:
    handler: Handler
    targets: tuple[Phase, ...]  # where the handler may lead; drawn in the docs


def on(event: type[ev.CallEvent]) -> str:
    """The table key of an event type (checked: a misspelt event is a type error)."""
    return event.__name__


def on_failure(command: type[cmd.Command]) -> str:
    """The table key of a command that failed (CommandFailed)."""
    return f"CommandFailed:{command.__name__}"


def on_timer(name: str) -> str:
    """The table key of a timer that fired (TimerFired); `name` is the module's constant."""
    return f"TimerFired:{name}"


def event_key(event: ev.CallEvent) -> str:
    """The table key of an event: its type name; a failed command or a timer adds its name."""
    if isinstance(event, ev.CommandFailed):
        return f"CommandFailed:{event.command}"
    if isinstance(event, ev.TimerFired):
        return f"TimerFired:{event.name}"
    return type(event).__name__


def timeline(call: Call, entry: str, now: float, **detail: str) -> cmd.RecordTimeline:
    return cmd.RecordTimeline(call.call_id, entry, now, detail)


def queued(call: Call, *, overflow: bool = True) -> cmd.ToAcd:
    return cmd.ToAcd(
        acd.CallerQueued(call.call_id, call.level, arrived_at=call.arrived_at, overflow=overflow)
    )


def recording(call: Call, now: float) -> list[cmd.Command]:
    """The call's recording: already running when the dialplan records it, otherwise
    started here (its failure goes on the timeline)."""
    if not call.policy.record_calls:
        return []
    if call.recorded:
        return [timeline(call, "recording", now, recording=call.call_id, recorder="dialplan")]
    return [
        timeline(call, "recording", now, recording=call.call_id),
        cmd.StartRecording(call.call_id, call.call_id),
    ]


def hangup_leg(call: Call) -> list[cmd.Command]:
    return [cmd.Hangup(call.taker_channel)] if call.taker_channel else []


def taker_free(call: Call) -> list[cmd.Command]:
    """The call taker is done with this call (the ACD starts their wrap-up)."""
    return [cmd.ToAcd(acd.CallEnded(call.taker))] if call.taker else []


def answered_outcome(call: Call) -> Outcome:
    """A call that reached a person: a call taker (answered) or the overflow target."""
    return Outcome.ANSWERED if call.taker else Outcome.OVERFLOWED


def keys_noted(call: Call, entry: str, count: int, now: float, **detail: str) -> list[cmd.Command]:
    """The timeline entry of the count-th key of a kind: listed up to KEYS_LISTED, then one
    '<entry>-not-listed' entry, then nothing (the total goes on 'ended')."""
    if count <= KEYS_LISTED:
        return [timeline(call, entry, now, **detail)]
    if count == KEYS_LISTED + 1:
        return [timeline(call, f"{entry}-not-listed", now, listed=str(KEYS_LISTED))]
    return []


def _key_totals(call: Call) -> dict[str, str]:
    totals = {"dtmf_keys": call.dtmf_count, "taker_keys_unknown": call.taker_unknown_count}
    return {name: str(count) for name, count in totals.items() if count > KEYS_LISTED}


def end(call: Call, outcome: Outcome, now: float, by: str, *before: cmd.Command) -> Result:
    ended = replace(call, phase=Phase.ENDED, outcome=outcome)
    return ended, [
        *before,
        timeline(call, "ended", now, by=by, outcome=outcome.value, **_key_totals(call)),
        cmd.FinishCall(call.call_id, outcome),
    ]
