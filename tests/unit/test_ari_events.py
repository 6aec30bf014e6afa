# ARI events as Asterisk 22 really sends them (fixtures/ari_events_two_calls.jsonl, two
# recorded calls to 110 answered by taker02, the taker hanging up first): every line
# parses (unknown types as UnknownEvent), translate() yields what the call flow needs in
# order and, fed to the core, ends the call as answered by the taker; endpoint states
# become reachability, malformed messages raise ValidationError, and StasisStart
# arguments are compared, never captured (a call-taker leg is never a new caller).
from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any, cast

import pytest

from ivr.adapters.ari import models as ari
from ivr.adapters.ari import translate as tr
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call import CallPolicy, Phase, handle, start
from ivr.core.centre_events import PhoneReachability
from ivr.core.outcomes import Outcome

FIXTURE = Path(__file__).parent / "fixtures" / "ari_events_two_calls.jsonl"
LINES = FIXTURE.read_text().splitlines()
SECOND = "1795846535.8"
SECOND_LEG = f"{SECOND}-t1"


def raw_events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LINES]


def parsed() -> list[ari.AnyEvent]:
    return [ari.parse_event(line) for line in LINES]


def translated() -> list[tr.Translated]:
    return [item for event in parsed() for item in tr.translate(event)]


def of_call(items: list[tr.Translated], call_id: str) -> list[tr.Translated]:
    return [i for i in items if getattr(i, "call_id", None) == call_id]


def test_fixture_is_the_recording_described() -> None:
    types = {e["type"] for e in raw_events()}
    assert len(LINES) > 100
    assert {"StasisStart", "ChannelVarset", "EndpointStateChange", "PlaybackFinished"} <= types


def test_every_recorded_line_parses() -> None:
    wrong = []
    for number, (line, raw) in enumerate(zip(LINES, raw_events(), strict=True), 1):
        event = ari.parse_event(line)
        # Known types become their own class, the rest UnknownEvent (never an error).
        known = raw["type"] in ari.KNOWN_TYPES
        if event.type != raw["type"] or isinstance(event, ari.UnknownEvent) == known:
            wrong.append((number, raw["type"], type(event).__name__))
    assert wrong == []
    assert sum(isinstance(e, ari.StasisStart) for e in parsed()) == 4


@pytest.mark.parametrize("form", [str, str.encode, json.loads])
def test_parse_event_takes_text_bytes_or_dict(form: Any) -> None:
    start = next(line for line in LINES if '"StasisStart"' in line)
    event = ari.parse_event(form(start))
    assert isinstance(event, ari.StasisStart)
    assert (event.args, event.channel.id, event.channel.caller.number) == (
        ["caller", "110"],
        "1795846476.6",
        "081299",
    )


def test_unmodelled_types_become_unknown_events_with_their_fields() -> None:
    events = parsed()
    unknown = {e.type for e in events if isinstance(e, ari.UnknownEvent)}
    assert {"ChannelVarset", "ChannelCreated", "ChannelDialplan", "BridgeDestroyed"} <= unknown
    varset = next(e for e in events if isinstance(e, ari.UnknownEvent) and e.type == "ChannelVarset")
    assert "variable" in (varset.model_extra or {})
    assert tr.translate(varset) == []


