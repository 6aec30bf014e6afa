"""`python -m ivr config apply`: the centre configuration's SIP endpoints written into
Asterisk's configuration, then pjsip and the fallback queue reloaded through AMI.

Rules:
- The file is validated first; an invalid one changes nothing (every problem printed).
- Each SIP password (call takers, overflow desks, agencies' phones that register) is
  read from the state folder (secrets/sip_<name>, mode 0600) or created there once, at
  random; passwords never come from git.
- Files are replaced atomically and only when their text changed; they take the group
  of Asterisk's etc folder so Asterisk can read them, nobody else.
- Reloading res_pjsip and app_queue does not touch calls in progress; with
  --no-reload (Asterisk not running yet) only the files are written.
- Settings come from the environment like the control plane's: IVR_CENTRE_CONFIG,
  IVR_ASTERISK_ETC, IVR_STATE_DIR, IVR_STATIC_CONTACTS (test and development profile),
  IVR_AMI_HOST/PORT/USER/PASSWORD.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from panoramisk import Manager
from pydantic import SecretStr

from ivr.config.asterisk_centre import FOLDER, loopback_contacts, render, secret_names
from ivr.config.schema import CentreConfig
from ivr.settings import StoreSettings

RELOADED = ("res_pjsip.so", "app_queue.so")
AMI_WAIT_SECONDS = 5.0


class ApplySettings(StoreSettings):
    """What writing the endpoints and reloading Asterisk needs (no ARI secret)."""

    centre_config: Path = Path("queue/kendari.yaml")
    asterisk_etc: Path = Path("/etc/asterisk")
    state_dir: Path = Path("/var/lib/ivr112")
    static_contacts: bool = False
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "ivr112"
    ami_password: SecretStr | None = None


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


def write_files(config: CentreConfig, settings: ApplySettings) -> list[str]:
    """Writes the generated files; returns the names of those whose text changed."""
    contacts = loopback_contacts(config) if settings.static_contacts else None
    passwords = {name: sip_secret(settings.state_dir, name) for name in secret_names(config, contacts)}
    folder = settings.asterisk_etc / FOLDER
    folder.mkdir(exist_ok=True)
    group = settings.asterisk_etc.stat().st_gid
    changed = []
    for name, text in render(config, passwords, contacts).items():
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


async def reload_asterisk(settings: ApplySettings) -> list[str]:
    """Reloads pjsip and app_queue through AMI; one line per module, or raises OSError."""
    if settings.ami_password is None:
        raise OSError("IVR_AMI_PASSWORD is not set: cannot reload Asterisk through AMI")
    logged_in = asyncio.Event()
    manager = Manager(
        host=settings.ami_host,
        port=settings.ami_port,
        username=settings.ami_user,
        secret=settings.ami_password.get_secret_value(),
        ping_delay=0,
        on_login=lambda _: logged_in.set(),
    )
    manager.loop = asyncio.get_running_loop()
    manager.connect()
    try:
        try:
            await asyncio.wait_for(logged_in.wait(), AMI_WAIT_SECONDS)
        except TimeoutError as exc:
            raise OSError(
                f"no AMI login at {settings.ami_host}:{settings.ami_port} within {AMI_WAIT_SECONDS:g} s"
            ) from exc
        done = []
        for module in RELOADED:
            reply = await asyncio.wait_for(
                manager.send_action({"Action": "Reload", "Module": module}), AMI_WAIT_SECONDS
            )
            if reply.get("Response") != "Success":
                raise OSError(f"Asterisk refused to reload {module}: {reply.get('Message', reply)}")
            done.append(f"{module}: {reply.get('Message', 'reloaded')}")
        return done
    finally:
        manager.close()
