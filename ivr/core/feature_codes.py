"""Feature codes dialled from a call taker's own phone, decided purely.

  *11 log in      *12 log out      *21 pause (reason "istirahat")      *22 unpause

Rules: the phone is identified by its PJSIP endpoint, never by what it claims; the
change goes through the ACD like any other; an unknown code or a phone that belongs to
no call taker changes nothing and hears "kode tidak dikenal" (prompt feature-unknown).
"""

from __future__ import annotations

from collections.abc import Callable

from ivr.core.acd import events as acd

PHONE_PAUSE_REASON = "istirahat"
UNKNOWN_PROMPT = "feature-unknown"

CODES: dict[str, tuple[Callable[[str], acd.AcdEvent], str]] = {
    "*11": (acd.TakerLoggedIn, "agent-logged-in"),
    "*12": (acd.TakerLoggedOut, "agent-logged-out"),
    "*21": (lambda taker: acd.TakerPaused(taker, PHONE_PAUSE_REASON), "agent-paused"),
    "*22": (acd.TakerUnpaused, "agent-unpaused"),
}


def decide(code: str, taker_id: str | None) -> tuple[acd.AcdEvent | None, str]:
    """The ACD event (None: nothing changes) and the confirmation prompt."""
    known = CODES.get(code)
    if taker_id is None or known is None:
        return None, UNKNOWN_PROMPT
    make_event, prompt = known
    return make_event(taker_id), prompt