def test_second_call_translates_to_what_the_flow_needs() -> None:
    items = of_call(translated(), SECOND)
    arrived = items[0]
    assert isinstance(arrived, ev.CallArrived) and arrived.arrived_at is not None
    assert arrived == ev.CallArrived(SECOND, "081299", "110", arrived_at=arrived.arrived_at)
    entered = next(e for e in parsed() if isinstance(e, ari.StasisStart) and e.channel.id == SECOND)
    assert entered.timestamp is not None  # the INVITE came (its channel made) before it entered the app
    assert 0 <= entered.timestamp.timestamp() - arrived.arrived_at < 1
    # The caller's hang-up is reported first (HangupRequest), before its StasisEnd (which
    # alone would mean "left the app alive") and ChannelDestroyed: the flow ends the call
    # as hung up and ignores what follows.
    gone = [i for i in items if isinstance(i, ev.CallerHungUp | ev.CallerLeftApp)]
    assert isinstance(gone[0], ev.CallerHungUp) and ev.CallerLeftApp(SECOND) in gone
    # Duplicates (HangupRequest, StasisEnd, ChannelDestroyed all mean "gone") collapsed.
    kinds: list[tr.Translated] = []
    for item in items:
        if isinstance(item, ev.CallerLeftApp):
            continue
        if not kinds or type(item) is not type(kinds[-1]):
            kinds.append(item)
    assert [type(k) for k in kinds] == [
        ev.CallArrived,
        ev.GreetingFinished,
        ev.TakerRinging,
        ev.TakerAnswered,
        ev.TakerLegEnded,
        ev.CallerHungUp,
    ]
    assert kinds[1] == ev.GreetingFinished(SECOND)
    assert kinds[2] == ev.TakerRinging(SECOND, SECOND_LEG)  # the phone's 180 Ringing
    assert kinds[3] == ev.TakerAnswered(SECOND, SECOND_LEG)
    assert isinstance(kinds[4], ev.TakerLegEnded) and kinds[4].channel_id == SECOND_LEG
    assert kinds[5] == ev.CallerHungUp(SECOND)
    # The taker's leg ended with a real cause before the caller's hang-up was seen.
    causes = {i.cause for i in items if isinstance(i, ev.TakerLegEnded)}
    assert causes == {"hangup", "Normal Clearing"}


def test_recorded_call_drives_the_core_to_answered_by_the_taker() -> None:
    """The core's own ids match what Asterisk reported, and the recording ends as it did."""
    call = None
    out: list[cmd.Command] = []
    for event in parsed():
        assert event.timestamp is not None
        now = event.timestamp.timestamp()
        ours = (i for i in tr.translate(event) if getattr(i, "call_id", None) == SECOND)
        pending: deque[ev.CallEvent] = deque(cast(ev.CallEvent, i) for i in ours)
        while pending:
            item = pending.popleft()
            if isinstance(item, ev.CallArrived):
                call, commands = start(item, now, CallPolicy())
            else:
                assert call is not None
                call, commands = handle(call, item, now)
            out += commands
            for command in commands:  # what the executor and the ACD answer with
                if isinstance(command, cmd.Answer):
                    pending.append(ev.CallerAnswered(SECOND))
                elif isinstance(command, cmd.ToAcd) and isinstance(command.event, acd.CallerQueued):
                    pending.append(ev.TakerAssigned(SECOND, "taker02", "PJSIP/taker02"))
                elif isinstance(command, cmd.ConnectParties):
                    pending.append(ev.PartiesConnected(SECOND))
    assert call is not None
    assert (call.phase, call.outcome) == (Phase.ENDED, Outcome.ANSWERED)
    offers = [c for c in out if isinstance(c, cmd.OfferToTaker)]
    assert [(o.endpoint, o.channel_id, o.caller_channel) for o in offers] == [
        ("PJSIP/taker02", SECOND_LEG, SECOND)
    ]
    assert [c for c in out if isinstance(c, cmd.ConnectParties)] == [
        cmd.ConnectParties(f"{SECOND}-bridge", SECOND, SECOND_LEG)
    ]
    assert [c for c in out if isinstance(c, cmd.FinishCall)] == [cmd.FinishCall(SECOND, Outcome.ANSWERED)]
    timeline = [c for c in out if isinstance(c, cmd.RecordTimeline)]
    assert [t.entry for t in timeline] == [
        "arrived",
        "answered",
        "recording",
        "greeting-done",
        "offered",
        "taker-ringing",
        "taker-answered",
        "connected",
        "ended",
    ]
    assert timeline[-1].detail == {"by": "taker", "outcome": "answered"}
    start_at = next(
        e for e in parsed() if isinstance(e, ari.StasisStart) and e.channel.id == SECOND
    ).timestamp
    assert start_at is not None and 0 <= start_at.timestamp() - timeline[0].at < 1  # arrived: the INVITE


def test_both_calls_arrive_once_and_never_from_a_taker_leg() -> None:
    arrivals = [i for i in translated() if isinstance(i, ev.CallArrived)]
    assert [a.call_id for a in arrivals] == ["1795846476.6", SECOND]
    assert all(a.dialled == "110" for a in arrivals)


def test_taker_leg_events_never_look_like_the_caller_hanging_up() -> None:
    items = translated()
    hung_up = {i.call_id for i in items if isinstance(i, ev.CallerHungUp)}
    assert hung_up == {"1795846476.6", SECOND}
    legs = {i.channel_id for i in items if isinstance(i, ev.TakerLegEnded)}
    assert legs == {"1795846476.6-t1", SECOND_LEG}


