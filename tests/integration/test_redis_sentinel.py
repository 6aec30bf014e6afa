"""Redis with Sentinel on the real stack: a primary, a replica and three Sentinels
(scripts/sentinel-start.sh) on their own loopback addresses, the control plane finding the
primary through the Sentinels. The primary is killed (SIGKILL) in the middle of a run of
SIPp calls, and a call taker's status is changed at that moment: Sentinel promotes the
replica, the control plane follows, and every call has its whole record (arrived ...
ended, with its outcome) and the status change is there, all in the new primary; nothing
is left behind (no channel, bridge, screening, RTP port or recognizer; no record held in
memory). The old primary then comes back as the new one's replica, never as an empty
primary. The time the control plane needed to follow is printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.stack import REPO, Process, Stack, centre_config, place_calls, wait_for

pytestmark = pytest.mark.integration
PRIMARY, REPLICA = "127.0.0.55:6501", "127.0.0.56:6502"
SENTINELS = "127.0.0.57:26501,127.0.0.57:26502,127.0.0.57:26503"
SERVICE = "ivr112"
TAKERS = [f"taker{n:02d}" for n in range(1, 5)]
PAUSED = "taker05"  # logged in without a phone: its status changes, it takes no call
CALLS = 8


def node(stack: Stack, address: str) -> redis.Redis:
    host, port = address.rsplit(":", 1)
    password = stack.env["IVR_REDIS_PASSWORD"]
    return redis.Redis(host=host, port=int(port), password=password, decode_responses=True, socket_timeout=2)


def primary_named(stack: Stack) -> str:
    """The primary the first Sentinel names, as host:port."""
    host, port = node(stack, SENTINELS.split(",")[0]).execute_command(
        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
    )
    return f"{host}:{port}"


def pid_of(sentinel_set: dict[str, str], address: str) -> int:
    host, port = address.rsplit(":", 1)
    return int((Path(sentinel_set["SENTINEL_DIR"]) / f"redis-{host}-{port}" / "redis.pid").read_text())


def record(client: redis.Redis, call_id: str) -> dict[str, Any]:
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(f"ivr:call:{call_id}")
    pipe.lrange(f"ivr:call:{call_id}:timeline", 0, -1)
    fields, timeline = pipe.execute()
    return {**fields, "timeline": [json.loads(item) for item in timeline]}


@pytest.fixture
def sentinel_set(stack: Stack, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **stack.env,
        "REDIS_PRIMARY": PRIMARY,
        "REDIS_REPLICA": REPLICA,
        "IVR_REDIS_SENTINELS": SENTINELS,
        "IVR_REDIS_SERVICE": SERVICE,
        "SENTINEL_DIR": str(tmp_path / "sentinel-set"),
    }
    try:
        subprocess.run(["bash", str(REPO / "scripts" / "sentinel-start.sh")], env=env, check=True, timeout=60)
        yield env
    finally:  # by pid, whatever happened
        subprocess.run(["bash", str(REPO / "scripts" / "sentinel-stop.sh")], env=env, check=False, timeout=90)


def test_the_control_plane_follows_a_failover_and_no_record_or_status_change_is_lost(
    stack: Stack,
    sentinel_set: dict[str, str],
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
) -> None:
    config = centre_config(media, wrapup_seconds=1)
    app = control_plane(
        [*TAKERS, PAUSED],
        IVR_CENTRE_CONFIG=str(config),
        IVR_REDIS_SENTINELS=SENTINELS,
        IVR_REDIS_SERVICE=SERVICE,
    )
    for taker in TAKERS:
        phones(taker, "phone_hangs_up.xml", hold_ms=4000)
    first, second = node(stack, PRIMARY), node(stack, REPLICA)
    wait_for(
        lambda: first.hget(f"ivr:agent:{PAUSED}", "declared") == "available", 5, "the logins in the primary"
    )

    callers = place_calls(media, [f"0816{i:06d}" for i in range(CALLS)], rate=1)
    wait_for(lambda: first.zcard("ivr:calls") >= 3, 20, "three calls recorded in the primary")
    os.kill(pid_of(sentinel_set, PRIMARY), signal.SIGKILL)
    killed = time.monotonic()
    status, body = stack.api("POST", f"/api/takers/{PAUSED}/pause", {"reason": "rapat"})
    assert status == 200 and body["declared"] == "paused", (status, body)

    wait_for(
        lambda: second.hget(f"ivr:agent:{PAUSED}", "declared") == "paused", 20, "the pause in the new primary"
    )
    followed = time.monotonic() - killed
    assert primary_named(stack) == REPLICA and second.info("replication")["role"] == "master"
    print(f"\nthe control plane wrote to the new primary {followed:.2f} s after the old one was killed")

    assert callers.popen.wait(timeout=90) == 0, callers.output()
    ids = second.zrange("ivr:calls", 0, -1)
    assert len(ids) == CALLS, f"{len(ids)} of {CALLS} calls have a record in the new primary"
    for call_id in ids:
        found = wait_for(
            lambda c=call_id: (r := record(second, c)).get("outcome") and r, 20, f"{call_id} ended"
        )
        entries = [e["entry"] for e in found["timeline"]]
        assert entries[0] == "arrived" and entries[-1] == "ended" and entries.count("ended") == 1, (
            call_id,
            entries,
        )
        assert found["outcome"] == "answered" and found["taker"] in TAKERS, (call_id, found)
        assert "connected" in entries, (call_id, entries)
    audit = [json.loads(a) for a in second.lrange("ivr:agent-audit", 0, -1)]
    assert [a["declared"] for a in audit if a["agent"] == PAUSED] == ["available", "paused"], audit

    # Nothing left behind, nothing held in memory.
    wait_for(lambda: stack.channels() == [], 15, "no channel left in Asterisk")
    wait_for(lambda: stack.ari("GET", "/bridges")[1] == [], 15, "no bridge left in Asterisk")
    held = stack.api("GET", "/api/screening")[1]
    assert held["sessions"] == [] and held["rtp_ports_in_use"] == [], held
    assert held["recognizers"] is None or held["recognizers"]["busy"] == 0, held
    wait_for(
        lambda: not stack.api("GET", "/api/health")[1]["alarms"], 10, "no alarm (no record held in memory)"
    )
    assert "Traceback" not in app.output()

    # The old primary comes back as the new one's replica, with every record.
    subprocess.run(
        ["bash", str(REPO / "scripts" / "sentinel-start.sh")], env=sentinel_set, check=True, timeout=60
    )
    assert first.info("replication")["role"] == "slave" and first.info("replication")["master_port"] == 6502
    assert sorted(first.zrange("ivr:calls", 0, -1)) == sorted(ids)
    assert primary_named(stack) == REPLICA
