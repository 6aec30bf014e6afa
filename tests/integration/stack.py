"""The real stack for integration tests: Redis, Asterisk 22 in its root, the control
plane, and SIPp as carrier and phones.

Rules: everything runs on loopback; every process started here is stopped by its pid;
each party has its own loopback address (carrier 127.0.0.2, takerNN 127.0.0.(10+NN));
SIPp logs go to the test's own folder so a failure can be read. The start scripts run
with small wrappers first on their PATH (curl, redis-server, redis-cli, chroot) that
write down every command's arguments (Stack.recorded_argv) before running the real one;
Redis requires the password the start script generates in the state folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from ivr.adapters.thread_priority import set_group_niceness

REPO = Path(__file__).resolve().parents[2]
CONTROL_PLANE_NICENESS = 0  # its session's weight: Asterisk's (CPUWeight=100)
SIPP_DIR = REPO / "tests" / "sipp"
CARRIER_IP = "127.0.0.2"
ASTERISK_ROOT = Path(os.environ.get("ASTERISK_ROOT", "/var/cache/ivr112/asterisk-root"))
RECORDINGS = ASTERISK_ROOT / "var/spool/asterisk/recording"  # Asterisk's, as the host sees it
ASTERISK_SIP = "127.0.0.1:5060"
RECORDED_COMMANDS = ("curl", "redis-server", "redis-cli", "chroot")  # their arguments are written down


AGENCY_IPS = {"damkar": "127.0.0.31", "ambulans": "127.0.0.32", "bpbd": "127.0.0.33", "polisi": "127.0.0.34"}


def taker_ip(taker: str) -> str:
    """Where a phone answers in the test profile: takerNN on 127.0.0.(10+NN), the supervisor on .40,
    the agencies on .31-.34."""
    if taker in AGENCY_IPS:
        return AGENCY_IPS[taker]
    return "127.0.0.40" if taker == "supervisor" else f"127.0.0.{10 + int(taker[-2:])}"


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Stack:
    """Asterisk + Redis, started once per test session with the test profile."""

    workdir: Path
    env: dict[str, str]
    ari_password: str
    api_token: str = ""
    redis_port: int = 6390
    api_port: int = 8112
    argv_log: Path | None = None  # the wrappers' record of the recorded commands' arguments

    # ---- ARI, read by tests to observe Asterisk itself ---------------------------
    def ari(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:8088/ari{path}", method=method)
        token = b64encode(f"ivr112:{self.ari_password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                body = resp.read()
                return resp.status, json.loads(body) if body else None
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        timeout: float = 5,
    ) -> tuple[int, Any]:
        """The control plane's HTTP API."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.api_token if token is None else token}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def api_text(self, path: str) -> tuple[int, str]:
        """A non-JSON page of the control plane (metrics)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}")
        request.add_header("Authorization", f"Bearer {self.api_token}")
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()

    def recording(self, call_id: str, query: str = "") -> tuple[int, bytes, dict[str, str]]:
        """A call's recording from the API: status, bytes, headers."""
        url = f"http://127.0.0.1:{self.api_port}/api/calls/{call_id}/recording{query}"
        request = urllib.request.Request(url)
        request.add_header("Authorization", f"Bearer {self.api_token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def login(self, *takers: str) -> None:
        for taker in takers:
            status, body = self.api("POST", f"/api/takers/{taker}/login")
            assert status == 200 and body["declared"] == "available", (status, body)

    def channels(self) -> list[dict[str, Any]]:
        return self.ari("GET", "/channels")[1] or []

    def endpoint_state(self, taker: str) -> str:
        status, body = self.ari("GET", f"/endpoints/PJSIP/{taker}")
        return body["state"] if status == 200 else "missing"

    def rtp_counts(self, channel_id: str) -> tuple[int, int]:
        status, body = self.ari("GET", f"/channels/{channel_id}/rtp_statistics")
        assert status == 200, f"no RTP statistics for channel {channel_id} (HTTP {status})"
        return body["rxcount"], body["txcount"]

    # ---- Redis -----------------------------------------------------------------
    def redis(self) -> redis.Redis:
        return redis.Redis(
            port=self.redis_port, password=self.env["IVR_REDIS_PASSWORD"], decode_responses=True
        )

    def recorded_argv(self) -> list[list[str]]:
        """Every recorded command run so far by the start scripts: [name, arg, ...]."""
        if self.argv_log is None or not self.argv_log.exists():
            return []
        lines = self.argv_log.read_text(errors="replace").splitlines()
        return [line.rstrip("\x1f").split("\x1f") for line in lines if line]

    def record(self, call_id: str) -> dict[str, Any]:
        """The call's hash and timeline, read together (one transaction: a consistent picture)."""
        pipe = self.redis().pipeline(transaction=True)
        pipe.hgetall(f"ivr:call:{call_id}")
        pipe.lrange(f"ivr:call:{call_id}:timeline", 0, -1)
        fields, timeline = pipe.execute()
        record: dict[str, Any] = dict(fields)
        record["timeline"] = [json.loads(x) for x in timeline]
        return record

    @staticmethod
    def variable(name: str) -> str:
        """The ARI path that reads (GET) or sets (POST, add &value=) a global variable."""
        return "/asterisk/variable?variable=" + urllib.parse.quote(name)

    @staticmethod
    def cli(command: str) -> str:
        """An Asterisk CLI command's output."""
        done = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", command],
                              capture_output=True, text=True, check=True, timeout=10)  # fmt: skip
        return done.stdout

    def native_lines(self) -> dict[str, str]:
        """The lines the dialplan left for calls the native queue handled, by call id."""
        found = {}
        for row in self.cli("database show ivr112-native").splitlines():
            key, sep, value = row.partition(" : ")  # "/ivr112-native/<call id>   : n1|..."
            if sep and key.strip().startswith("/ivr112-native/"):
                found[key.strip().rpartition("/")[2]] = value.strip()
        return found

    def clear_native_lines(self) -> None:
        self.cli("database deltree ivr112-native")

    def call_ids(self) -> list[str]:
        return list(self.redis().zrange("ivr:calls", 0, -1))

    def new_call_id(self, before: list[str], timeout: float = 10) -> str:
        def fresh() -> str | None:
            new = [c for c in self.call_ids() if c not in before]
            return new[0] if new else None

        return wait_for(fresh, timeout, "a new call record in Redis")

    def wait_entry(self, call_id: str, entry: str, timeout: float = 15) -> dict[str, Any]:
        """Waits until the call's timeline holds `entry`; returns the record."""

        def has_entry() -> dict[str, Any] | None:
            record = self.record(call_id)
            return record if any(item["entry"] == entry for item in record["timeline"]) else None

        return wait_for(has_entry, timeout, f"'{entry}' in call {call_id}'s timeline")

    def taker_leg_up(self, taker: str) -> bool:
        """A channel to the taker's phone exists and is answered (whoever originated it)."""
        return any(c["name"].startswith(f"PJSIP/{taker}-") and c["state"] == "Up" for c in self.channels())

    def wait_ended(self, call_id: str, timeout: float = 10) -> dict[str, Any]:
        return wait_for(
            lambda: (r := self.record(call_id)).get("outcome") and r, timeout, f"call {call_id} to end"
        )