def test_endpoint_state_changes_become_reachability_in_order() -> None:
    reach = [i for i in translated() if isinstance(i, PhoneReachability)]
    assert reach[0] == PhoneReachability("PJSIP/taker01", False)
    assert reach[1] == PhoneReachability("PJSIP/taker02", True)
    assert {r.endpoint for r in reach} == {"PJSIP/taker01", "PJSIP/taker02"}
    assert all(r.reachable for r in reach[1:])


@pytest.mark.parametrize(
    ("state", "reachable"),
    [("online", True), ("offline", False), ("unknown", True)],  # unknown: fail open
)
def test_endpoint_state_maps_to_reachable(state: str, reachable: bool) -> None:
    event = ari.parse_event(
        {
            "type": "EndpointStateChange",
            "endpoint": {"technology": "PJSIP", "resource": "taker07", "state": state},
        }
    )
    assert tr.translate(event) == [PhoneReachability("PJSIP/taker07", reachable)]


@pytest.mark.parametrize(
    "message",
    [
        b"{not json",
        '{"type": "StasisStart"}',  # no channel
        '{"type": "StasisStart", "channel": {"id": "1.1"}}',  # channel without name/state
        '{"type": "ChannelDestroyed", "channel": "1.1"}',
        '{"type": "PlaybackFinished", "playback": {"id": "x"}}',  # no media_uri
        '{"type": "EndpointStateChange", "endpoint": {"technology": "PJSIP"}}',
        '{"no_type": true}',
        "[1, 2]",
    ],
)
def test_malformed_message_raises_a_value_error_the_pump_skips(message: str | bytes) -> None:
    with pytest.raises(ValueError):  # pydantic's ValidationError, or not JSON / not an object
        ari.parse_event(message)


def stasis_start(args: list[str], channel_id: str = "1795846600.9") -> ari.AnyEvent:
    channel = {"id": channel_id, "name": "PJSIP/taker05-0000000b", "state": "Up"}
    return ari.parse_event({"type": "StasisStart", "args": args, "channel": channel})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["taker", "1795846535.8"], [ev.TakerAnswered("1795846535.8", "1795846600.9")]),
        (["taker"], []),
        ([], []),
        (["callers", "112"], []),
        (["Caller", "112"], []),
        (["112"], []),
    ],
)
def test_stasis_start_arguments_are_compared_not_captured(
    args: list[str], expected: list[tr.Translated]
) -> None:
    result = tr.translate(stasis_start(args))
    assert result == expected
    assert not any(isinstance(i, ev.CallArrived) for i in result)


@pytest.mark.parametrize(("args", "dialled"), [(["caller", "113"], "113"), (["caller"], "112")])
def test_caller_stasis_start_is_a_new_call(args: list[str], dialled: str) -> None:
    # answered by the dialplan before it entered the app: the control plane does not answer again
    expected = ev.CallArrived("1795846700.1", "", dialled, answered=True)
    assert tr.translate(stasis_start(args, "1795846700.1")) == [expected]


def test_a_caller_the_dialplan_greeted_comes_back_greeted_with_its_creation_time() -> None:
    channel = {"id": "c1", "name": "PJSIP/carrier-00000001", "state": "Up",
               "creationtime": "2026-11-28T16:00:00.000+0000",
               "caller": {"name": "", "number": "0812"}}  # fmt: skip
    event = ari.parse_event({"type": "StasisStart", "args": ["caller", "113", "greeted"], "channel": channel})
    [arrived] = tr.translate(event)
    assert arrived == ev.CallArrived(
        "c1", "0812", "113", greeted=True, arrived_at=arrived.arrived_at, answered=True
    )
    assert arrived.arrived_at == 1795881600.0


@pytest.mark.parametrize(
    ("args", "greeted", "withheld"),
    [(["caller", "112", "withheld"], False, True), (["caller", "112", "shown"], False, False),
     (["caller", "112", "greeted", "withheld"], True, True)],
)  # fmt: skip
def test_a_number_the_network_marked_private_arrives_withheld(
    args: list[str], greeted: bool, withheld: bool
) -> None:
    [arrived] = tr.translate(stasis_start(args, "c2"))
    assert isinstance(arrived, ev.CallArrived)
    assert (arrived.greeted, arrived.withheld, arrived.dialled) == (greeted, withheld, "112")


