"""The call takers' phones as PJSIP reports them through AMI: last status per endpoint.

Rules: a status is kept with its round-trip time and since when it holds; what a
status says about ringing the phone is PHONE_REACHABLE (None: it tells nothing new);
the engine turns a change into the ACD's reachability. A phone reached by several
contacts (the cluster form: one through each SIP edge) is as reachable as its best
contact: one contact unreachable while another answers leaves the phone reachable, with
the answering contact's status; a contact Removed is forgotten.
In the cluster form each report is tagged with its node ("a2 sip:taker01@<edge>") and
gives the details only: whether the phone can ring is the nodes' endpoint state (ARI,
online while any edge reaches it), since a node's AMI listing at login leaves out the
per-edge contacts and a partial view would take a reachable phone away.
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


NODE_MARK = " "  # between a node's name and the contact URI it reports (no URI holds one)


def node_view(node: str, uri: str) -> str:
    """A contact as one node of the cluster reports it: details only (see the rules)."""
    return f"{node}{NODE_MARK}{uri}"


class Phones:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._status: dict[str, dict[str, Any]] = {}
        self._contacts: dict[str, dict[str, tuple[str, float | None]]] = {}  # endpoint -> uri -> report

    def get(self, endpoint: str) -> dict[str, Any] | None:
        return self._status.get(endpoint)

    def seen(self, endpoint: str, status: str, rtt_ms: float | None, uri: str = "") -> bool | None:
        """Records a report of one of the phone's contacts (`uri`); returns whether the phone
        can ring, or None if it does not say."""
        contacts = self._contacts.setdefault(endpoint, {})
        if status == "Removed":
            contacts.pop(uri, None)
        else:
            contacts[uri] = (status, rtt_ms)
        status, rtt_ms = next(
            (report for report in contacts.values() if PHONE_REACHABLE.get(report[0])), (status, rtt_ms)
        )
        tagged = NODE_MARK in uri  # a node's view (node_view, the cluster form): details only
        previous = self._status.get(endpoint, {})
        changed = previous.get("status") != status
        since = self._clock() if changed else previous.get("since")
        self._status[endpoint] = {"status": status, "rtt_ms": rtt_ms, "since": since}
        if changed:
            log.info("phone %s: %s", endpoint, status)
        return None if tagged else PHONE_REACHABLE.get(status)
