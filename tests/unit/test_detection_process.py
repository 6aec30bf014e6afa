# Speech detection runs in a process of its own: the control plane hands it each caller's
# RTP socket and asks for what was heard. These tests run the real process (Silero
# included) on speech made here (espeak-ng, sox), and stop it by its pid to see that a
# stopped process costs the callers their speech features, never their screening.
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from ivr.adapters.ari.rest import AriRest
from ivr.adapters.speech import detection_wire as wire
from ivr.adapters.speech.detection_link import DetectionLink, DetectionUnavailable
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screener import Screener
from ivr.adapters.speech.screening_session import Session
from ivr.adapters.thread_priority import SCREENING_NICENESS
from ivr.core import events as ev

HOST = "127.0.0.1"
SENTENCE = "Tolong, rumah saya terbakar di jalan Sudirman, cepat kirim pemadam kebakaran."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    folder = tmp_path_factory.mktemp("speech")
    subprocess.run(["espeak-ng", "-v", "id", "-w", str(folder / "raw.wav"), SENTENCE], check=True)
    to_8k = ["-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer"]
    subprocess.run(["sox", str(folder / "raw.wav"), *to_8k, str(folder / "s.wav")], check=True)
    with wave.open(str(folder / "s.wav")) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


@pytest.fixture
def ports() -> RtpPorts:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((HOST, 0))
    first = probe.getsockname()[1]
    probe.close()
    return RtpPorts(first, min(65535, first + 7), host=HOST)


@pytest.fixture
async def link() -> AsyncIterator[tuple[DetectionLink, list[tuple[str, bytes]]]]:
    audio: list[tuple[str, bytes]] = []
    made = DetectionLink(lambda call_id, pcm: audio.append((call_id, pcm)), measure=True)
    yield made, audio
    await made.aclose()


async def play(port: int, samples: np.ndarray) -> None:
    """The caller's audio as Asterisk sends it (RTP, 20 ms of big-endian PCM a packet)."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for n, at in enumerate(range(0, len(samples) - 159, 160)):
            header = struct.pack("!BBHII", 0x80, 118, n, n * 160, 0x1234)
            sender.sendto(header + samples[at : at + 160].astype(">i2").tobytes(), (HOST, port))
            if n % 25 == 24:
                await asyncio.sleep(0.01)  # the receive buffer is never the limit here
    finally:
        sender.close()
    await asyncio.sleep(0.4)  # the process's reader takes what arrived


def opened(link: DetectionLink, ports: RtpPorts, call_id: str, recognizing: bool = False) -> socket.socket:
    rtp = ports.allocate()
    link.open(call_id, rtp, recognizing)
    return rtp


def autogroup_niceness(pid: int) -> int | None:
    """The niceness of a process's scheduling group (None: the kernel has no autogroups)."""
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except OSError:
        return None


def vad_threads_here() -> list[str]:
    tasks = Path(f"/proc/{os.getpid()}/task")
    names = [(t / "comm").read_text().strip() for t in tasks.iterdir()]
    return [n for n in names if n.startswith(("vad-", "rtp-reader"))]


async def test_a_callers_speech_is_measured_in_its_own_process(
    link: tuple[DetectionLink, list[tuple[str, bytes]]], ports: RtpPorts, speech: np.ndarray
) -> None:
    detection, audio = link
    threads_before = vad_threads_here()  # earlier tests in this process may have left some
    assert detection.cost is not None and detection.cost > 0 and not detection.error
    speaking = opened(detection, ports, "speaking")
    silent = opened(detection, ports, "silent")
    await asyncio.gather(
        play(speaking.getsockname()[1], speech),
        play(silent.getsockname()[1], np.zeros(len(speech), np.int16)),
    )
    said = await asyncio.wait_for(detection.features("speaking", cue_below=None), 5)
    quiet = await asyncio.wait_for(detection.features("silent", cue_below=None), 5)
    seconds = len(speech) / 8000
    assert seconds - 0.3 <= said.audio_seconds <= seconds  # all of it but the last part-batch
    assert said.speech_seconds > 1.0 and said.speech_segments >= 1
    assert quiet.speech_seconds == 0 and quiet.cue_speech_seconds == 0
    assert audio == []  # no recognizer listens: no audio comes back
    stats = detection.stats()
    assert stats["pid"] not in (None, os.getpid()) and stats["calls"] == 2
    assert os.getsid(stats["pid"]) == stats["pid"]  # a scheduling group of its own
    group = autogroup_niceness(stats["pid"])
    if group is not None:  # where Linux groups by session, that group yields to call handling
        assert group == SCREENING_NICENESS
    assert vad_threads_here() == threads_before  # no thread of the control plane computes audio
    for call_id, rtp in (("speaking", speaking), ("silent", silent)):
        detection.close(call_id)
        rtp.close()


