"""Every key of the call and callback transition tables names an event the core defines
(a failed command: a command it defines), so no row waits for an event that never comes."""

from __future__ import annotations

from ivr.core import call, callback
from ivr.core import commands as cmd
from ivr.core import events as ev


def unknown_keys(tables: dict[object, dict[str, object]]) -> list[str]:
    bad = []
    for rows in tables.values():
        for key in rows:
            kind, _, name = key.partition(":")
            known_event = isinstance(getattr(ev, kind, None), type)
            known_command = kind != "CommandFailed" or isinstance(getattr(cmd, name, None), type)
            named_timer = kind != "TimerFired" or bool(name)
            if not (known_event and known_command and named_timer):
                bad.append(key)
    return bad


def test_the_tables_name_only_real_events_and_commands() -> None:
    assert unknown_keys(dict(call.TRANSITIONS)) == []
    assert unknown_keys(dict(callback.TRANSITIONS)) == []
    assert unknown_keys({"x": {"CommandFailed:Answr": None, "GreetingFinishd": None}}) == [
        "CommandFailed:Answr",
        "GreetingFinishd",
    ]
