"""Screening's threads yield the CPU to call handling.

Rules: the threads that judge audio (speech detection's worker and finishers) run at a
lower priority (SCREENING_NICENESS above the process's) than the event loop that puts
callers through and than Asterisk: on a saturated machine a verdict comes late (and the
screener then screens by energy: it never waits) rather than an answer, an offer or a
bridge. Speech detection's process also takes a scheduling group of its own at that
niceness (yield_process_to_calls): where Linux shares the CPU between sessions first
(autogroups: processes outside systemd's services), it would otherwise share the control
plane's group, and its work would count against the event loop's share. Linux only;
elsewhere, or if it fails, nothing happens. Raising one's niceness needs no privilege.
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


def yield_process_to_calls(niceness: int = SCREENING_NICENESS) -> None:
    """Put this process in a session, hence a scheduling group, of its own, at `niceness`
    (the group's weight against the other sessions' groups). A process that already leads
    its session keeps it."""
    try:
        if os.getsid(0) != os.getpid():
            os.setsid()
    except OSError as exc:
        log.debug("session unchanged: %s", exc)
    set_group_niceness(niceness)


def set_group_niceness(niceness: int, pid: int | str = "self") -> None:
    """Set the niceness of a process's scheduling group (its session's autogroup; below
    0 needs privilege). Nothing happens where Linux has no autogroups, or if refused."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(niceness))
    except OSError as exc:
        log.debug("scheduling group unchanged: %s", exc)
