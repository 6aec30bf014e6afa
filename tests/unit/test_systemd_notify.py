# The systemd notify protocol (ivr.adapters.systemd_notify): READY and heartbeats reach
# the socket systemd names (path or abstract), heartbeats come every half WatchdogSec from
# the running event loop, and without systemd nothing is sent and nothing fails.
from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.adapters import systemd_notify


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield server
    server.close()


def test_ready_reaches_systemd(systemd: socket.socket) -> None:
    assert systemd_notify.notify("READY=1")
    assert systemd.recv(100) == b"READY=1"


async def test_heartbeats_come_every_half_watchdog_interval(
    systemd: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # WatchdogSec=0.2 s: a beat every 0.1 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd_notify.heartbeat_seconds() == 0.1
    beating = asyncio.create_task(systemd_notify.heartbeat())
    await asyncio.sleep(0.35)
    beating.cancel()
    systemd.setblocking(False)
    beats = []
    while True:
        try:
            beats.append(systemd.recv(100))
        except BlockingIOError:
            break
    assert beats and set(beats) == {b"WATCHDOG=1"} and 3 <= len(beats) <= 5


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert systemd_notify.notify("READY=1") is False and systemd_notify.heartbeat_seconds() is None


def test_a_watchdog_meant_for_another_process_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert systemd_notify.heartbeat_seconds() is None
