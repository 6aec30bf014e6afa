"""The call-taker and waiting-caller views, built once for the REST API and the dashboard
feed alike (the same fields in both).

Rules: a waiting caller's number is the shown one (a withheld number never appears), and
of their location only whether there is one (has_location: the fix is for the taker's desk);
activity_since is None while a call taker's activity is unchanged since the start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ivr.adapters.http.centre import Centre
from ivr.core.acd.model import Taker


def taker_view(centre: Centre, taker: Taker, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": taker.taker_id,
        "name": names.get(taker.taker_id, taker.taker_id),
        "endpoint": taker.endpoint,
        "declared": taker.declared.value,
        "pause_reason": taker.pause_reason,
        "activity": taker.activity.value,
        "activity_since": taker.activity_since or None,
        "reachable": taker.reachable,
        "call_id": taker.call_id,
        "missed_in_a_row": taker.missed_in_a_row,
        "phone": centre.phone(taker.endpoint),  # PJSIP contact status (AMI), when known
    }


def taker_views(centre: Centre, only: str | None = None) -> list[dict[str, Any]]:
    """Every call taker (or only `only`), by id."""
    names = {a.id: a.name for a in centre.config.takers}
    takers = centre.takers()
    return [taker_view(centre, takers[a], names) for a in sorted(takers) if only is None or a == only]


def waiting_views(
    centre: Centre, now: float, located: Callable[[str], bool] | None = None
) -> list[dict[str, Any]]:
    """The waiting callers, best placed first, with what screening said of each and whether
    the centre has their location (`located`: a call id -> whether it has a fix)."""
    calls = centre.calls()
    out = []
    for w in centre.waiting():
        state = calls.get(w.call_id)
        out.append(
            {
                "call_id": w.call_id,
                "caller": state.shown_number if state else "",
                "level": w.level,
                "arrived_at": w.arrived_at,
                "waited_seconds": round(now - w.arrived_at, 1),
                "score": round(centre.score(w, now), 1),
                "offered_to": w.offered_to,
                "verdict": state.verdict if state else "",
                "flags": sorted(state.flags) if state else [],
                "screening": state.stage.value if state else "",
                "has_location": bool(located and located(w.call_id)),
            }
        )
    return out
