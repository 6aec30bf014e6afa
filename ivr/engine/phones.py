"""The call takers' phones as PJSIP reports them through AMI: last status per endpoint.

Rules: a status is kept with its round-trip time and since when it holds; what a
status says about ringing the phone is PHONE_REACHABLE (None: it tells nothing new);
the engine turns a change into the ACD's reachability.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PHONE_REACHABLE: dict[str, bool | None] = {
    "Reachable": True,
    "Created": True,  # just registered
    "NonQualified": True,  # registered, not qualified: assumed reachable
    "Unreachable": False,
    "Removed": False,  # unregistered or expired
    "Unknown": None,
}


class Phones:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._status: dict[str, dict[str, Any]] = {}

    def get(self, endpoint: str) -> dict[str, Any] | None:
        return self._status.get(endpoint)

    def seen(self, endpoint: str, status: str, rtt_ms: float | None) -> bool | None:
        """Records a report; returns whether the phone can ring, or None if it does not say."""
        previous = self._status.get(endpoint, {})
        changed = previous.get("status") != status
        since = self._clock() if changed else previous.get("since")
        self._status[endpoint] = {"status": status, "rtt_ms": rtt_ms, "since": since}
        if changed:
            log.info("phone %s: %s", endpoint, status)
        return PHONE_REACHABLE.get(status)
