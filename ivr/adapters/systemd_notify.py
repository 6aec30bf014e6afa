"""The systemd notify protocol, for the services that run under systemd (control plane,
watchdog): READY=1 once running, WATCHDOG=1 heartbeats from the event loop, STOPPING=1.

Rules: does nothing where NOTIFY_SOCKET is unset (make run, tests, containers); the
heartbeat is sent from the event loop itself, every half of WATCHDOG_USEC, so a loop that
hangs stops sending and systemd restarts the service; a message that cannot be sent is
lost quietly (a missed heartbeat is what the watchdog of systemd is for).
"""

from __future__ import annotations

import asyncio
import os
import socket


def notify(message: str) -> bool:
    """Sends one notify message; False when there is no systemd to tell (or it failed)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    target = "\0" + address[1:] if address.startswith("@") else address  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), target)
    except OSError:
        return False
    return True


def heartbeat_seconds() -> float | None:
    """Half the watchdog interval systemd asked for (WatchdogSec=), or None."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


async def heartbeat() -> None:
    """WATCHDOG=1 from the event loop for as long as it runs (a task; cancel to stop)."""
    every = heartbeat_seconds()
    if every is None:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(every)
