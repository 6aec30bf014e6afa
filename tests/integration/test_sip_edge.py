"""The cluster's SIP edge on the real Kamailio (scripts/edge-start.sh, rendered from the
shipped centre configuration), with SIPp as the operator's trunk, the phones and two
Asterisk nodes: an operator's calls reach both nodes, marked with the trunk the edge
recognised by source address (a forged mark is replaced); a source that is no trunk is
refused; a phone registers with its own password only, a node reaches it through the edge
(a phone not registered: 404, also to a node's qualify) and an offer the node gives up on
is cancelled at the phone; a registered phone's call reaches a node marked with its name;
with one node dead, every new call is answered by the other within 2 s. The edge relays
nothing in a dialog that involves no node."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.edge_stack import (
    CARRIER_IP,
    EDGE,
    NODES,
    STRANGER_IP,
    Edge,
    answering,
    header,
    invites,
    sip_status,
    sipp,
    start_edge,
    stop_edge,
    wait_active,
)
from tests.integration.stack import SIPP_DIR, Process, wait_for

pytestmark = pytest.mark.integration

TAKER01_IP, TAKER02_IP, TAKER03_IP = "127.0.0.11", "127.0.0.12", "127.0.0.13"


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    started = start_edge()
    try:
        yield started
    finally:
        stop_edge(started)


@pytest.fixture
def nodes(edge: Edge, tmp_path: Path) -> dict[str, Process]:
    """Both nodes answering, and active at the edge (a node a test stopped is back)."""
    running = {name: answering(ip, tmp_path, name) for name, ip in NODES.items()}
    wait_active(edge, *NODES)
    return running


def trunk_calls(folder: Path, count: int, rate: int = 10) -> int:
    return sipp(folder, "edge_call.xml", CARRIER_IP, 5070, "-s", "112", "-m", str(count),
                "-r", str(rate), "-d", "200")  # fmt: skip


def test_trunk_calls_reach_both_nodes_marked_with_the_trunk(
    nodes: dict[str, Process], tmp_path: Path
) -> None:
    assert trunk_calls(tmp_path, 6) == 0
    received = {name: invites(tmp_path, name) for name in NODES}
    assert len(received["a1"]) == len(received["a2"]) == 3  # round robin
    for invite in received["a1"] + received["a2"]:
        assert header(invite, "X-Ivr112-Trunk") == ["carrier"]
        assert header(invite, "X-Ivr112-Phone") == []  # the caller's own (forged) marks removed
        assert header(invite, "Record-Route") == ["<sip:127.0.0.50;lr>"]


def test_a_source_that_is_no_trunk_is_refused(nodes: dict[str, Process], edge: Edge, tmp_path: Path) -> None:
    assert sipp(tmp_path, "edge_refused.xml", STRANGER_IP, 5070, "-s", "112") == 0  # 403
    assert sipp(tmp_path, "edge_refused.xml", STRANGER_IP, 5071, "-s", "taker01") == 0  # not a node either
    assert not invites(tmp_path, "a1") and not invites(tmp_path, "a2")
    assert "edge: refused INVITE from 127.0.0.9" in edge.log()
    assert sip_status(STRANGER_IP, "OPTIONS", f"sip:{EDGE}") == 200  # keepalive to the edge itself
    # a forged in-dialog request routed through the edge to anything but a node: refused
    route = "Route: <sip:127.0.0.50;lr>\r\n"
    assert sip_status(STRANGER_IP, "BYE", "sip:x@127.0.0.99:5060", route, to_tag="t1") == 403


def test_a_phone_registers_with_its_password_and_a_node_reaches_it(
    nodes: dict[str, Process], edge: Edge, tmp_path: Path
) -> None:
    wrong = ("-au", "taker02", "-ap", edge.password("taker01"))
    assert sipp(tmp_path, "register_wrong_password.xml", TAKER02_IP, 5060, "-s", "taker02", *wrong) == 0
    right = ("-au", "taker01", "-ap", edge.password("taker01"))
    assert sipp(tmp_path, "register.xml", TAKER01_IP, 5060, "-s", "taker01", *right) == 0
    answering(TAKER01_IP, tmp_path, "taker01")
    node = NODES["a1"]
    # a node's qualify of each phone: relayed to the registered one, 404 for the other
    assert sip_status(node, "OPTIONS", f"sip:taker01@{EDGE}") == 200
    assert sip_status(node, "OPTIONS", f"sip:taker02@{EDGE}") == 404
    assert sipp(tmp_path, "edge_call.xml", node, 5071, "-s", "taker01", "-d", "200") == 0
    (offer,) = invites(tmp_path, "taker01")
    assert offer.startswith(f"INVITE sip:taker01@{TAKER01_IP}:5060")
    assert "X-Ivr112" not in offer and header(offer, "Record-Route") == ["<sip:127.0.0.50;lr>"]
    assert sipp(tmp_path, "rejected.xml", node, 5072, "-s", "taker02", "-key", "caller", "a1") == 0  # 404


def test_a_nodes_offer_given_up_while_ringing_is_cancelled_at_the_phone(
    nodes: dict[str, Process], edge: Edge, tmp_path: Path
) -> None:
    credentials = ("-au", "taker03", "-ap", edge.password("taker03"))
    assert sipp(tmp_path, "register.xml", TAKER03_IP, 5060, "-s", "taker03", *credentials) == 0
    phone = answering(TAKER03_IP, tmp_path, "taker03", "phone_no_answer.xml")
    assert sipp(tmp_path, "edge_call_cancelled.xml", NODES["a2"], 5074, "-s", "taker03") == 0
    wait_for(lambda: "CANCEL sip:taker03@127.0.0.13:5060" in (tmp_path / "taker03.msg").read_text(), 5,
             "the CANCEL at the phone")  # fmt: skip
    assert phone.alive()


def test_a_registered_phones_call_reaches_a_node_marked_with_its_name(
    nodes: dict[str, Process], edge: Edge, tmp_path: Path
) -> None:
    credentials = ("-au", "taker01", "-ap", edge.password("taker01"))
    assert sipp(tmp_path, "register.xml", TAKER01_IP, 5060, "-s", "taker01", *credentials) == 0
    call = ("-s", "112", "-key", "phone", "taker01", "-d", "200", *credentials)
    assert sipp(tmp_path, "edge_phone_call.xml", TAKER01_IP, 5073, *call) == 0
    (invite,) = invites(tmp_path, "a1") + invites(tmp_path, "a2")
    assert header(invite, "X-Ivr112-Phone") == ["taker01"]  # the phone's forged one replaced
    assert header(invite, "X-Ivr112-Trunk") == []
    assert "Proxy-Authorization" not in invite  # the phone's credentials stay at the edge


def test_with_one_node_dead_every_new_call_is_answered_by_the_other_within_2_s(
    nodes: dict[str, Process], edge: Edge, tmp_path: Path
) -> None:
    nodes["a1"].stop(signal.SIGKILL)
    killed = time.monotonic()
    # 10 calls at 10/s from the moment of the kill; edge_call.xml fails a call whose 200 OK
    # takes over 2 s
    calls = Process(["sipp", EDGE, "-sf", str(SIPP_DIR / "edge_call.xml"), "-s", "112", "-i", CARRIER_IP,
                     "-p", "5070", "-mi", CARRIER_IP, "-m", "10", "-r", "10", "-d", "200", "-nostdin",
                     "-timeout", "30", "-timeout_error", "-trace_err",
                     "-error_file", str(tmp_path / "failover_errors.log")],
                    tmp_path / "failover.out", cwd=tmp_path)  # fmt: skip
    wait_for(lambda: edge.nodes_state()["a1"].startswith("I"), 3, "a1 marked down at the edge")
    assert time.monotonic() - killed < 2.0
    wait_for(lambda: not calls.alive(), 20, "the calls to end")
    errors = tmp_path / "failover_errors.log"
    assert calls.stop() == 0, errors.read_text() if errors.exists() else calls.output()
    assert len(invites(tmp_path, "a2")) == 10  # every call answered by a2
    assert "node sip:127.0.0.51:5060 failed (408), trying the next one" in edge.log()
    # back up: a1 answers probes again and takes calls
    answering(NODES["a1"], tmp_path, "a1-again")
    wait_active(edge, "a1")
    assert trunk_calls(tmp_path, 2) == 0
    assert len(invites(tmp_path, "a1-again")) == 1
