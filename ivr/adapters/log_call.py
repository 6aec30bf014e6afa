"""Which call a log line is about: the `call_id` of a JSON log line (ivr.adapters.log_format).

Rules:
- The call is known where the work is done for it: the engine's pump marks each event it
  hands the centre with the call the event names (mark_call, then unmark_call with the
  token of the first mark when the pump is done: what was marked outside is restored),
  and each call's lane marks its own task. The mark is a ContextVar, so it follows
  asyncio: a task or timer started inside inherits it, another call's lane or the next
  event never sees it; `with about_call(call_id):` marks a block elsewhere.
- Choice: context first, the message second. Most lines about a call are logged while
  its event or its commands are handled, and many of them (an adapter's "request
  failed", a library's warning) do not name it. The mark costs the pump one
  ContextVar.set per event (a C call, about 0.1 us; deciding an event takes the core
  some 20 us) and nothing per line; lines logged where no call is marked (the API, the
  ARI reader, the watchdog, worker threads) are searched for a call id, so the event
  path never runs a regular expression over a line.
- A call id in a message is an Asterisk unique id (epoch seconds, a dot, a counter),
  perhaps after a node's name ("a1-", ivr.core.ids and scripts/node-lib.sh) and before a
  callback's "-cbN"; the first one in the message counts. A leg, bridge or playback id
  names its call (they embed it). A bare number of that shape that is no call id (an
  epoch time with decimals) would be read as one: log times as dates.
- A record given `extra={"call_id": ...}` names its call itself, before both.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from types import TracebackType

CALL_ID = re.compile(r"(?<![\w.])(?:[a-z][a-z0-9]{0,7}-)?[0-9]{10}\.[0-9]+(?:-cb[0-9]+)?")

_marked: ContextVar[str | None] = ContextVar("ivr_log_call", default=None)

mark_call = _marked.set  # (call id or None) -> token; marks the current context
unmark_call = _marked.reset  # (token): the mark before that token's mark, again


class about_call:  # lower case: read as a statement, `with about_call(call_id):`
    """Lines logged inside the `with` (and by tasks started there) are about this call;
    None: about no call (a line still names its call in its message)."""

    __slots__ = ("_call", "_token")

    def __init__(self, call_id: str | None) -> None:
        self._call = call_id
        self._token: Token[str | None] | None = None

    def __enter__(self) -> None:
        self._token = _marked.set(self._call)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._token is not None:
            _marked.reset(self._token)


def marked_call() -> str | None:
    """The call the current task is working for, if any."""
    return _marked.get()


def call_of_line(message: str, given: object = None) -> str | None:
    """The call a line is about: given by the record, marked by the context, else named
    in the message; None for a line about no call."""
    if isinstance(given, str) and given:
        return given
    marked = _marked.get()
    if marked is not None:
        return marked
    found = CALL_ID.search(message)
    return found[0] if found else None
