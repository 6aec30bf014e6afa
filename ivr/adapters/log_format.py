"""How the control plane and the watchdog write their log: text or JSON lines on standard
error, and a copy to syslog when asked (IVR_LOG_FORMAT, IVR_LOG_SYSLOG).

Installed once at start by `python -m ivr run` and `python -m ivr watchdog` (install()).

Rules:
- text (the default): the lines of ivr.adapters.log_hygiene, as they always were.
- json: one JSON object per record and per line, with the keys time (ISO 8601 with
  milliseconds and the offset of IVR_TIMEZONE), level, logger, message, call_id when the
  line is about a call (ivr.adapters.log_call; absent otherwise), exception (the
  traceback's text) and stack when the record has them. The object is written in ASCII
  (JSON escapes every other character, line breaks and control characters included), so
  a record is one line whatever its text and no text can forge another line.
- Withheld numbers are masked in both formats, on every handler, with the registry and
  the rule of ivr.adapters.log_hygiene: in JSON, in each field before it is encoded.
- The syslog copy (ivr.adapters.log_syslog) has the same format, without the leading
  time in text (the receiver stamps each line); its ident names the program.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from ivr.adapters.log_call import call_of_line
from ivr.adapters.log_hygiene import HygienicFormatter, WithheldNumbers, withheld_numbers
from ivr.adapters.log_syslog import SyslogHandler, SyslogTarget
from ivr.core.privacy import hide_numbers

FORMATS = ("text", "json")
SYSLOG_TEXT = "%(levelname)s %(name)s: %(message)s"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record, in one line (rules in the module header)."""

    def __init__(self, zone: tzinfo = UTC, numbers: WithheldNumbers | None = None) -> None:
        super().__init__()
        self._zone = zone
        self._numbers = numbers if numbers is not None else withheld_numbers

    def format(self, record: logging.LogRecord) -> str:
        hidden = self._numbers.current()
        message = hide_numbers(record.getMessage(), hidden)
        entry = {
            "time": datetime.fromtimestamp(record.created, self._zone).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        call = call_of_line(message, getattr(record, "call_id", None))
        if call is not None:
            entry["call_id"] = call
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = hide_numbers(record.exc_text, hidden)
        if record.stack_info:
            entry["stack"] = hide_numbers(self.formatStack(record.stack_info), hidden)
        return json.dumps(entry)


def formatter(form: str, zone: tzinfo = UTC, for_syslog: bool = False) -> logging.Formatter:
    """The formatter of IVR_LOG_FORMAT `form` (text or json)."""
    if form == "json":
        return JsonLinesFormatter(zone)
    if form == "text":
        return HygienicFormatter(SYSLOG_TEXT) if for_syslog else HygienicFormatter()
    raise ValueError(f"unknown log format '{form}' (one of {', '.join(FORMATS)})")


def install(
    level: str,
    stream: TextIO | None = None,
    *,
    form: str = "text",
    syslog: SyslogTarget | None = None,
    facility: str = "local0",
    zone: tzinfo = UTC,
    program: str = "ivr112",
) -> list[logging.Handler]:
    """The root logger's handlers: standard error (or `stream`), then syslog if given."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(form, zone))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    handlers: list[logging.Handler] = [handler]
    if syslog is not None:
        copy = SyslogHandler(syslog, facility, f"{program}[{os.getpid()}]: ")
        copy.setFormatter(formatter(form, zone, for_syslog=True))
        logging.getLogger().addHandler(copy)
        handlers.append(copy)
    return handlers
