"""Re-reading the centre configuration while calls go on (SIGHUP, POST /api/config/reload).

Rules:
- One reload at a time (SIGHUP and the API may coincide); the file is read and parsed
  off the event loop; a refused file raises ConfigInvalid and the running one stays (on
  SIGHUP each problem is logged on a line of its own).
- A valid file applies at once: the ACD's call takers and priorities (nobody dropped),
  the agency phones watched, the call policy for calls that arrive from now on, the
  callbacks' ring time. When IVR_ASTERISK_ETC is set the centre's SIP endpoints are
  written too (one list of phones: the centre file); when the call takers' endpoints
  changed, pjsip is reloaded through AMI in the background and the endpoints are watched
  again.
- Every setting comes from Settings, never from the environment directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from ivr.adapters.ami import AmiUnavailable, PhoneWatch
from ivr.adapters.centre_endpoints import EndpointFiles, write_files
from ivr.config.asterisk_centre import CentreEndpointsInvalid, registering_agency_phones
from ivr.config.loader import ConfigInvalid
from ivr.config.loader import load as load_config
from ivr.config.schema import CentreConfig
from ivr.core.call import CallPolicy
from ivr.engine.engine import Engine
from ivr.settings import Settings

log = logging.getLogger(__name__)


def watch_agency_contacts(settings: Settings, engine: Engine, config: CentreConfig) -> None:
    """The agency phones whose registered contact is watched (a change raises an alarm);
    none in the cluster form: behind the SIP edge a node sees only the edge's contact."""
    if not settings.node_urls:
        engine.agency_contacts.watch(registering_agency_phones(config, settings.static_contacts))


class ConfigReload:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        watch: PhoneWatch | None,
        call_policy: Callable[[CentreConfig], CallPolicy],
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._watch = watch
        self._call_policy = call_policy
        self._one_at_a_time = asyncio.Lock()
        self._running: set[asyncio.Task[None]] = set()

    async def reload(self) -> dict[str, Any]:
        """Applies the file; what was done, or ConfigInvalid (nothing applied)."""
        async with self._one_at_a_time:
            return await self._reload()

    def on_signal(self) -> None:
        self._in_background(self.reread("SIGHUP"), "config-reload")

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _reload(self) -> dict[str, Any]:
        settings, engine = self._settings, self._engine
        fresh = await asyncio.to_thread(load_config, settings.centre_config)
        endpoints_before = {a.endpoint for a in engine.config.takers}
        engine.reload(fresh)
        watch_agency_contacts(settings, engine, fresh)
        changed = {a.endpoint for a in fresh.takers} != endpoints_before
        endpoints = "not generated (IVR_ASTERISK_ETC unset)"
        if settings.asterisk_etc is not None:
            target = EndpointFiles(settings.asterisk_etc, settings.state_dir, settings.static_contacts)
            try:
                written = await asyncio.to_thread(write_files, fresh, target)
                endpoints = ", ".join(written) + " written" if written else "unchanged"
                changed = changed or bool(written)
            except (CentreEndpointsInvalid, OSError) as exc:
                endpoints = f"NOT written: {exc}"
                log.error("centre configuration applied, but its SIP endpoints were not written: %s", exc)
        if changed and self._watch is not None:
            self._in_background(self._reload_pjsip(self._watch), "pjsip-reload")
        callbacks = replace(engine.centre.routing.callback, taker_ring_seconds=fresh.timers.ring_seconds)
        engine.set_policy(self._call_policy(fresh), callbacks)
        return {
            "applied": str(settings.centre_config),
            "endpoints": endpoints,
            "pjsip_reload": ("requested" if self._watch else "AMI off") if changed else "not needed",
            "takers": len(fresh.takers),
            "agents": len(fresh.takers),  # the former name, for one release
            "priorities": [p.name for p in fresh.priorities],
        }

    async def _reload_pjsip(self, watch: PhoneWatch) -> None:
        try:
            log.info("call-taker list changed: pjsip reloaded (%s)", await watch.reload_pjsip())
        except (AmiUnavailable, OSError) as exc:
            log.error("call-taker list changed but pjsip was not reloaded: %s", exc)
        await self._engine.rewatch_takers()

    async def reread(self, why: str) -> None:
        """A reload nobody waits on (a signal, a standby taking over): problems are logged."""
        try:
            await self.reload()
            log.info("%s: centre configuration %s read again", why, self._settings.centre_config)
        except ConfigInvalid as exc:
            count = len(exc.problems)
            log.error("%s: configuration refused, the running one stays (%d problems):", why, count)
            for problem in exc.problems:  # one log line each
                log.error("%s: %s", why, problem)

    def _in_background(self, job: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(job, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
