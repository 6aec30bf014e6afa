"""The container images, built and run: `make images` builds them with podman, the compose
stack of docker/compose.yaml comes up with podman-compose (scripts/compose.sh), a carrier
calls 112 through the containers, a call taker's SIPp phone registered with its own SIP
password answers, and the call's record and recording are there; then the stack goes.

Rules: the stack runs beside the other tests' (their Asterisk is on 127.0.0.1:5060): its
own SIP port, ARI, AMI, API and Redis ports, its own project name, volumes and secrets (in
a folder of the test, owned as docker/README.md says). Everything the test started is
removed at its end, volumes included, whatever happened.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import (
    CARRIER_IP,
    REPO,
    SIPP_DIR,
    Process,
    make_audio,
    taker_ip,
    wait_for,
)

pytestmark = pytest.mark.integration

PROJECT = "k112compose"
SIP = "127.0.0.1:5160"
PORTS = {
    "SIP_BIND": SIP,
    "SIP_TLS_BIND": "127.0.0.1:5162",
    "ASTERISK_HTTP_PORT": "8188",
    "AMI_PORT": "5138",
    "IVR_HTTP_PORT": "8212",
    "REDIS_PORT": "6480",
}
SECRETS = (
    "ivr_ari_password",
    "ivr_ami_password",
    "ivr_api_token",
    "ivr_redis_password",
    "ivr_watchdog_ami_password",
    "ivr_asterisk_metrics_password",
)
CONTROL_PLANE_UID = 1112  # the user ivr of the control-plane image (docker/README.md, "Secrets")


@dataclass
class ComposeStack:
    folder: Path
    env: dict[str, str]
    token: str

    def api(self, method: str, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{PORTS['IVR_HTTP_PORT']}{path}",
            method=method,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                body = reply.read()
                kind = reply.headers.get("Content-Type", "")
                return reply.status, json.loads(body) if "json" in kind else body
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def volume(self, name: str) -> Path:
        done = podman("volume", "inspect", f"{PROJECT}_{name}", "--format", "{{.Mountpoint}}", env=self.env)
        return Path(done.stdout.strip())

    def logs(self) -> str:
        out = []
        for service in ("redis", "centre-config", "asterisk", "control-plane", "watchdog"):
            done = podman("logs", "--tail", "40", f"{PROJECT}_{service}_1", env=self.env, check=False)
            out.append(f"--- {service}\n{done.stdout}{done.stderr}")
        return "\n".join(out)


def podman(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, check=check, timeout=120
    )


def script(name: str, *args: str, env: dict[str, str], timeout: int) -> None:
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"scripts/{name} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    if os.geteuid() != 0:
        raise RuntimeError("the compose test runs podman as root")
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(REPO / "docker" / "compose.yaml", folder / "compose.yaml")
    (folder / "secrets").mkdir(mode=0o700)
    for name in SECRETS:
        path = folder / "secrets" / name
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
        os.chown(path, CONTROL_PLANE_UID, -1)  # the control plane reads them as ivr; root reads them too
    env = {
        **os.environ,
        **PORTS,
        "COMPOSE_DIR": str(folder),
        "COMPOSE_PROJECT": PROJECT,
        "IVR_QUEUE_DIR": str(REPO / "queue"),
    }
    script("images.sh", env=env, timeout=1500)
    stack = ComposeStack(folder, env, (folder / "secrets" / "ivr_api_token").read_text().strip())
    try:
        script("compose.sh", "up", env=env, timeout=400)
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        script("compose.sh", "down", "-v", env=env, timeout=180)


def sipp(folder: Path, log: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sipp", SIP, *args, "-m", "1", "-nostdin", "-timeout", "60", "-timeout_error",
         "-trace_err", "-error_file", str(folder / f"{log}_errors.log")],
        cwd=folder, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def test_a_call_through_the_containers_is_answered_recorded_and_on_record(
    compose_stack: ComposeStack, tmp_path: Path
) -> None:
    stack = compose_stack
    make_audio(tmp_path)
    # taker01's phone answers where it registers from (its password: the control plane's state volume).
    password = (stack.volume("control-plane-state") / "secrets" / "sip_taker01").read_text().strip()
    ip = taker_ip("taker01")
    phone = Process(
        ["sipp", "-sf", str(SIPP_DIR / "phone_answers.xml"), "-i", ip, "-p", "5060", "-mi", ip,
         "-aa", "-d", "3000", "-nostdin"],
        tmp_path / "phone.out", cwd=tmp_path,
    )  # fmt: skip
    registered = sipp(tmp_path, "register", "-sf", str(SIPP_DIR / "register_as.xml"), "-s", "taker01",
                      "-au", "taker01", "-ap", password, "-i", ip, "-p", "5070",
                      "-key", "contact", f"<sip:taker01@{ip}:5060>", "-key", "expires", "600")  # fmt: skip
    assert registered.returncode == 0, (tmp_path / "register_errors.log").read_text(errors="replace")

    def reachable() -> bool:
        status, takers = stack.api("GET", "/api/v1/takers")
        return status == 200 and any(t["id"] == "taker01" and t["reachable"] for t in takers)

    wait_for(reachable, 20, "taker01's registered phone to be reachable through the containers")
    status, _ = stack.api("POST", "/api/v1/takers/taker01/login")
    assert status == 200

    call = sipp(tmp_path, "carrier", "-sf", str(SIPP_DIR / "caller.xml"), "-s", "112",
                "-key", "caller", "081299887766", "-i", CARRIER_IP, "-p", "5060", "-mi", CARRIER_IP,
                "-d", "6000")  # fmt: skip
    assert call.returncode == 0, (tmp_path / "carrier_errors.log").read_text(errors="replace")
    assert phone.alive()

    def archived() -> dict[str, Any] | None:
        status, history = stack.api("GET", "/api/v1/history")  # today's calls: only this one
        rows = history["calls"] if status == 200 else []
        return next((r for r in rows if r["outcome"]), None)

    row = wait_for(archived, 20, "the call in the control plane's history")
    assert row["outcome"] == "answered", row
    assert row["taker"] == "taker01"
    assert row["caller"].endswith("99887766") or row["caller"] == "081299887766"
    entries = [e["entry"] for e in row["record"]["timeline"]]
    assert "taker-answered" in entries and "ended" in entries, entries

    status, audio = stack.api("GET", f"/api/v1/calls/{row['call_id']}/recording")
    assert status == 200 and isinstance(audio, bytes) and audio[:4] == b"RIFF", (status, audio[:200])
    assert len(audio) > 8000 * 2, "the recording holds less than a second of audio"
    files = [p for p in stack.volume("recordings").rglob("*") if p.is_file()]
    assert files, "no recording in the recordings volume"
