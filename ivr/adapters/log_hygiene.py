"""What the control plane writes to its log: one line per record, no withheld number.

The text format of the log and the masking of every format (ivr.adapters.log_format
installs them on the handlers every logger reaches).

Rules:
- No log line can be forged: control characters (C0 including CR, LF and TAB, DEL, C1,
  and the Unicode line and paragraph separators) in a record's message and arguments
  are escaped (\\n, \\r, \\t, \\x1b, \\u2028, ...), so free text a caller or a user
  controls (a pause reason, a name) stays inside its own line.
- Choice: a message is always one line, even one written with line breaks on purpose
  (the SIGHUP refusal's list of problems shows them as \n): the code cannot tell a
  deliberate break from one inside free text. A message that should read as a list logs
  one record per item.
- Tracebacks and stacks stay readable on several lines, but every line after the
  record's first starts with CONTINUATION ("  | ") and has its control characters
  escaped: no line of them (an exception's text included) can pass for a record.
- Numbers the network marked private (registered by the engine when a withheld call
  arrives, is adopted or is called back) are masked in the whole output, message,
  arguments and traceback, with the rule of ivr.core.privacy. The registry is bounded
  (the most recent MAX_NUMBERS) and forgets a number after KEEP_SECONDS: a long-gone
  call's number is masked by the log sites themselves, which never print it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ivr.core.privacy import digits_of, hide_numbers

CONTINUATION = "  | "
MAX_NUMBERS = 5000
KEEP_SECONDS = 24 * 3600.0
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(text: str) -> str:
    """`text` with every control character written out (one line, nothing hidden)."""

    def one(match: re.Match[str]) -> str:
        char = match[0]
        return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")

    return _CONTROL.sub(one, text)


class WithheldNumbers:
    """The private numbers to mask in logs: bounded, each forgotten after `keep` seconds."""

    def __init__(
        self,
        limit: int = MAX_NUMBERS,
        keep: float = KEEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._keep = keep
        self._clock = clock
        self._numbers: OrderedDict[str, float] = OrderedDict()  # digits -> registered at
        self._current: frozenset[str] = frozenset()  # what hide() uses, rebuilt on a change
        self._lock = threading.Lock()  # logging may happen from worker threads

    def add(self, number: str) -> None:
        digits = digits_of(number)
        if digits is None:
            return
        with self._lock:
            self._numbers[digits] = self._clock()
            self._numbers.move_to_end(digits)
            while len(self._numbers) > self._limit:
                self._numbers.popitem(last=False)
            self._current = frozenset(self._numbers)

    def current(self) -> frozenset[str]:
        with self._lock:
            oldest = self._clock() - self._keep
            if self._numbers and next(iter(self._numbers.values())) < oldest:
                while self._numbers and next(iter(self._numbers.values())) < oldest:
                    self._numbers.popitem(last=False)
                self._current = frozenset(self._numbers)
            return self._current

    def hide(self, text: str) -> str:
        return hide_numbers(text, self.current())


withheld_numbers = WithheldNumbers()  # the control plane's one registry (the engine fills it)


class HygienicFormatter(logging.Formatter):
    """A Formatter whose output keeps the rules in the module header."""

    def __init__(self, fmt: str = FORMAT, numbers: WithheldNumbers | None = None) -> None:
        super().__init__(fmt)
        self._numbers = numbers if numbers is not None else withheld_numbers

    def format(self, record: logging.LogRecord) -> str:
        record.message = escaped(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        lines = [escaped(self.formatMessage(record))]
        if record.exc_info:
            lines += self.formatException(record.exc_info).splitlines()
        elif record.exc_text:
            lines += record.exc_text.splitlines()
        if record.stack_info:
            lines += self.formatStack(record.stack_info).splitlines()
        first, *rest = lines
        text = "\n".join([first, *(CONTINUATION + escaped(line) for line in rest)])
        return self._numbers.hide(text)