def argv_recorders(folder: Path) -> tuple[Path, Path]:
    """A folder of wrappers, one per RECORDED_COMMANDS, each appending its arguments (unit
    separated, one line per run) to a log before running the real command; (folder, log)."""
    wrappers, log = folder / "argv-bin", folder / "argv.log"
    wrappers.mkdir(exist_ok=True)
    for name in RECORDED_COMMANDS:
        real = shutil.which(name)
        assert real, f"{name} is not installed"
        wrapper = wrappers / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f"printf '%s\\037' {name} \"$@\" >>{shlex.quote(str(log))}\n"
            f"echo >>{shlex.quote(str(log))}\n"
            f'exec {shlex.quote(real)} "$@"\n'
        )
        wrapper.chmod(0o755)
    return wrappers, log


def start_stack(workdir: Path) -> Stack:
    if os.geteuid() != 0:
        raise RuntimeError("integration tests run Asterisk with chroot: run them as root")
    password = secrets.token_urlsafe(16)
    token = secrets.token_urlsafe(24)
    wrappers, argv_log = argv_recorders(workdir)
    env = {
        **os.environ,
        "PATH": f"{wrappers}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "IVR_API_TOKEN": token,
        "IVR_STATE_DIR": str(workdir / "state"),
        "REDIS_PORT": "6390",
        "IVR_ARI_PASSWORD": password,
        "IVR_AMI_PASSWORD": secrets.token_urlsafe(16),
        "IVR_STATIC_CONTACTS": "yes",
        "RTP_STRICT": "no",
        "TAKER_QUALIFY_SECONDS": "1",
        "TAKER_QUALIFY_TIMEOUT": "0.5",
    }
    stack = Stack(workdir, env, password, token, argv_log=argv_log)
    subprocess.run(["bash", str(REPO / "scripts" / "redis-start.sh")], env=env, check=True)
    # The password the start script made, as `make run` passes it on to the control plane.
    env["IVR_REDIS_PASSWORD"] = (workdir / "state" / "secrets" / "redis_password").read_text().strip()
    subprocess.run(["bash", str(REPO / "scripts" / "asterisk-start.sh")], env=env, check=True)
    stack.redis().flushall()
    stack.clear_native_lines()  # Asterisk's database outlives a run: no records from an earlier one
    return stack


