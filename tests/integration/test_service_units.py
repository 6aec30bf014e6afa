"""The systemd units' services on the real stack, started the way systemd starts them
(there is no running systemd here): each unit's own ExecStart, Environment and
WorkingDirectory as `make install` renders them, a notify socket in NOTIFY_SOCKET and a
watchdog interval in WATCHDOG_USEC/WATCHDOG_PID. READY=1 and the WATCHDOG=1 heartbeats
must come from the process systemd started (NotifyAccess=main: the scripts replace
themselves with the program), no secret may be in its arguments, the watchdog gets none
of the control plane's secrets, and TERM stops each one cleanly.

Rules: Asterisk and Redis are the session's (scripts/asterisk-start.sh, redis-start.sh:
the same scripts the Asterisk unit runs); the Redis unit runs a second Redis on a port of
its own; every process started here is stopped by pid.
"""

from __future__ import annotations

import itertools
import os
import shlex
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.integration.stack import REPO, Stack, wait_for

HEARTBEAT_USEC = 2_000_000  # WatchdogSec=2: a heartbeat every second
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def units(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units rendered for this stack's state folder, as `make install` would."""
    dest = tmp_path_factory.mktemp("units")
    env = {"PATH": os.environ["PATH"], "DESTDIR": str(dest), "IVR_STATE_DIR": stack.env["IVR_STATE_DIR"]}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "install.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return dest / "etc" / "systemd" / "system"


def unit_settings(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@dataclass
class Notifications:
    """A notify socket as systemd holds one: every message with its sender's pid."""

    path: Path
    sock: socket.socket = field(init=False)
    seen: list[tuple[int, str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.1)

    def pump(self) -> None:
        while True:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                return
            pid = next(
                struct.unpack("3i", raw[:12])[0]
                for level, kind, raw in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            )
            for message in data.decode().splitlines():
                self.seen.append((pid, message, time.monotonic()))

    def wait(self, message: str, timeout: float, count: int = 1) -> list[tuple[int, float]]:
        def enough() -> list[tuple[int, float]] | None:
            self.pump()
            found = [(pid, at) for pid, text, at in self.seen if text == message]
            return found if len(found) >= count else None

        return list(wait_for(enough, timeout, f"{count} x {message} on the notify socket"))


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    notifications: Notifications
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_unit(units: Path, tmp_path: Path) -> Iterator[Callable[[str, dict[str, str]], Service]]:
    started: list[Service] = []

    def start(name: str, settings: dict[str, str]) -> Service:
        """Runs `name`'s ExecStart as systemd would, with `settings` as from /etc/default/ivr112."""
        unit = unit_settings(units / name)
        env = {"PATH": SYSTEMD_PATH, **settings}
        for assignment in unit.get("Environment", []):
            env.update(word.split("=", 1) for word in shlex.split(assignment))
        notifications = Notifications(tmp_path / f"notify-{len(started)}")
        env |= {"NOTIFY_SOCKET": str(notifications.path), "WATCHDOG_USEC": str(HEARTBEAT_USEC)}
        (command,) = unit["ExecStart"]
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                # systemd sets WATCHDOG_PID to the pid it started: this shell's, kept by exec.
                ["sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh", *shlex.split(command)],
                env=env,
                cwd=(unit.get("WorkingDirectory") or ["/"])[0],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        service = Service(process, notifications, log)
        started.append(service)
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        service.notifications.sock.close()


def arguments(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)


def assert_ready_watched_and_stopped(
    service: Service, command: str, secrets: list[str], ready_timeout: float
) -> None:
    pid = service.process.pid
    (ready,) = service.notifications.wait("READY=1", ready_timeout)
    assert ready[0] == pid, f"READY=1 came from pid {ready[0]}, systemd started {pid}:\n{service.output()}"
    beats = service.notifications.wait("WATCHDOG=1", 5, count=3)
    assert {sender for sender, _ in beats} == {pid}, f"heartbeats from {beats}, systemd started {pid}"
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(beats)]
    assert max(gaps[-2:]) < HEARTBEAT_USEC / 1e6, f"heartbeats {gaps} s apart: WatchdogSec would kill it"
    shown = arguments(pid)
    assert shown.split()[1:] == ["-m", "ivr", command], f"pid {pid} runs {shown}, not the program"
    assert not [s for s in secrets if s and s in shown], f"a secret is in the arguments: {shown}"
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=30) == 0, service.output()
    service.notifications.wait("STOPPING=1", 1)


def healthy(stack: Stack) -> bool:
    try:
        return stack.api("GET", "/api/health")[0] == 200
    except OSError:  # not listening yet
        return False


def stack_secrets(stack: Stack) -> list[str]:
    stored = Path(stack.env["IVR_STATE_DIR"]) / "secrets"
    files = [path.read_text().strip() for path in stored.iterdir() if path.is_file()]
    return [stack.ari_password, stack.api_token, stack.env["IVR_AMI_PASSWORD"], *files]


def operator_settings(stack: Stack) -> dict[str, str]:
    """What an operator could put in /etc/default/ivr112 for this stack: its Redis port
    and the secrets the test profile gives Asterisk in the environment (so none was
    generated into the state folder); the rest the services read from the state folder."""
    keep = ("REDIS_PORT", "IVR_ARI_PASSWORD", "IVR_API_TOKEN", "IVR_AMI_PASSWORD")
    return {name: stack.env[name] for name in keep}


def test_control_plane_unit_is_ready_and_heartbeats_from_the_process_systemd_started(
    stack: Stack, start_unit: Callable[[str, dict[str, str]], Service]
) -> None:
    service = start_unit("ivr112-control-plane.service", operator_settings(stack))
    wait_for(lambda: healthy(stack) or service.process.poll() is not None, 60, "the control plane's health")
    assert service.process.poll() is None, service.output()
    env = environment(service.process.pid)
    assert env["IVR_WATCHDOG_STATUS"] == f"{stack.env['IVR_STATE_DIR']}/watchdog.json"
    assert "IVR_WATCHDOG_AMI_PASSWORD" not in env, "the control plane got the watchdog's AMI secret"
    assert_ready_watched_and_stopped(service, "run", stack_secrets(stack), 60)


def test_watchdog_unit_is_ready_heartbeats_and_holds_only_its_own_secrets(
    stack: Stack, start_unit: Callable[[str, dict[str, str]], Service]
) -> None:
    service = start_unit("ivr112-watchdog.service", operator_settings(stack))
    service.notifications.wait("READY=1", 30)
    env = environment(service.process.pid)
    stored = Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "watchdog_ami_password"
    assert env["IVR_WATCHDOG_AMI_PASSWORD"] == stored.read_text().strip()
    held = sorted(n for n in ("IVR_ARI_PASSWORD", "IVR_API_TOKEN", "IVR_AMI_PASSWORD") if n in env)
    assert held == [], f"the watchdog holds the control plane's {held}"
    status = Path(stack.env["IVR_STATE_DIR"]) / "watchdog.json"
    wait_for(status.exists, 10, f"the watchdog's status in {status}")
    assert_ready_watched_and_stopped(service, "watchdog", stack_secrets(stack), 30)


def test_redis_unit_is_ready_with_its_password_read_on_stdin(
    stack: Stack, start_unit: Callable[[str, dict[str, str]], Service]
) -> None:
    port = 6391
    settings = {"REDIS_PORT": str(port)}
    service = start_unit("ivr112-redis.service", settings)
    (ready,) = service.notifications.wait("READY=1", 30)
    pid = service.process.pid
    assert ready[0] == pid, f"READY=1 from pid {ready[0]}, systemd started {pid}:\n{service.output()}"
    password = (Path(stack.env["IVR_STATE_DIR"]) / "secrets" / "redis_password").read_text().strip()
    assert password not in arguments(pid) and "redis-server" in arguments(pid)
    assert redis.Redis(port=port, password=password).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port).get("x")
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(timeout=30) == 0, service.output()
