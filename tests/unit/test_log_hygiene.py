# The control plane's log (ivr.adapters.log_hygiene): free text cannot forge a line,
# tracebacks stay readable but cannot pass for records, and numbers registered as
# withheld are masked wherever they appear (message, arguments, traceback).
from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator

import pytest

from ivr.adapters.log_format import install
from ivr.adapters.log_hygiene import CONTINUATION, HygienicFormatter, WithheldNumbers, escaped

RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")  # a record's first line
NUMBER = "085712345678"


def formatted(msg: str, *args: object, numbers: WithheldNumbers | None = None, exc: bool = False) -> str:
    record = logging.LogRecord("ivr.engine.engine", logging.INFO, __file__, 1, msg, args, None)
    if exc:
        try:
            raise ValueError(f"bad value from {NUMBER}\nFAKE 12:00:00 ERROR forged")
        except ValueError:
            record.exc_info = sys.exc_info()
    return HygienicFormatter(numbers=numbers or WithheldNumbers()).format(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("makan\nFAKE 12:00:00 ERROR x", "makan\\nFAKE 12:00:00 ERROR x"),
        ("a\r\nb", "a\\r\\nb"),
        ("tab\there", "tab\\there"),
        ("\x1b[2J\x1b[1;1Hcleared", "\\x1b[2J\\x1b[1;1Hcleared"),
        ("del\x7f nul\x00 bell\x07", "del\\x7f nul\\x00 bell\\x07"),
        ("c1\x85\x9b", "c1\\x85\\x9b"),
        ("sep\u2028par\u2029", "sep\\u2028par\\u2029"),
        ("ünïcödé and 112 stay", "ünïcödé and 112 stay"),
    ],
)
def test_control_characters_are_written_out(text: str, expected: str) -> None:
    assert escaped(text) == expected


def test_a_pause_reason_cannot_forge_a_log_line() -> None:
    reason = "makan\nFAKE 12:00:00 ERROR ivr.engine.engine: call taker taker09 is now logged-out"
    line = formatted("call taker %s is now %s%s", "taker01", "paused", f" ({reason})")
    assert "\n" not in line and "\r" not in line
    assert line.endswith("is now paused (makan\\nFAKE 12:00:00 ERROR ivr.engine.engine: "
                         "call taker taker09 is now logged-out)")  # fmt: skip
    assert RECORD_START.match(line)


def test_a_traceback_stays_readable_but_no_line_of_it_passes_for_a_record() -> None:
    text = formatted("handling ARI event %s failed", "StasisStart", exc=True)
    first, *rest = text.split("\n")
    assert RECORD_START.match(first) and first.endswith("handling ARI event StasisStart failed")
    assert len(rest) >= 3 and all(line.startswith(CONTINUATION) for line in rest)
    assert rest[0] == CONTINUATION + "Traceback (most recent call last):"
    assert any("FAKE 12:00:00 ERROR forged" in line for line in rest)  # still there, but marked
    assert not any(RECORD_START.match(line) or line.startswith("FAKE") for line in rest)


def test_registered_numbers_are_masked_in_message_arguments_and_traceback() -> None:
    numbers = WithheldNumbers()
    numbers.add(NUMBER)
    text = formatted("ARI event: %s", f'{{"caller": {{"number": "{NUMBER}"}}}}', numbers=numbers, exc=True)
    assert NUMBER not in text and '"number": "anonymous"' in text
    assert "bad value from anonymous" in text
    assert formatted("calling %s", "081299999999", numbers=numbers).endswith("calling 081299999999")


def test_the_registry_keeps_the_latest_numbers_and_forgets_old_ones() -> None:
    now = [1000.0]
    numbers = WithheldNumbers(limit=3, keep=60.0, clock=lambda: now[0])
    for n in range(5):
        numbers.add(f"08120000000{n}")
    assert numbers.current() == {"081200000002", "081200000003", "081200000004"}
    numbers.add("081200000002")  # seen again: the most recent now
    numbers.add("081200000009")
    assert numbers.current() == {"081200000002", "081200000004", "081200000009"}
    now[0] += 61.0
    assert numbers.current() == frozenset() and numbers.hide("081200000009") == "081200000009"
    numbers.add("112")  # no number to mask (a service number): ignored
    numbers.add("+6281200000007")
    assert numbers.current() == {"6281200000007"}
    assert numbers.hide("to 6281200000007 and +6281200000007") == "to anonymous and anonymous"


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def test_install_puts_every_logger_behind_the_hygienic_formatter(root_handlers: None) -> None:
    out = io.StringIO()
    install("INFO", out)
    logging.getLogger("aiohttp.access").info('"GET /x\r\nFAKE HTTP/1.1" 200')
    logging.getLogger("ivr.engine.engine").debug("not at INFO")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith('aiohttp.access: "GET /x\\r\\nFAKE HTTP/1.1" 200')