def test_a_caller_the_dialplan_records_says_so() -> None:
    [arrived] = tr.translate(stasis_start(["caller", "112", "shown", "recorded"], "c3"))
    assert isinstance(arrived, ev.CallArrived) and arrived.recorded and not arrived.withheld
    [unrecorded] = tr.translate(stasis_start(["caller", "112", "shown", ""], "c4"))
    assert isinstance(unrecorded, ev.CallArrived) and not unrecorded.recorded


def test_talk_detection_reports_reach_the_screener_in_seconds() -> None:
    channel = {"id": "1795846600.9", "name": "PJSIP/carrier-00000001", "state": "Up"}
    started = ari.parse_event({"type": "ChannelTalkingStarted", "channel": channel})
    finished = ari.parse_event({"type": "ChannelTalkingFinished", "duration": 1250, "channel": channel})
    assert tr.translate(started) == [tr.CallerTalking("1795846600.9", None)]
    assert tr.translate(finished) == [tr.CallerTalking("1795846600.9", 1.25)]


@pytest.mark.parametrize(
    ("name", "taker"),
    [
        ("PJSIP/taker01-0000000a", "taker01"),
        ("PJSIP/supervisor-00000001", "supervisor"),
        ("PJSIP/carrier", None),
        ("Local/taker01@x-00000001;1", None),
    ],
)
def test_taker_of_channel_name(name: str, taker: str | None) -> None:
    assert tr.taker_of_channel_name(name) == taker


def dtmf(channel_id: str, digit: str = "5") -> ari.AnyEvent:
    channel = {"id": channel_id, "name": "PJSIP/carrier-00000001", "state": "Up"}
    return ari.parse_event(
        {"type": "ChannelDtmfReceived", "digit": digit, "duration_ms": 120, "channel": channel}
    )


def test_keys_are_the_callers_or_the_call_takers_and_never_a_helper_channels() -> None:
    assert tr.translate(dtmf("1795846600.9")) == [ev.CallerDtmf("1795846600.9", "5")]
    assert tr.translate(dtmf("1795846600.9-t1")) == [ev.TakerDtmf("1795846600.9", "5")]
    assert tr.translate(dtmf("1795846600.9-snoop")) == []
    assert tr.translate(dtmf("1795846600.9-rec")) == []
    assert tr.translate(dtmf("1795846600.9-ag1-damkar")) == []


def test_agency_legs_answer_announce_and_end_for_their_call() -> None:
    leg = "1795846600.9-ag2-ambulans"
    assert tr.translate(stasis_start(["agency", "1795846600.9"], leg)) == [
        ev.AgencyAnswered("1795846600.9", leg)
    ]
    done = ari.parse_event(
        {
            "type": "PlaybackFinished",
            "playback": {
                "id": f"{leg}-announce",
                "state": "done",
                "media_uri": "sound:x",
                "target_uri": f"channel:{leg}",
            },
        }
    )
    assert tr.translate(done) == [ev.AgencyAnnounced("1795846600.9", leg)]
    channel = {"id": leg, "name": "PJSIP/ambulans-00000003", "state": "Up"}
    gone = ari.parse_event(
        {"type": "ChannelDestroyed", "channel": channel, "cause": 19, "cause_txt": "No answer"}
    )
    assert tr.translate(gone) == [ev.AgencyLegEnded("1795846600.9", leg, "No answer")]


@pytest.mark.parametrize("suffix", ["-snoop", "-media"])
def test_screening_channels_report_ready_and_never_look_like_a_caller(suffix: str) -> None:
    channel_id = f"1795846600.9{suffix}"
    assert tr.translate(stasis_start(["screen", "1795846600.9"], channel_id)) == [
        tr.HelperChannelReady(channel_id)
    ]
    assert tr.translate(stasis_start([], channel_id)) == [tr.HelperChannelReady(channel_id)]
    channel = {"id": channel_id, "name": "Snoop/1795846600.9-00000001", "state": "Up"}
    for kind in ("StasisEnd", "ChannelHangupRequest", "ChannelDestroyed"):
        gone = ari.parse_event({"type": kind, "channel": channel, "cause": 16, "cause_txt": "Normal"})
        assert tr.translate(gone) == [], kind
