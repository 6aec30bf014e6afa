# `make run`'s supervisor (scripts/supervise.sh) and `make stop` (scripts/stop.sh), with a
# stand-in for the virtualenv's python (IVR_PYTHON) that records how each service was
# started and waits for TERM: the watchdog runs beside the control plane; a service
# that dies (kill -9) is restarted, one that refuses its settings stops everything;
# Ctrl-C, TERM and `make stop` stop both and restart nothing; each service gets its own
# secrets from the state folder in its environment, never in its arguments.
# Rules: no Asterisk, no Redis, no network: the stand-in only sleeps; every process is
# started here and stopped by pid.
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET_FILES = {
    "IVR_ARI_PASSWORD": "ari_password",
    "IVR_API_TOKEN": "api_token",
    "IVR_AMI_PASSWORD": "ami_password",
    "IVR_REDIS_PASSWORD": "redis_password",
    "IVR_WATCHDOG_AMI_PASSWORD": "watchdog_ami_password",
}
CONTROL_PLANE_SECRETS = {"IVR_ARI_PASSWORD", "IVR_API_TOKEN", "IVR_AMI_PASSWORD", "IVR_REDIS_PASSWORD"}
WATCHDOG_SECRETS = {"IVR_WATCHDOG_AMI_PASSWORD", "IVR_REDIS_PASSWORD"}
PIDFILES = {"run": "control-plane.pid", "watchdog": "watchdog.pid"}

FAKE_PYTHON = """#!/bin/bash
# Stand-in for `python -m ivr SERVICE`: records its arguments and environment, exits
# with the status in FAKE_DIR/SERVICE.exit if there is one, else runs until TERM.
service=$3
printf '%s\\n' "$@" >"$FAKE_DIR/$service.$$.argv"
env >"$FAKE_DIR/$service.$$.env"
echo $$ >>"$FAKE_DIR/$service.starts"
[ ! -f "$FAKE_DIR/$service.exit" ] || exit "$(cat "$FAKE_DIR/$service.exit")"
trap 'echo $$ >>"$FAKE_DIR/$service.terms"; exit 0' TERM
while :; do sleep 0.05; done
"""


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@dataclass
class Rig:
    folder: Path
    env: dict[str, str]
    secrets: dict[str, str]

    @property
    def state(self) -> Path:
        return self.folder / "state"

    @property
    def fake(self) -> Path:
        return self.folder / "fake"

    def starts(self, service: str) -> list[int]:
        path = self.fake / f"{service}.starts"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def terms(self, service: str) -> list[int]:
        path = self.fake / f"{service}.terms"
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def pid(self, service: str) -> int | None:
        path = self.state / PIDFILES[service]
        text = path.read_text().strip() if path.exists() else ""
        return int(text) if text else None

    def started(self, service: str, pid: int) -> tuple[list[str], dict[str, str]]:
        argv = (self.fake / f"{service}.{pid}.argv").read_text().splitlines()
        lines = (self.fake / f"{service}.{pid}.env").read_text().splitlines()
        pairs = [line.split("=", 1) for line in lines if "=" in line]
        return argv, {name: value for name, value in pairs}

    def running(self, service: str) -> int:
        """The pid of the service once it runs and its pid file names it."""

        def check() -> int | None:
            pid = self.pid(service)
            return pid if pid and pid in self.starts(service) and alive(pid) else None

        return int(str(wait_for(check, 10, f"the {service} to run")))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    (tmp_path / "fake").mkdir()
    python = tmp_path / "fake-python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    stored = tmp_path / "state" / "secrets"
    stored.mkdir(parents=True, mode=0o700)
    values = {}
    for variable, name in SECRET_FILES.items():
        values[variable] = secrets.token_urlsafe(18)
        (stored / name).write_text(values[variable] + "\n")
        (stored / name).chmod(0o600)
    env = {
        "PATH": os.environ["PATH"],
        "IVR_STATE_DIR": str(tmp_path / "state"),
        "IVR_CACHE_DIR": str(tmp_path / "cache"),
        "ASTERISK_ROOT": str(tmp_path / "root"),
        "REDIS_PORT": "6399",
        "IVR_PYTHON": str(python),
        "FAKE_DIR": str(tmp_path / "fake"),
    }
    return Rig(tmp_path, env, values)


