"""Named outcomes: every call leaves the system with exactly one of these.

Rules: names are stable strings (they are stored, counted and shown on dashboards);
add new ones, never rename.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"  # a call taker answered and the parties were connected
    ABANDONED_IN_GREETING = "abandoned-in-greeting"  # caller hung up before or during the greeting
    ABANDONED_IN_QUEUE = "abandoned-in-queue"  # caller hung up while waiting or being offered
    FAILED = "failed"  # the system could not handle the call (Asterisk refused a step)
    OVERFLOWED = "overflowed"  # waited past its level's maximum; answered at the overflow target
    HANDED_TO_FALLBACK = "handed-to-fallback"  # control plane stopped; the native queue took the caller
    CUT_OFF = "cut-off"  # the Asterisk node carrying the call failed; the caller is to be called back
    BLOCKED = "blocked"  # a time-limited block (off by default) ended the call after the warning
    # A callback to an abandoned caller (its own record, linked to the abandoned call):
    CALLBACK_REACHED = "callback-reached"  # the person called back answered and spoke with the taker
    CALLBACK_UNREACHED = "callback-unreached"  # no answer, busy or refused by the network
    CALLBACK_CANCELLED = "callback-cancelled"  # the call taker did not answer or hung up first
