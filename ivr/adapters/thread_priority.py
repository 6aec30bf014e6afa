"""Screening's threads yield the CPU to call handling.

Rules: the threads that judge audio (speech detection's worker and finishers) run at a
lower priority (SCREENING_NICENESS above the process's) than the event loop that puts
callers through and than Asterisk: on a saturated machine a verdict comes late (and the
screener then screens by energy: it never waits) rather than an answer, an offer or a
bridge. Linux only (a thread's own niceness); elsewhere, or if it fails, nothing happens.
Raising one's niceness needs no privilege.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

SCREENING_NICENESS = 10


def yield_to_calls(niceness: int = SCREENING_NICENESS) -> None:
    """Lower the calling thread's priority by `niceness`."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except (OSError, AttributeError) as exc:
        log.debug("thread priority unchanged: %s", exc)
