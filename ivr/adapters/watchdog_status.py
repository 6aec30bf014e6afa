"""The watchdog's status file: whether it sees the control plane up or gone, since when,
and its last hand-over of callers (when, how many, why).

Rules: the watchdog writes it (JSON, replaced atomically, mode 0600, its folder 0700);
`python -m ivr watchdog status` and the control plane's /api/health read it; an absent or
unreadable file reads as None (no watchdog has run here), never as an error; a failed
write is logged and costs only the file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class StatusFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.status: dict[str, Any] = {
            "control_plane": "unknown",
            "since": time.time(),
            "last_handover": None,
        }

    def update(self, **changes: Any) -> None:
        self.status.update(changes, updated_at=time.time())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = self.path.with_name(self.path.name + ".new")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(self.status, handle)
            fresh.replace(self.path)
        except OSError as exc:
            log.warning("status file %s not written: %s", self.path, exc)


def read_status(path: Path) -> dict[str, Any] | None:
    """The status a watchdog wrote, or None."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
