"""The centre configuration's SIP endpoints written into Asterisk's configuration folder
(the control plane at a reload, and `python -m ivr config apply`).

Rules:
- Each SIP password (call takers, overflow desks, agencies' phones that register) is
  read from the state folder (secrets/sip_<name>, mode 0600) or created there once, at
  random; passwords never come from git.
- Files are replaced atomically and only when their text changed; they take the group
  of Asterisk's etc folder so Asterisk can read them, nobody else.
- The cluster form (sip_edge, IVR_SIP_EDGE): the files hold no password (the edge checks
  them) and no test-profile contact (phones are reached through the edge); the passwords
  are still made here, for the edge.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ivr.config.asterisk_centre import FOLDER, loopback_contacts, render, secret_names
from ivr.config.schema import CentreConfig


@dataclass(frozen=True)
class EndpointFiles:
    """Where the files go and where the passwords live."""

    asterisk_etc: Path
    state_dir: Path
    static_contacts: bool = False  # the test and development profile: fixed loopback contacts
    sip_edge: str | None = None  # the cluster form: the SIP edge's address:port (phones through it)


def sip_secret(state_dir: Path, name: str) -> str:
    path = state_dir / "secrets" / f"sip_{name}"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    value = secrets.token_urlsafe(18)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def write_files(config: CentreConfig, target: EndpointFiles) -> list[str]:
    """Writes the generated files; returns the names of those whose text changed."""
    contacts = loopback_contacts(config) if target.static_contacts and not target.sip_edge else None
    # Behind the edge the node holds no password, but the edge needs them: made here all the same.
    passwords = {name: sip_secret(target.state_dir, name) for name in secret_names(config, contacts)}
    folder = target.asterisk_etc / FOLDER
    folder.mkdir(exist_ok=True)
    group = target.asterisk_etc.stat().st_gid
    changed = []
    for name, text in render(config, passwords, contacts, target.sip_edge).items():
        path = folder / name
        if path.exists() and path.read_text() == text:
            continue
        fresh = path.with_suffix(".new")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chown(fresh, -1, group)
        fresh.chmod(0o640)
        fresh.replace(path)
        changed.append(name)
    os.chown(folder, -1, group)
    folder.chmod(0o750)
    return changed
