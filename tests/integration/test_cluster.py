"""The cluster form on the real stack: Kamailio in front of two Asterisk nodes, an active
control plane and a standby, the phones registered once at the edge, SIPp as the
operator's trunk, the phones and the fire brigade's desk.

1. Calls spread over both nodes; a call taker registered once answers calls from both,
   and the fire brigade is conferenced into calls on either node.
2. kill -9 of a node: new calls go to the other and are answered; the dead node's callers
   are on the callback list, each with its number and the reason, within 10 s; one of
   them is called back through the live node while the dead one is still down.
3. kill -9 of the active control plane: the standby leads within 3 s and adopts the
   waiting and connected callers of both nodes; every caller reaches a call taker; it
   works by the centre file as it is when it takes over. Callers who gave up while no
   control plane led are ended (found open) and listed for a callback once one leads.
4. Kamailio restarted: established calls keep their media; new calls resume.
4b. kill -9 of edge 1 (the edge the phones registered with): the operator's calls to edge 2
   are answered by those phones, reached through edge 2; an offer rung through edge 1 as it
   died is withdrawn at once, counted as no taker's miss; edge 1, started again, knows the
   phones without their registering again.
5. No control plane: calls the native path took on either node get their records once
   one leads.
Each ends with the leak counts: no channel or bridge left on a node.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cluster_stack import EDGE, EDGE2, NODES, Cluster, leaks, start_cluster, stop_cluster
from tests.integration.stack import CARRIER_IP, SIPP_DIR, Process, Stack, centre_config, wait_for


@pytest.fixture(scope="module")
def cluster(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(stack, tmp_path_factory.mktemp("cluster"))
    yield running
    stop_cluster(running)


@pytest.fixture
def leading(cluster: Cluster, stack: Stack, media: Path) -> Iterator[Process]:
    """cp1, leading, with a 1 s wrap-up; every call taker logged out to begin with."""
    client = stack.redis()
    for key in client.scan_iter("ivr:agent:*"):
        client.delete(key)
    config = str(centre_config(media, wrapup_seconds=1))
    cluster.env["IVR_CENTRE_CONFIG"] = config
    cp1 = cluster.control_plane("cp1")
    cluster.wait_leading("cp1", cp1)
    yield cp1
    cp1.stop()
    wait_for(lambda: not any(leaks(cluster).values()), 15, "the nodes to hold no channel or bridge")


def new_calls(stack: Stack, before: list[str], count: int, timeout: float = 20) -> list[str]:
    def arrived() -> list[str] | None:
        fresh = [c for c in stack.call_ids() if c not in before]
        return fresh if len(fresh) >= count else None

    return list(wait_for(arrived, timeout, f"{count} new call records"))


def entry_at(record: dict[str, Any], entry: str) -> float:
    return float(next(item["at"] for item in record["timeline"] if item["entry"] == entry))


def node(call_id: str) -> str:
    return call_id.partition("-")[0]


def callee(folder: Path) -> Process:
    """A called-back caller's phone, reached through the edge at the operator's trunk: it
    answers and hangs up after 3 s."""
    args = ["sipp", "-sf", str(SIPP_DIR / "edge_answers_hangs_up.xml"), "-i", CARRIER_IP, "-p", "5060",
            "-mi", CARRIER_IP, "-mp", "6600", "-m", "1", "-d", "3000", "-nostdin", "-trace_err",
            "-error_file", str(folder / "callee_errors.log")]  # fmt: skip
    return Process(args, folder / "callee.out", cwd=folder)


def reachable(cluster: Cluster, name: str, *takers: str) -> bool:
    status, body = cluster.api(name, "GET", "/api/takers")
    return status == 200 and all(t["reachable"] for t in body if t["id"] in takers)


def test_calls_reach_both_nodes_and_a_taker_registered_once_answers_them_all(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    cluster.phone("taker01", media)
    cluster.phone("damkar", media)
    wait_for(lambda: reachable(cluster, "cp1", "taker01"), 15, "taker01 reachable through the edge")
    cluster.login("cp1", "taker01")
    answered: dict[str, str] = {}  # node -> call answered there
    for n in range(4):
        before = stack.call_ids()
        caller = cluster.calls(media, [f"0812710000{n:02d}"], rate=1, hold_ms=9000, port=5062 + n)
        (call_id,) = new_calls(stack, before, 1)
        record = stack.wait_entry(call_id, "connected", timeout=20)
        assert record["taker"] == "taker01"
        status, body = cluster.api("cp1", "POST", f"/api/calls/{call_id}/agencies", {"agency": "damkar"})
        assert status == 202, body
        stack.wait_entry(call_id, "agency-joined", timeout=20)
        assert caller.popen.wait(timeout=40) == 0, caller.output()
        assert stack.wait_ended(call_id, timeout=15)["outcome"] == "answered"
        answered.setdefault(node(call_id), call_id)
        if set(answered) == set(NODES):
            break
        time.sleep(1.5)  # taker01's wrap-up
    assert set(answered) == set(NODES), f"calls reached only {sorted(answered)}"


def test_a_dead_node_sends_new_calls_to_the_other_and_its_callers_to_the_callback_list(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    before = stack.call_ids()
    numbers = [f"08127200{n:04d}" for n in range(6)]
    waiting = cluster.calls(media, numbers, rate=4, hold_ms=20000, port=5070)  # nobody is logged in
    calls = new_calls(stack, before, len(numbers))
    on_a1 = [c for c in calls if node(c) == "a1"]
    assert on_a1 and len(on_a1) < len(calls), f"calls not spread over the nodes: {calls}"
    for call_id in calls:
        stack.wait_entry(call_id, "answered", timeout=20)

    killed = time.time()
    cluster.kill_node("a1")
    before = stack.call_ids()
    later = cluster.calls(media, [f"08127300{n:04d}" for n in range(4)], rate=4, hold_ms=4000, port=5080)
    fresh = new_calls(stack, before, 4)
    assert {node(c) for c in fresh} == {"a2"}, fresh
    first = min(float(stack.record(c)["arrived_at"]) for c in fresh) - killed
    answer = min(entry_at(stack.wait_entry(c, "answered"), "answered") for c in fresh) - killed
    print(f"first new call reached a2 {first:.2f} s after the kill and was answered {answer:.2f} s after it")
    assert answer <= 2.0
    assert later.popen.wait(timeout=40) == 0, later.output()  # every new call answered and ended well

    def listed() -> list[dict[str, Any]] | None:
        status, body = cluster.api("cp1", "GET", "/api/callbacks")
        entries = [e for e in body["callbacks"] if e["call_id"] in on_a1] if status == 200 else []
        return entries if len(entries) == len(on_a1) else None

    entries = wait_for(listed, 10 - (time.time() - killed), "the dead node's callers on the callback list")
    print(f"{len(entries)} callers of a1 on the callback list {time.time() - killed:.2f} s after the kill")
    for entry in entries:
        assert entry["caller"] in numbers and entry["outcome"] == "cut-off" and "node" in entry["reason"]
    waiting.popen.wait(timeout=60)  # a2's callers hang up; a1's hang-ups find no node (SIPp fails them)

    # With a1 still down, one of its callers is called back through a2 and talks to a taker.
    cluster.phone("taker02", media, hold_ms=4000)
    wait_for(lambda: reachable(cluster, "cp1", "taker02"), 15, "taker02 reachable through the edge")
    cluster.login("cp1", "taker02")
    answering = callee(media)
    cut_off = entries[0]["call_id"]
    status, body = cluster.api("cp1", "POST", f"/api/callbacks/{cut_off}", {"taker": "taker02"})
    assert status == 202, body
    callback = body["callback"]
    stack.wait_entry(callback, "callee-answered", timeout=30)
    on_a2 = {c["id"] for c in cluster.channels("a2")}
    assert {f"{callback}-t1", f"{callback}-out"} <= on_a2, on_a2
    assert stack.wait_ended(callback, timeout=30)["outcome"] == "callback-reached"
    assert answering.popen.wait(timeout=20) == 0, answering.output()

    cluster.start_node("a1")
    wait_for(lambda: cluster.api("cp1", "GET", "/api/health")[1]["nodes"]["a1"] == "connected", 40, "a1 back")


def test_the_standby_leads_when_the_active_dies_and_adopts_every_caller(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    cp2 = cluster.control_plane("cp2")
    wait_for(lambda: cluster.role("cp2") == "standby", 15, "cp2 to stand by")
    for taker in ("taker01", "taker02"):
        cluster.phone(taker, media)
    wait_for(lambda: reachable(cluster, "cp1", "taker01", "taker02"), 15, "the takers reachable")
    cluster.login("cp1", "taker01", "taker02")
    before = stack.call_ids()
    talking = cluster.calls(media, ["081274000001", "081274000002"], rate=4, hold_ms=10000, port=5090)
    first = new_calls(stack, before, 2)
    for call_id in first:
        stack.wait_entry(call_id, "connected", timeout=20)
    before = stack.call_ids()
    queued = cluster.calls(media, ["081274000003", "081274000004"], rate=4, hold_ms=40000, port=5094)
    second = new_calls(stack, before, 2)
    for call_id in second:
        stack.wait_entry(call_id, "answered", timeout=20)  # greeted, then waiting: both takers busy
    assert {node(c) for c in first + second} == set(NODES), first + second

    # The centre file changes while cp2 stands by: a known emergency line is added.
    centre_config(media, rules={"081274000009": "emergency"}, wrapup_seconds=1)
    leading.popen.kill()  # kill -9 of the active control plane
    killed = time.monotonic()
    wait_for(lambda: cluster.role("cp2") == "active", 5, "cp2 to lead")
    led = time.monotonic() - killed
    wait_for(lambda: cp2.output().count("reconciled:") >= len(NODES), 5, "cp2 to reconcile both nodes")
    adopted = [c for c in first + second if f"adopting call {c}" in cp2.output()]
    print(f"cp2 led {led:.2f} s after cp1 was killed and adopted {len(adopted)} of 4 calls")
    assert led <= 3.0
    assert adopted == first + second, cp2.output()[-3000:]

    assert talking.popen.wait(timeout=30) == 0, talking.output()
    for call_id in second:  # the waiting callers reach the takers freed by the first two
        stack.wait_entry(call_id, "connected", timeout=30)
    assert queued.popen.wait(timeout=60) == 0, queued.output()
    for call_id in first + second:
        assert stack.wait_ended(call_id, timeout=15)["outcome"] == "answered"
    assert "taking over: centre configuration" in cp2.output()
    before = stack.call_ids()
    known = cluster.calls(media, ["081274000009"], rate=1, hold_ms=3000, port=5098)
    (call_id,) = new_calls(stack, before, 1)
    arrived = next(e for e in stack.wait_entry(call_id, "answered")["timeline"] if e["entry"] == "arrived")
    assert arrived["level"] == "emergency", arrived  # the file as it is now, not as cp2 started with
    assert known.popen.wait(timeout=30) == 0, known.output()
    cp2.stop()


def test_callers_who_leave_while_no_control_plane_leads_are_ended_when_one_takes_over(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    """Two callers wait (one per node, nobody logged in); the active control plane dies
    and the standby is held still until both callers have given up. Nobody saw them go:
    once the standby leads, each record ends (abandoned while waiting, found open) and
    both callers are on its callback list."""
    cp2 = cluster.control_plane("cp2")
    wait_for(lambda: cluster.role("cp2") == "standby", 15, "cp2 to stand by")
    before = stack.call_ids()
    numbers = ["081274000021", "081274000022"]
    waiting = cluster.calls(media, numbers, rate=4, hold_ms=14000, port=5102)
    calls = new_calls(stack, before, 2)
    assert {node(c) for c in calls} == set(NODES), calls
    for call_id in calls:
        stack.wait_entry(call_id, "greeting-done", timeout=20)
    cp2.popen.send_signal(signal.SIGSTOP)  # the standby held still: no control plane leads
    try:
        leading.popen.kill()
        assert waiting.popen.wait(timeout=30) == 0, waiting.output()  # both gave up, unseen
        assert not any(stack.record(c).get("ended_at") for c in calls)
    finally:
        cp2.popen.send_signal(signal.SIGCONT)
    wait_for(lambda: cluster.role("cp2") == "active", 10, "cp2 to lead")
    for call_id in calls:
        record = stack.wait_ended(call_id, timeout=30)
        assert record["outcome"] == "abandoned-in-queue" and record["by"] == "found open", record
        assert [e["entry"] for e in record["timeline"]][-2:] == ["unattended", "ended"]
    listed = {e["caller"] for e in cluster.api("cp2", "GET", "/api/callbacks")[1]["callbacks"]}
    assert set(numbers) <= listed, listed
    cp2.stop()


def test_an_edge_restart_keeps_established_calls_and_new_calls_resume(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    cluster.phone("taker01", media)
    wait_for(lambda: reachable(cluster, "cp1", "taker01"), 15, "taker01 reachable through the edge")
    cluster.login("cp1", "taker01")
    before = stack.call_ids()
    talking = cluster.calls(media, ["081275000001"], rate=1, hold_ms=12000, port=5100)
    (call_id,) = new_calls(stack, before, 1)
    stack.wait_entry(call_id, "connected", timeout=20)

    def received() -> int:
        return int(cluster.ari(node(call_id), f"/channels/{call_id}/rtp_statistics")["rxcount"])

    heard = received()
    cluster.restart_edge()
    time.sleep(1.0)
    assert received() > heard + 50, "the caller's audio stopped with the edge"  # 50 packets: 1 s
    assert talking.popen.wait(timeout=30) == 0, talking.output()  # its hang-up passes the new edge
    assert stack.wait_ended(call_id, timeout=15)["outcome"] == "answered"

    before = stack.call_ids()
    later = cluster.calls(media, ["081275000002"], rate=1, hold_ms=2000, port=5104)
    (fresh,) = new_calls(stack, before, 1)
    stack.wait_entry(fresh, "answered", timeout=10)
    assert later.popen.wait(timeout=30) == 0, later.output()


def test_a_dead_edge_leaves_the_phones_reached_through_the_other_edge(
    cluster: Cluster, stack: Stack, leading: Process, media: Path
) -> None:
    for taker in ("taker01", "taker02"):
        cluster.phone(taker, media)  # registered at edge 1 only
    wait_for(lambda: reachable(cluster, "cp1", "taker01", "taker02"), 15, "the takers reachable")
    cluster.login("cp1", "taker01", "taker02")

    killed = time.time()
    cluster.kill_edge(EDGE)
    try:
        before = stack.call_ids()
        numbers = [f"08127700{n:04d}" for n in range(2)]  # one for each taker
        later = cluster.calls(media, numbers, rate=2, hold_ms=12000, port=5120, edge=EDGE2)
        fresh = new_calls(stack, before, len(numbers))
        for call_id in fresh:
            record = stack.wait_entry(call_id, "connected", timeout=30)
            assert record["taker"] in ("taker01", "taker02"), record
        first = min(entry_at(stack.record(c), "connected") for c in fresh) - killed
        print(f"edge 1 killed: the first caller through edge 2 was connected to a taker {first:.2f} s later")
        assert later.popen.wait(timeout=60) == 0, later.output()
        for call_id in fresh:
            record = stack.wait_ended(call_id, timeout=15)
            assert record["outcome"] == "answered", record
            withdrawn = [item for item in record["timeline"] if item["entry"] == "offer-failed"]
            if withdrawn:  # an offer placed through edge 1 as it died, withdrawn at once
                print(f"{call_id}: offer through the dead edge withdrawn: {withdrawn}")
        status, takers = cluster.api("cp1", "GET", "/api/takers")
        assert status == 200
        for taker in takers:
            if taker["id"] in ("taker01", "taker02"):
                assert taker["missed_in_a_row"] == 0 and taker["declared"] != "paused", taker
        status, health = cluster.api("cp1", "GET", "/api/health")
        assert health["edges"] == {EDGE: "down", EDGE2: "up"}, health
        assert any(f"SIP edge {EDGE} does not answer" in alarm for alarm in health["alarms"]), health
    finally:
        cluster.start_edge(EDGE)

    # Edge 1 back: it asks edge 2 for the registrations, so a call to it reaches a phone that
    # registered before the death and never since.
    wait_for(lambda: cluster.api("cp1", "GET", "/api/health")[1]["edges"][EDGE] == "up", 5, "edge 1 up")
    before = stack.call_ids()
    back = cluster.calls(media, ["081277009999"], rate=1, hold_ms=12000, port=5124)
    (call_id,) = new_calls(stack, before, 1)
    assert stack.wait_entry(call_id, "connected", timeout=30)["taker"] in ("taker01", "taker02")
    assert back.popen.wait(timeout=40) == 0, back.output()


def test_calls_the_native_queue_took_on_either_node_get_records(
    cluster: Cluster, stack: Stack, media: Path
) -> None:
    """No control plane: each node's dialplan answers and greets its caller itself (the
    native path) and leaves a line in that node's database; once a control plane leads,
    it reads every node's lines, so both calls get their records."""
    before = stack.call_ids()
    callers = cluster.calls(media, ["081276000001", "081276000002"], rate=2, hold_ms=3000, port=5110)
    assert callers.popen.wait(timeout=30) == 0, callers.output()
    assert stack.call_ids() == before, "no control plane was running, yet a record appeared"
    cp1 = cluster.control_plane("cp1")
    cluster.wait_leading("cp1", cp1)
    calls = new_calls(stack, before, 2, timeout=30)
    assert {node(c) for c in calls} == set(NODES), calls
    for call_id in calls:
        record = stack.wait_ended(call_id, timeout=15)
        assert record["outcome"] == "abandoned-in-greeting", record
        assert record["caller"] in ("081276000001", "081276000002")
    cp1.stop()
    wait_for(lambda: not any(leaks(cluster).values()), 15, "the nodes to hold no channel or bridge")
