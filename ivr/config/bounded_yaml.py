"""Reading a YAML file an engineer wrote, with bounds: a configuration never hangs or
exhausts the control plane.

Rules: the text is at most MAX_BYTES; aliases (*name) are refused where they appear
(a few nested aliases expand to billions of nodes: "billion laughs"); nesting deeper than
MAX_DEPTH and more than MAX_NODES nodes are refused; parsing is done once, with the
safe loader (no Python objects). Errors are YamlRefused with the 1-based line.
Parse off the event loop (asyncio.to_thread): even a bounded file takes milliseconds.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 20
MAX_NODES = 200_000


class YamlRefused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases and counting nodes and depth as it composes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._nodes = 0

    def _line(self) -> int:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return int(mark.line) + 1 if mark is not None else 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YamlRefused(
                self._line(),
                f"alias *{event.anchor} refused: aliases are not allowed in configuration files "
                "(write the values out)",
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlRefused(self._line(), f"more than {MAX_NODES} values")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlRefused(self._line(), f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree (for line numbers); raises YamlRefused or
    yaml.YAMLError."""
    size = len(text.encode())
    if size > MAX_BYTES:
        raise YamlRefused(0, f"{size} bytes: a configuration file may hold at most {MAX_BYTES} bytes")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node