def stop_stack(stack: Stack) -> None:
    for script in ("asterisk-stop.sh", "redis-stop.sh"):
        subprocess.run(["bash", str(REPO / "scripts" / script)], env=stack.env, check=False)


class Process:
    """A child process with its output in a file; stopped by pid. Every one a test starts
    is stopped when the test ends (conftest.py), even when the test failed before it could:
    a SIPp left holding an address would fail every test after it."""

    started: list[Process] = []  # the processes of the running test

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        own_session: bool = False,
    ) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            start_new_session=own_session,
        )
        Process.started.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self._out.close()
        return self.popen.returncode


def start_control_plane(stack: Stack, log: Path, **extra: str) -> Process:
    """The control plane with the shipped centre configuration (or IVR_CENTRE_CONFIG)."""
    client = stack.redis()
    if not extra.pop("IVR_KEEP_TAKER_STATUS", ""):
        for key in client.scan_iter("ivr:agent:*"):  # every test starts with everyone logged out
            client.delete(key)
    env = {
        **stack.env,
        "IVR_RECORDINGS_PATH": str(RECORDINGS),
        "IVR_ARCHIVE_PATH": str(stack.workdir / "calls.sqlite3"),
        "IVR_REDIS_URL": f"redis://127.0.0.1:{stack.redis_port}/0",
        "IVR_HTTP_PORT": str(stack.api_port),
        **extra,
    }
    # As its service runs: a session of its own (Linux shares the CPU between sessions
    # first: the tests' SIPp is not in its share) weighted as Asterisk is, as the unit's
    # CPUWeight (deploy/systemd) does: autogroup niceness CONTROL_PLANE_NICENESS.
    app = Process([sys.executable, "-m", "ivr", "run"], log, env=env, cwd=REPO, own_session=True)
    set_group_niceness(CONTROL_PLANE_NICENESS, app.popen.pid)
    return app


def wait_ready(stack: Stack, app: Process) -> None:
    wait_for(lambda: "reconciled:" in app.output() or not app.alive(), 15, "the control plane to connect")
    assert app.alive(), f"control plane exited:\n{app.output()}"


def centre_config(folder: Path, rules: dict[str, str] | None = None, **timers: float) -> Path:
    """A copy of the shipped configuration with some timers changed and caller rules added."""
    text = (REPO / "queue" / "kendari.yaml").read_text()
    for name, value in timers.items():
        text, count = re.subn(rf"(\n  {name}: )[0-9.]+", rf"\g<1>{value}", text)
        assert count == 1, f"no timer {name} in the shipped configuration"
    added = "".join(
        f'\n  - number: "{number}"\n    priority: {level}' for number, level in (rules or {}).items()
    )
    text = text.replace("\ncaller_priorities:", "\ncaller_priorities:" + added, 1)
    path = folder / "centre.yaml"
    path.write_text(text)
    return path


def users_file(folder: Path, users: dict[str, tuple[str, str, str]]) -> Path:
    """An IVR_USERS_FILE: name -> (token, role, taker or ""); only the tokens' hashes are written."""

    def entry(name: str, token: str, role: str, taker: str) -> str:
        digest = hashlib.sha256(token.encode()).hexdigest()
        owner = f"taker: {taker}, " if taker else ""
        return f'  - {{name: {name}, role: {role}, {owner}token_sha256: "{digest}"}}\n'

    path = folder / "users.yaml"
    path.write_text("users:\n" + "".join(entry(name, *user) for name, user in users.items()))
    return path


