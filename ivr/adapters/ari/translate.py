"""ARI events -> core events, by the ids the core chose (see ivr.core.ids).

Rules: pure mapping, no call-handling decisions; an ARI event that concerns no call of
ours maps to nothing. ChannelHangupRequest, StasisEnd and ChannelDestroyed all mean "this leg
is gone" (the first arrives before the PlaybackFinished of an interrupted prompt);
the core ignores the duplicates. For a caller, StasisEnd is CallerLeftApp: after a
hang-up it comes second and is ignored, alone it means the caller left the application
alive (the watchdog moved it to the native queue). A call taker's leg ringing (its state
Ringing) is TakerRinging. A caller's keys are CallerDtmf, a connected call taker's
TakerDtmf; an agency leg answering is AgencyAnswered, its announcement ending
AgencyAnnounced, its end AgencyLegEnded; a callback's callee leg CalleeAnswered and
CalleeLegEnded. The screener's and recorder's channels only
report that they entered the app. Talk detection is CallerTalking, for the screener. A
phone's reachability and a feature code are the centre's own events (PhoneReachability,
FeatureDialled).
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.adapters.ari import models as ari
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.centre_events import FeatureDialled, PhoneReachability

CALLER_ARG = "caller"
TAKER_ARG = "taker"
AGENCY_ARG = "agency"
CALLBACK_ARG = "callback"  # a number dialled back through the trunk (a callback's callee leg)
FEATURE_PROMPT = "feature-"  # playback id prefix of feature-code confirmations


@dataclass(frozen=True)
class FeaturePromptDone:
    channel_id: str


@dataclass(frozen=True)
class HelperChannelReady:
    """A channel the control plane made (screening snoop, externalMedia, recorder) entered our app."""

    channel_id: str


@dataclass(frozen=True)
class CallerTalking:
    """Talk detection (energy, TALK_DETECT, set by the dialplan on every emergency caller):
    talking started (seconds None) or finished after `seconds`."""

    call_id: str
    seconds: float | None


Translated = (
    ev.CallEvent | PhoneReachability | FeatureDialled | FeaturePromptDone | HelperChannelReady | CallerTalking
)


def _helper(channel_id: str) -> bool:
    return bool(ids.call_of_screening(channel_id) or ids.call_of_recorder(channel_id))


def taker_of_channel_name(name: str) -> str | None:
    """'PJSIP/taker01-0000000a' -> 'taker01'."""
    tech, _, rest = name.partition("/")
    return rest.rpartition("-")[0] or None if tech == "PJSIP" else None


def translate(event: ari.AnyEvent) -> list[Translated]:
    match event:
        case ari.StasisStart(channel=channel) if _helper(channel.id):
            return [HelperChannelReady(channel.id)]
        case ari.StasisStart(args=["agency", call_id, *_], channel=channel):
            return [ev.AgencyAnswered(call_id, channel.id)]
        # Literal strings here: a bare name in a pattern would capture, not compare.
        case ari.StasisStart(args=["caller", *rest], channel=channel):
            # caller,<dialled>[,<mark>...]: "greeted" (by the dialplan while we were away),
            # "withheld" (the network marked the number private), "recorded" (the dialplan
            # records the call).
            dialled, marks = (rest[0], set(rest[1:])) if rest else ("112", set())
            created = channel.creationtime.timestamp() if channel.creationtime else None
            greeted = "greeted" in marks
            return [
                ev.CallArrived(channel.id, channel.caller.number, dialled, greeted=greeted,
                               arrived_at=created, withheld="withheld" in marks,
                               recorded="recorded" in marks, answered=channel.state == "Up")
            ]  # fmt: skip
        case ari.StasisStart(args=["taker", call_id, *_], channel=channel):
            return [ev.TakerAnswered(call_id, channel.id)]
        case ari.StasisStart(args=["callback", callback_id, *_], channel=channel):
            return [ev.CalleeAnswered(callback_id, channel.id)]
        case ari.StasisStart(args=["feature", code, endpoint, *_], channel=channel):
            return [FeatureDialled(channel.id, code, endpoint)]
        case ari.ChannelStateChange(channel=channel) if channel.state == "Ringing":
            rung = ids.call_of_taker_leg(channel.id)  # a call taker's phone rings (180)
            return [ev.TakerRinging(rung, channel.id)] if rung is not None else []
        case ari.ChannelHangupRequest(channel=channel):
            return _leg_gone(channel, "hangup")  # the first sign, before playbacks stop
        case ari.StasisEnd(channel=channel):
            gone = _leg_gone(channel, "hangup")
            # A caller leaving the app alive (no hang-up reported first: the watchdog moved
            # it to the dialplan); after a hang-up the call has ended and this is ignored.
            return [ev.CallerLeftApp(channel.id)] if gone == [ev.CallerHungUp(channel.id)] else gone
        case ari.ChannelDestroyed(channel=channel, cause_txt=cause):
            return _leg_gone(channel, cause or "hangup")
        case ari.ChannelDtmfReceived(channel=channel, digit=digit):
            taker_of = ids.call_of_taker_leg(channel.id)
            if taker_of is not None:
                return [ev.TakerDtmf(taker_of, digit)]
            if _helper(channel.id) or ids.agency_of_leg(channel.id):
                return []
            return [ev.CallerDtmf(channel.id, digit)]
        case ari.ChannelTalkingStarted(channel=channel):
            return [CallerTalking(channel.id, None)]
        case ari.ChannelTalkingFinished(channel=channel, duration=duration):
            return [CallerTalking(channel.id, duration / 1000)]
        case ari.PlaybackFinished(playback=playback):
            if playback.id.startswith(FEATURE_PROMPT):
                return [FeaturePromptDone(playback.id.removeprefix(FEATURE_PROMPT))]
            greeting_of = ids.call_of_greeting(playback.id)
            if greeting_of:
                return [ev.GreetingFinished(greeting_of)]
            prompt_of = ids.call_of_screening_prompt(playback.id)
            if prompt_of:
                return [ev.ScreeningPromptFinished(prompt_of, playback.id)]
            announced = ids.leg_of_announce(playback.id)
            agency = ids.agency_of_leg(announced) if announced else None
            return [ev.AgencyAnnounced(agency[0], announced)] if agency and announced else []
        case ari.EndpointStateChange(endpoint=endpoint):
            name = f"{endpoint.technology}/{endpoint.resource}"
            return [PhoneReachability(name, endpoint.state != "offline")]
    return []


def _leg_gone(channel: ari.Channel, cause: str) -> list[Translated]:
    if _helper(channel.id):
        return []  # the screener's and recorder's own channels: they tear them down themselves
    agency = ids.agency_of_leg(channel.id)
    if agency is not None:
        return [ev.AgencyLegEnded(agency[0], channel.id, cause)]
    call_id = ids.call_of_taker_leg(channel.id)
    if call_id is not None:
        return [ev.TakerLegEnded(call_id, channel.id, cause)]
    callback = ids.callback_of_callee_leg(channel.id)
    if callback is not None:
        return [ev.CalleeLegEnded(callback, channel.id, cause)]
    return [ev.CallerHungUp(channel.id)]