def as_from_a_terminal() -> None:
    """Ctrl-C as `make run` gets it from a terminal: a test run started in the background
    (CI) has SIGINT ignored, which the supervisor would inherit and could not trap."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def supervisor(rig: Rig) -> Iterator[subprocess.Popen[str]]:
    log = (rig.folder / "supervisor.log").open("w")
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "supervise.sh")],
        env=rig.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        start_new_session=True, preexec_fn=as_from_a_terminal,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for service in PIDFILES:
            for pid in rig.starts(service):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        log.close()


def output(rig: Rig) -> str:
    return (rig.folder / "supervisor.log").read_text()


@pytest.mark.parametrize("service", ["run", "watchdog"])
def test_a_service_that_dies_is_restarted_and_the_other_left_alone(
    rig: Rig, supervisor: subprocess.Popen[str], service: str
) -> None:
    other = "watchdog" if service == "run" else "run"
    first, other_pid = rig.running(service), rig.running(other)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: len(rig.starts(service)) == 2, 5, f"the {service} to be started again")
    second = rig.running(service)
    assert second != first and rig.pid(service) == second
    argv, _ = rig.started(service, second)
    assert argv == ["-m", "ivr", service]
    assert rig.starts(other) == [other_pid] and alive(other_pid), f"the {other} was restarted too"
    assert supervisor.poll() is None
    label = "control plane" if service == "run" else "watchdog"
    assert f"the {label} (pid {first}) was killed by SIGKILL: restarting it in 1 s" in output(rig)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_term_stops_both_and_restarts_nothing(
    rig: Rig, supervisor: subprocess.Popen[str], sig: signal.Signals
) -> None:
    control, watchdog = rig.running("run"), rig.running("watchdog")
    supervisor.send_signal(sig)
    assert supervisor.wait(timeout=15) == 0, output(rig)
    assert rig.terms("run") == [control] and rig.terms("watchdog") == [watchdog]
    assert rig.starts("run") == [control] and rig.starts("watchdog") == [watchdog]
    assert not alive(control) and not alive(watchdog)
    assert sorted(path.name for path in rig.state.glob("*.pid")) == []


def test_a_service_refusing_its_settings_stops_make_run(rig: Rig, supervisor: subprocess.Popen[str]) -> None:
    watchdog = rig.running("watchdog")
    control = rig.running("run")
    (rig.fake / "run.exit").write_text("2")
    os.kill(control, signal.SIGKILL)  # its restart now refuses its settings
    assert supervisor.wait(timeout=15) == 2, output(rig)
    assert len(rig.starts("run")) == 2, "a control plane refusing its settings was started again"
    assert rig.terms("watchdog") == [watchdog] and not alive(watchdog)
    assert "the control plane refused its settings" in output(rig)


def test_a_missing_secret_is_refused_by_name(rig: Rig, supervisor: subprocess.Popen[str]) -> None:
    rig.running("run")
    rig.running("watchdog")
    (rig.state / "secrets" / "watchdog_ami_password").unlink()
    os.kill(rig.running("watchdog"), signal.SIGKILL)
    assert supervisor.wait(timeout=15) == 2, output(rig)
    assert (
        f"IVR_WATCHDOG_AMI_PASSWORD is not set and {rig.state}/secrets/watchdog_ami_password is missing"
        in output(rig)
    )


def test_each_service_gets_its_own_secrets_in_its_environment_only(rig: Rig) -> None:
    # Secrets exported where `make run` runs reach only the service that reads them.
    rig.env["IVR_API_TOKEN"] = rig.secrets["IVR_API_TOKEN"]
    rig.env["IVR_WATCHDOG_AMI_PASSWORD"] = rig.secrets["IVR_WATCHDOG_AMI_PASSWORD"]
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "supervise.sh")],
        env=rig.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started = {service: rig.started(service, rig.running(service)) for service in PIDFILES}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    for service, wanted in (("run", CONTROL_PLANE_SECRETS), ("watchdog", WATCHDOG_SECRETS)):
        argv, env = started[service]
        assert argv == ["-m", "ivr", service]
        given = {name for name in SECRET_FILES if name in env}
        assert given == wanted, f"the {service} got {sorted(given)}"
        assert all(env[name] == rig.secrets[name] for name in wanted), f"the {service}'s secrets differ"
        assert env["IVR_WATCHDOG_STATUS"] == f"{rig.state}/watchdog.json"
        assert env["IVR_REDIS_URL"] == "redis://127.0.0.1:6399/0"
        assert env["IVR_STATE_DIR"] == str(rig.state)
    assert started["watchdog"][1]["IVR_WATCHDOG_HEALTH_URL"] == "http://127.0.0.1:8112/api/health"
    assert started["run"][1]["IVR_ASTERISK_ETC"] == f"{rig.folder}/root/etc/asterisk"


def stop(rig: Rig) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO / "scripts" / "stop.sh")], env=rig.env,
                          capture_output=True, text=True, timeout=90, check=False)  # fmt: skip


def test_make_stop_stops_the_supervisor_and_both_services(
    rig: Rig, supervisor: subprocess.Popen[str]
) -> None:
    control, watchdog = rig.running("run"), rig.running("watchdog")
    done = stop(rig)
    assert done.returncode == 0, done.stderr
    assert supervisor.wait(timeout=5) == 0
    assert rig.terms("run") == [control] and rig.terms("watchdog") == [watchdog]
    assert rig.starts("run") == [control], "the control plane was restarted while stopping"
    assert sorted(path.name for path in rig.state.glob("*.pid")) == []


def test_make_stop_stops_what_a_killed_supervisor_left(rig: Rig, supervisor: subprocess.Popen[str]) -> None:
    control, watchdog = rig.running("run"), rig.running("watchdog")
    supervisor.kill()
    supervisor.wait(timeout=5)
    assert alive(control) and alive(watchdog)
    done = stop(rig)
    assert done.returncode == 0, done.stderr
    assert rig.terms("run") == [control] and rig.terms("watchdog") == [watchdog]
    assert "stopped the control plane" in done.stderr and "stopped the watchdog" in done.stderr


def test_make_stop_leaves_a_process_that_merely_took_a_recorded_pid(rig: Rig) -> None:
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        for name in ("supervisor.pid", *PIDFILES.values()):
            (rig.state / name).write_text(f"{stranger.pid}\n")
        done = stop(rig)
        assert done.returncode == 0, done.stderr
        assert stranger.poll() is None, "make stop killed a process it did not start"
        assert sorted(path.name for path in rig.state.glob("*.pid")) == []
    finally:
        stranger.kill()
        stranger.wait()