def make_audio(folder: Path) -> None:
    """caller.alaw and taker.alaw: distinct speech, A-law 8 kHz, for SIPp's rtp_stream."""
    for name, voice, text in (
        ("caller", "id", "Tolong, ada kebakaran di Mandonga. Rumah saya terbakar."),
        ("taker", "en", "One one two Kendari, what is your emergency?"),
    ):
        wav = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        subprocess.run(
            ["sox", str(wav), "-r", "8000", "-c", "1", "-t", "al", str(folder / f"{name}.alaw")], check=True
        )


def start_phone(stack: Stack, taker: str, scenario: str, folder: Path, hold_ms: int = 3000) -> Process:
    """A call taker's SIPp phone, answering every call with `scenario`, until stopped."""
    ip = taker_ip(taker)
    args = [
        "sipp",
        "-sf",
        str(SIPP_DIR / scenario),
        "-i",
        ip,
        "-p",
        "5060",
        "-mi",
        ip,
        "-aa",
        "-d",
        str(hold_ms),
        "-nostdin",
        "-trace_err",
        "-trace_msg",
        "-message_file",
        str(folder / f"{taker}_messages.log"),
        "-error_file",
        str(folder / f"{taker}_errors.log"),
    ]
    phone = Process(args, folder / f"{taker}.out", cwd=folder)
    wait_for(
        lambda: stack.endpoint_state(taker) == "online" or not phone.alive(),
        10,
        f"{taker}'s phone to be reachable",
    )
    assert phone.alive(), f"{taker}'s SIPp phone exited:\n{phone.output()}"
    return phone


def carrier(
    folder: Path, scenario: str, number: str, log: str, *extra: str, timeout_s: int = 60, port: int = 5060
) -> Process:
    """SIPp as the carrier trunk (127.0.0.2) dialling `number` at Asterisk with `scenario`.

    Carriers that run at the same time need their own `port`; media ports are 6000 + 10 * (port - 5060).
    """
    media_port = str(6000 + 10 * (port - 5060))
    args = ["sipp", ASTERISK_SIP, "-sf", str(SIPP_DIR / scenario), "-s", number,
            "-i", CARRIER_IP, "-p", str(port), "-mi", CARRIER_IP, "-mp", media_port, *extra,
            "-nostdin", "-timeout", str(timeout_s), "-timeout_error",
            "-trace_err", "-error_file", str(folder / f"{log}_errors.log")]  # fmt: skip
    return Process(args, folder / f"{log}.out", cwd=folder)


def place_calls(folder: Path, numbers: list[str], rate: float, number: str = "112") -> Process:
    """The carrier places len(numbers) calls at `rate` calls/s; each waits for the far end to hang up."""
    (folder / "callers.csv").write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers))
    count = str(len(numbers))
    return carrier(folder, "callers_from_list.xml", number, "carrier_many",
                   "-inf", str(folder / "callers.csv"), "-m", count, "-r", str(rate), "-l", count,
                   timeout_s=180)  # fmt: skip


def dial_feature_code(stack: Stack, taker: str, code: str, folder: Path) -> int:
    """The taker's phone dials a feature code with its own digest credentials; SIPp's exit code."""
    secret = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / f"sip_{taker}").read_text().strip()
    args = [
        "sipp",
        ASTERISK_SIP,
        "-sf",
        str(SIPP_DIR / "feature_code.xml"),
        "-s",
        code,
        "-key",
        "user",
        taker,
        "-au",
        taker,
        "-ap",
        secret,
        "-i",
        taker_ip(taker),
        "-p",
        "5071",
        "-mi",
        taker_ip(taker),
        "-mp",
        "7000",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "20",
        "-timeout_error",
        "-trace_err",
        "-error_file",
        str(folder / f"feature_{taker}.log"),
    ]
    return subprocess.run(args, capture_output=True, cwd=folder, timeout=40, check=False).returncode


def place_call(
    folder: Path,
    number: str,
    scenario: str = "caller.xml",
    hold_ms: int = 12000,
    caller: str = "081234567890",
    wait: bool = True,
    port: int = 5060,
) -> Process:
    """The carrier places one call; with wait=True, returns after SIPp has finished."""
    call = carrier(folder, scenario, number, f"carrier_{number}_{port}",
                   "-key", "caller", caller, "-m", "1", "-d", str(hold_ms), port=port)  # fmt: skip
    if wait:
        call.popen.wait(timeout=90)
    return call
