# A withheld number in the dialplan (dialplan/extensions.conf): Asterisk's verbose log
# prints every application's expanded arguments, so no application of the emergency
# path may hold the caller's number except the one Set that makes it IVR_SHOWN
# ("anonymous" for a withheld caller); log lines print IVR_SHOWN; a withheld caller
# enters the native queue as "anonymous" (app_queue logs the number to queue_log).
from __future__ import annotations

from tests.unit.test_asterisk_config import context

SHOWN = 'Set(IVR_SHOWN=${IF($["${IVR_NUMBER}" = "withheld"]?anonymous:${CALLERID(num)})})'


def test_no_application_on_the_emergency_path_prints_the_callers_number() -> None:
    path = context("emergency")["112"]
    with_number = [app for app in path if "${CALLERID(num)" in app or "${CALLERID(all)" in app]
    assert with_number == [SHOWN]
    mark = next(i for i, app in enumerate(path) if app.startswith("Set(__IVR_NUMBER="))
    logs = [i for i, app in enumerate(path) if app.startswith(("NoOp(", "Log(", "Verbose("))]
    assert mark < path.index(SHOWN) < min(logs)  # the mark is known before anything is logged
    assert sum("${IVR_SHOWN}" in path[i] for i in logs) == 3  # arrival, fallback, handover
    # app_queue writes the caller's number into queue_log: a withheld one is gone before it
    hide = 'ExecIf($["${IVR_NUMBER}" = "withheld"]?Set(CALLERID(num)=anonymous))'
    (queue,) = [i for i, app in enumerate(path) if app.startswith("Queue(")]  # every native path
    assert hide in path[queue - 2 : queue]
    for name in ("emergency-hangup", "from-trunk"):
        assert not [a for apps in context(name).values() for a in apps if "CALLERID" in a], name


def test_the_native_line_of_a_withheld_caller_holds_no_digits() -> None:
    # The line a natively handled call leaves in Asterisk's database is written by Set,
    # whose argument is logged: its number field is empty for a withheld caller.
    (handler,) = context("emergency-hangup").values()
    digits = 'Set(IVR_SHOWN_DIGITS=${IF($["${IVR_NUMBER}" = "withheld"]?:${IVR_SHOWN})})'
    (line,) = [app for app in handler if app.startswith("Set(DB(")]
    assert handler.index(digits) < handler.index(line)
    assert "${IVR_SHOWN_DIGITS}" in line and "IVR_SHOWN}" not in line
