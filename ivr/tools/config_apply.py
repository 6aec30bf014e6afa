"""`python -m ivr config apply`: the centre configuration's SIP endpoints written into
Asterisk's configuration, then pjsip and the fallback queue reloaded through AMI.

Rules:
- The file is validated first; an invalid one changes nothing (every problem printed).
- The files and their passwords: ivr/adapters/centre_endpoints.py (its rules).
- Reloading res_pjsip and app_queue does not touch calls in progress; with
  --no-reload (Asterisk not running yet) only the files are written.
- Settings come from the environment like the control plane's: IVR_CENTRE_CONFIG,
  IVR_ASTERISK_ETC, IVR_STATE_DIR, IVR_STATIC_CONTACTS (test and development profile),
  IVR_SIP_EDGE (the cluster form: the SIP edge's IPv4 address:port; phones and trunks
  reach the node through it, see ivr/config/asterisk_centre.py), IVR_AMI_HOST/PORT/USER/PASSWORD.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from panoramisk import Manager
from pydantic import SecretStr, field_validator

from ivr.adapters.centre_endpoints import EndpointFiles
from ivr.config.asterisk_centre import CentreEndpointsInvalid, sip_edge
from ivr.settings import StoreSettings

RELOADED = ("res_pjsip.so", "app_queue.so")
AMI_WAIT_SECONDS = 5.0


class ApplySettings(StoreSettings):
    """What writing the endpoints and reloading Asterisk needs (no ARI secret)."""

    centre_config: Path = Path("queue/kendari.yaml")
    asterisk_etc: Path = Path("/etc/asterisk")
    state_dir: Path = Path("/var/lib/ivr112")
    static_contacts: bool = False
    sip_edge: str | None = None  # the cluster form: the SIP edge's IPv4 address:port
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "ivr112"
    ami_password: SecretStr | None = None

    @field_validator("sip_edge")
    @classmethod
    def _edge_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return sip_edge(value)
        except CentreEndpointsInvalid as exc:
            raise ValueError(str(exc)) from None

    def files(self) -> EndpointFiles:
        return EndpointFiles(self.asterisk_etc, self.state_dir, self.static_contacts, self.sip_edge)


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
