"""Loads queue/*.yaml and reports every problem with file, line and field.

Rules: YAML syntax errors, refused YAML (aliases, size, depth: bounded_yaml.py), pydantic
validation errors and cross-reference errors all come back as ConfigProblem(file, line,
field, message); load() raises ConfigInvalid with the full list, never a partial
configuration. load() reads and parses a file: call it off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ivr.config.bounded_yaml import YamlRefused, load_yaml
from ivr.config.schema import CentreConfig


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(top)'}: {self.message}"


class ConfigInvalid(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


Path_ = tuple[str | int, ...]


def _lines(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    """Map every key path of the YAML document to the 1-based line it starts on."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


def _line_of(lines: dict[Path_, int], loc: Path_) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 0


def load(path: Path) -> CentreConfig:
    name = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigInvalid([ConfigProblem(name, 0, "", f"cannot read: {exc.strerror}")]) from None
    try:
        data, node = load_yaml(text)
    except YamlRefused as exc:
        raise ConfigInvalid([ConfigProblem(name, exc.line, "", exc.message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigInvalid([ConfigProblem(name, line, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict) or node is None:
        raise ConfigInvalid([ConfigProblem(name, 1, "", "the file must be a mapping of settings")])
    lines: dict[Path_, int] = {}
    _lines(node, (), lines)
    try:
        config = CentreConfig.model_validate(data, context={"references_checked_by_caller": True})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(ConfigProblem(name, _line_of(lines, loc), _field(loc), message))
        raise ConfigInvalid(problems) from None
    if references := config.reference_problems():
        raise ConfigInvalid(
            [ConfigProblem(name, _line_of(lines, loc), _field(loc), m) for loc, m in references]
        )
    return config


def _field(loc: Path_) -> str:
    return ".".join(map(str, loc))