async def test_a_recognizer_gets_the_callers_audio_back(
    link: tuple[DetectionLink, list[tuple[str, bytes]]], ports: RtpPorts, speech: np.ndarray
) -> None:
    detection, audio = link
    rtp = opened(detection, ports, "worded", recognizing=True)
    clip = speech[: 8000 * 2]  # 2 s: ten batches of 200 ms
    await play(rtp.getsockname()[1], clip)
    assert {c for c, _ in audio} == {"worded"}
    back = np.frombuffer(b"".join(pcm for _, pcm in audio), np.int16)
    assert len(back) == 10 * 1600 and np.array_equal(back, clip[: len(back)])
    detection.close("worded")
    rtp.close()


async def test_a_stopped_process_costs_features_not_calls_and_starts_again(
    link: tuple[DetectionLink, list[tuple[str, bytes]]], ports: RtpPorts, speech: np.ndarray
) -> None:
    detection, _ = link
    before = opened(detection, ports, "before")
    pid = detection.stats()["pid"]
    os.kill(pid, signal.SIGKILL)  # the process this test's link started
    started = time.monotonic()
    with pytest.raises(DetectionUnavailable):
        await asyncio.wait_for(detection.features("before", cue_below=None), 2)
    assert time.monotonic() - started < 1.0  # told at once, not after a timeout
    assert detection.behind_seconds() == float("inf")  # no caller is admitted meanwhile
    down = detection.stats()
    assert down["pid"] is None and down["behind_seconds"] is None
    json.dumps(down, allow_nan=False)  # what /api/screening shows stays valid JSON
    with pytest.raises(DetectionUnavailable):
        opened(detection, ports, "meanwhile")
    deadline = time.monotonic() + 10
    while detection.stats()["pid"] is None or detection.behind_seconds() > 0.5:
        assert time.monotonic() < deadline, "speech detection was not started again"
        await asyncio.sleep(0.1)
    assert detection.restarts == 1 and detection.stats()["pid"] != pid
    with pytest.raises(DetectionUnavailable):  # its audio went to the stopped process
        await detection.features("before", cue_below=None)
    after = opened(detection, ports, "after")
    await play(after.getsockname()[1], speech)
    heard = await asyncio.wait_for(detection.features("after", cue_below=None), 5)
    assert heard.speech_seconds > 1.0
    for rtp in (before, after):
        rtp.close()


async def test_a_bad_command_is_refused_and_said_and_the_process_goes_on(
    link: tuple[DetectionLink, list[tuple[str, bytes]]],
    ports: RtpPorts,
    speech: np.ndarray,
    caplog: pytest.LogCaptureFixture,
) -> None:
    detection, _ = link
    caplog.set_level(logging.ERROR)
    detection._send(b"Q{not json")
    detection._send(wire.encode(wire.OPEN, {"call": "no-socket"}))  # OPEN without its socket
    rtp = opened(detection, ports, "fine")
    await play(rtp.getsockname()[1], speech)
    heard = await asyncio.wait_for(detection.features("fine", cue_below=None), 5)
    assert heard.speech_seconds > 1.0 and detection.restarts == 0
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("not JSON" in m for m in refused) and any("came with 0 sockets" in m for m in refused)
    rtp.close()


@pytest.mark.parametrize("message", [b"", b"Z{}", b"S[1]", b"A{bad", b"P", b"P\x05ab"])
def test_a_message_that_does_not_parse_names_what_is_wrong(message: bytes) -> None:
    with pytest.raises(wire.WireError):
        if message[:1] == wire.AUDIO:
            wire.decode_audio(message)
        else:
            wire.decode(message)


async def test_the_screener_screens_by_energy_while_detection_is_down() -> None:
    """A caller whose audio went to a stopped process is screened on the sound energy
    Asterisk heard, at once, with the reason on the record."""
    posted: list[ev.ScreeningReport] = []
    arrived = asyncio.Event()

    def post(call_id: str, report: ev.CallEvent) -> None:
        posted.append(cast(ev.ScreeningReport, report))
        arrived.set()

    screener = Screener(cast(AriRest, object()), RtpPorts(41010, 41011), None, None, post)
    try:
        os.kill(screener.status()["speech_detection"]["pid"], signal.SIGKILL)  # type: ignore[index]
        screener.sessions["c1"] = Session("c1", "", cast(socket.socket, object()), None, time.monotonic())
        screener._talk.start("c1")
        screener.talking("c1", 1.5)
        screener.report("c1", time.time() + 0.3)
        await asyncio.wait_for(arrived.wait(), 2.0)
        features = posted[0].features
        assert features is not None and "process stopped" in features.energy_only
        assert features.cue_speech_seconds == 1.5
    finally:
        screener.sessions.clear()
        await screener.close()


async def test_a_missing_model_is_said_at_start_and_every_caller_is_screened_by_energy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IVR_SILERO_MODEL", str(tmp_path / "absent.onnx"))  # the process inherits it
    caplog.set_level(logging.INFO)
    ports = RtpPorts(41012, 41013)
    screener = Screener(cast(AriRest, object()), ports, None, None, lambda c, e: None, cpu_share=0.5)
    try:
        assert screener.capacity == 0  # no caller gets speech detection: all by energy and keys
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("absent.onnx" in m for m in said)  # the process's own log line, logged here
        assert any("speech detection unavailable, callers are screened by sound energy" in m for m in said)
    finally:
        await screener.close()
