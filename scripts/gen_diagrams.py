#!/usr/bin/env python3
"""Draws the call's phases from the transition table (ivr.core.call.TRANSITIONS), a
callback's from ivr.core.callback.TRANSITIONS, and the screening rules from
ivr.core.screening.RULES.

Writes docs/call-states.md: for each, a Mermaid stateDiagram-v2 with one edge per
(phase, event key, target) and a table of the same transitions. A transition with no
target keeps the call in its phase and is drawn as a loop. tests/unit/test_docs_current.py
fails when the file no longer matches the table: run `python scripts/gen_diagrams.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ivr.core import callback, screening  # noqa: E402
from ivr.core.call import TRANSITIONS, Phase  # noqa: E402

OUTPUT = REPO / "docs" / "call-states.md"

INTRO = """\
# Call states

<!-- Generated file: do not edit. Regenerate with `python scripts/gen_diagrams.py`. -->

Generated from the transition table `TRANSITIONS` in `ivr/core/call.py`, so it always
shows what the code does. A call starts in `answering` (`start()`); a call found in
Asterisk after a reconnect is adopted (`adopt()`) into `answering`, `waiting` or
`connected`. An event with no row for the call's current phase changes nothing.
Event keys name the event type; a failed command and a timer also name the command or
the timer (`CommandFailed:Answer`, `TimerFired:greeting-guard`). A transition with no
target keeps the call in its phase (drawn as a loop).
"""


CALLBACK_INTRO = """
## Callbacks

Generated from `TRANSITIONS` in `ivr/core/callback.py`. A callback to an abandoned
caller starts in `ringing-taker` (`start()`): the call taker's phone rings first; once
they answer, the number is dialled through the trunk while they hear ringing.
"""


SCREENING_INTRO = """
## Screening rules

Generated from `RULES` in `ivr/core/screening.py`: the first rule that applies decides.
No rule warns a caller or puts one at the lowest level because of audio alone: only the
call takers' verdicts on the number or a block do. "No speech" starts the silent-call
procedure (the press-55 prompt): "55" makes a silent emergency; no answer gives the
`silent` level, or keeps `normal` when the second speech cue heard voice-like sound or
Silero heard at least half the speech it needs (flag `possible-voice`).
"""


def screening_rules() -> list[str]:
    policy = screening.ScreeningPolicy()
    lines = ["```mermaid", "flowchart TD", "    start([first seconds of the call])"]
    previous = "start"
    for index, rule in enumerate(screening.RULES):
        node = f"r{index}"
        verdict = rule.verdict.value
        effect = f"{verdict}: {policy.level(rule.verdict)}" + (", warning" if rule.warn else "")
        if rule.verdict is screening.Verdict.SILENT_PENDING:
            effect = f"{verdict}: the press-55 prompt, level kept"
        arrow = "-->" if previous == "start" else "-->|no|"
        lines.append(f'    {previous} {arrow} {node}{{"{rule.name}?"}}')
        lines.append(f'    {node} -->|yes| v{index}["{effect}"]')
        previous = node
    silent = screening.Verdict.SILENT_PENDING
    pending = [f"v{i}" for i, r in enumerate(screening.RULES) if r.verdict is silent]
    for node in pending:
        lines.append(f'    {node} --> p55{{"55 pressed after the prompt?"}}')
    emergency = policy.level(screening.Verdict.SILENT_EMERGENCY)
    lines.append(f'    p55 -->|yes| se["silent-emergency: {emergency}"]')
    lines.append('    p55 -->|no| pv{"possible-voice (second cue)?"}')
    lines.append(f'    pv -->|yes| kept["silent: {policy.level(screening.Verdict.NORMAL)}"]')
    lines.append(f'    pv -->|no| sl["silent: {policy.level(screening.Verdict.SILENT)}"]')
    lines += ["```", "", "| order | rule | verdict | level | warning |", "|---|---|---|---|---|"]
    for index, rule in enumerate(screening.RULES, start=1):
        level = policy.level(rule.verdict)
        lines.append(
            f"| {index} | {rule.name} | {rule.verdict.value} | {level} | {'yes' if rule.warn else 'no'} |"
        )
    return lines


def handler_name(handler: Any) -> str:
    """'_answered' -> 'answered'; a handler built by a factory names the factory and its arguments."""
    outer = handler.__qualname__.split(".<locals>.")[0].lstrip("_")
    if "<locals>" not in handler.__qualname__:
        return outer
    cells = [cell.cell_contents for cell in handler.__closure__ or ()]
    arguments = [str(value) for value in cells if isinstance(value, str | int | float)]
    return f"{outer}({', '.join(arguments)})"


def rows(
    transitions: Mapping[Any, Mapping[str, Any]] = TRANSITIONS,
) -> list[tuple[Any, str, str, tuple[Any, ...]]]:
    return [
        (phase, key, handler_name(transition.handler), transition.targets or (phase,))
        for phase, table in transitions.items()
        for key, transition in table.items()
    ]


def mermaid_label(key: str) -> str:
    return key.replace(":", "#58;")  # a colon would end the label in Mermaid


def machine(transitions: Mapping[Any, Mapping[str, Any]], first: str, entry: str, last: str) -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {first} : {entry}"]
    for phase, key, _, targets in rows(transitions):
        lines += [f"    {phase.value} --> {target.value} : {mermaid_label(key)}" for target in targets]
    lines += [f"    {last} --> [*]", "```", ""]
    lines += ["| phase | event | handler | targets |", "|---|---|---|---|"]
    for phase, key, name, targets in rows(transitions):
        lines.append(f"| {phase.value} | `{key}` | `{name}` | {', '.join(t.value for t in targets)} |")
    return lines


def render() -> str:
    lines = [INTRO, *machine(TRANSITIONS, Phase.ANSWERING.value, "CallArrived", Phase.ENDED.value)]
    P = callback.CallbackPhase
    lines += [CALLBACK_INTRO, *machine(callback.TRANSITIONS, P.RINGING_TAKER.value, "start", P.ENDED.value)]
    lines += [SCREENING_INTRO, *screening_rules()]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    """`gen_diagrams.py [OUTPUT]`; OUTPUT defaults to docs/call-states.md."""
    if len(argv) > 1:
        sys.exit("usage: gen_diagrams.py [OUTPUT]")
    output = Path(argv[0]) if argv else OUTPUT
    output.write_text(render())
    print(f"wrote {output}")


if __name__ == "__main__":
    main(sys.argv[1:])
