"""Who speech detection takes, and who is screened by sound energy and keys instead.

Rules:
- A new caller gets speech detection only while there is room within its measured
  capacity, Asterisk sets screening channels up promptly (fewer than STARTING_LIMIT
  set-ups in progress), speech detection keeps up with the audio (at most BEHIND_LIMIT
  behind: a verdict after its report is due is none), and the machine's CPU was no busier
  than the centre's busy limit over the last second (IVR_SCREENING_BUSY_LIMIT, 0.85 by
  default; None here when it is off): a saturated machine's CPU goes to callers' answers
  and the calls' media first.
- Everyone else is screened by energy and keys, never left unscreened; refusal() is the
  reason on the caller's record, naming every figure that was measured.
- Pure: the figures come from the screener; nothing here reads the machine.
"""

from __future__ import annotations

from dataclasses import dataclass

# Set-ups in progress beyond which Asterisk is too slow for more screening channels (a set-up
# normally takes tens of ms): further callers are screened by energy (no request, no channel).
STARTING_LIMIT = 8
BEHIND_LIMIT = 0.5  # seconds speech detection may lag the audio (a round is 0.2 s) and take new calls


@dataclass(frozen=True)
class Load:
    """What speech detection holds and how the machine keeps up, as a caller arrives."""

    sessions: int  # calls speech detection hears now
    capacity: int  # calls it may hear at once (measured)
    starting: int  # screening set-ups in progress in Asterisk
    behind: float  # seconds speech detection lags the audio
    busy: float = 0.0  # the machine's busy share over the last second (0-1)


def admits(load: Load, busy_limit: float | None = None) -> bool:
    """Whether a new caller gets speech detection (else energy and keys); `busy_limit`:
    None when the centre's limit is off."""
    saturated = busy_limit is not None and load.busy > busy_limit
    room = load.sessions < load.capacity and load.starting < STARTING_LIMIT
    return room and load.behind <= BEHIND_LIMIT and not saturated


def refusal(load: Load, busy_limit: float | None = None) -> str:
    """The reason a caller was screened by energy and keys, with what was measured."""
    text = f"{load.sessions} of {load.capacity} calls, {load.starting} set-ups, {load.behind:.1f} s behind"
    if busy_limit is not None:
        text += f", machine {load.busy:.0%} busy (limit {busy_limit:.0%})"
    return f"speech detection at capacity: {text}"
