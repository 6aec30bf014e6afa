"""Security on the real stack: Asterisk's SIP, ARI and AMI and the control plane's API
and screening ports listen on loopback only unless configured otherwise; the control
plane refuses to start on a default or guessable secret (outside development mode)
before it touches Asterisk; AMI refuses a wrong secret. (Phones' own passwords and
unknown SIP sources: test_centre_endpoints.py, test_phones.py, test_trunks.py.)"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.stack import ASTERISK_ROOT, Process, Stack, start_control_plane

pytestmark = pytest.mark.integration


def listening(pid: int, protocols: str = "tu") -> set[str]:
    """Local address:port of every TCP listener (t) and bound UDP socket (u) of the process."""
    shown = subprocess.run(
        ["ss", "-H", f"-ln{protocols}p"], capture_output=True, text=True, timeout=10
    ).stdout
    found = set()
    for line in shown.splitlines():
        if f"pid={pid}," in line:  # the first address:port of the line is the local one
            found.add(next(t for t in line.split() if re.fullmatch(r"\S+:\d+", t)))
    return found


def port(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_asterisk_and_the_control_plane_listen_on_loopback_only(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    app = control_plane(["taker01"])
    star = int((ASTERISK_ROOT / "run/asterisk/asterisk.pid").read_text())
    ours = listening(star)
    assert {"127.0.0.1:5060", "127.0.0.1:8088", "127.0.0.1:5038"} <= ours  # SIP, ARI, AMI
    tcp = listening(star, "t")
    assert all(a.startswith("127.0.0.1:") for a in tcp), tcp  # nothing else accepts connections
    # SIP and the RTP range: on loopback only (other UDP sockets are the resolver's, on
    # ephemeral ports, answering nothing they did not ask)
    service = {a for a in ours - tcp if port(a) == 5060 or 10000 <= port(a) <= 20000}
    assert service == {"127.0.0.1:5060"}, ours
    theirs = listening(app.popen.pid)
    assert "127.0.0.1:8112" in theirs and all(a.startswith("127.0.0.1:") for a in theirs), theirs


@pytest.mark.parametrize(
    ("variable", "value"), [("IVR_API_TOKEN", "changemechangeme"), ("IVR_ARI_PASSWORD", "passwordpassword")]
)
def test_the_control_plane_refuses_a_default_secret(
    stack: Stack, tmp_path: Path, variable: str, value: str
) -> None:
    app = start_control_plane(stack, tmp_path / "refused.log", **{variable: value})
    assert app.popen.wait(timeout=20) == 2
    output = app.output()
    assert variable in output and "outside development mode" in output and value not in output
    assert "ARI events connected" not in output


def test_ami_refuses_a_wrong_secret(stack: Stack) -> None:
    with socket.create_connection(("127.0.0.1", 5038), timeout=5) as ami:
        ami.recv(200)  # banner
        ami.sendall(b"Action: Login\r\nUsername: ivr112\r\nSecret: not-the-secret-at-all\r\n\r\n")
        answer = ami.recv(500).decode()
    assert re.search(r"Response: Error", answer) and "Authentication failed" in answer


def test_asterisk_sends_the_control_plane_only_the_events_it_handles(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    control_plane(["taker01"])
    status, app = stack.ari("GET", "/applications/ivr112")
    assert status == 200
    allowed = {item["type"] for item in app["events_allowed"]}
    assert {"StasisStart", "StasisEnd", "PlaybackFinished", "ChannelDtmfReceived"} <= allowed
    assert "ChannelVarset" not in allowed and "ChannelDialplan" not in allowed
