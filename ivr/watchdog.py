"""The watchdog (`python -m ivr watchdog`): a small process beside the control plane that
hands the callers stranded in Stasis to the dialplan's native queue when the control
plane is dead or hung, so nobody waits in silence.

Rules:
- Nothing shared with the control plane: its own process and event loop, its own AMI
  user, the control plane's /api/health over HTTP or HTTPS (the server checked against
  IVR_HTTP_TLS_CA, else the system's CAs; never unchecked); no model, no ARI. Redis only to close
  the records of the callers it hands over, and only when it answers.
- The control plane is judged by its health check (an answer within CHECK_TIMEOUT with
  ARI connected); gone or hung for the grace time (IVR_WATCHDOG_GRACE_SECONDS, 5 s: a
  restart adopts its calls in that time) it acts, at every check while it stays gone
  (ivr.core.liveness): the plan of ivr.core.handover is carried out through AMI, and an
  ALARM line says what was done.
- A failing action is logged and tried again at the next check; the watchdog itself
  never stops for an error of Asterisk, AMI, Redis or the status file.
- Its status (control plane up or gone, since when, the last hand-over) is written to
  IVR_WATCHDOG_STATUS (JSON, 0600) at every change, for `python -m ivr watchdog status`
  and the control plane's /api/health; under systemd it sends READY and heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable

import aiohttp

from ivr.adapters.ami_channels import AmiUnavailable, AsteriskChannels
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.tls import client_context
from ivr.adapters.redis_connect import connect as redis_connect
from ivr.adapters.systemd_notify import heartbeat, notify
from ivr.adapters.watchdog_status import StatusFile
from ivr.core.handover import Handover, plan
from ivr.core.liveness import Liveness, Verdict, observe
from ivr.core.outcomes import Outcome
from ivr.settings import WatchdogSettings

log = logging.getLogger("ivr.watchdog")

CHECK_TIMEOUT = 1.0  # seconds a health check may take
HANDOVER = ("emergency", "112", "handover")  # the dialplan's native queue for greeted callers


class HealthCheck:
    """GET /api/health: healthy when it answers 200 in time with ARI connected (it answers
    503 when callers would not reach a call taker through it: ARI not connected)."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self._session = session
        self._url = url

    async def check(self) -> tuple[bool, str]:
        try:
            async with self._session.get(self._url) as response:
                if response.status not in (200, 503):
                    return False, f"health answered HTTP {response.status}"
                body = await response.json(content_type=None)
                down = response.status == 503
        except TimeoutError:
            return False, f"health did not answer within {CHECK_TIMEOUT:g} s (hung?)"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return False, f"health unreachable ({type(exc).__name__})"
        if isinstance(body, dict) and body.get("ari") == "disconnected":
            return False, "it answers, but is not connected to Asterisk (ARI)"
        if down:
            return False, "it answers, but says it is down (HTTP 503)"
        return True, "answering"


def health_session(settings: WatchdogSettings) -> aiohttp.ClientSession:
    """The HTTP session of the health checks: CHECK_TIMEOUT per check, and for an https://
    health URL the server verified against IVR_HTTP_TLS_CA (else the system's CAs)."""
    connector = aiohttp.TCPConnector(ssl=client_context(settings.http_tls_ca))
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT), connector=connector)


class Watchdog:
    def __init__(
        self,
        settings: WatchdogSettings,
        asterisk: AsteriskChannels,
        health: HealthCheck,
        status: StatusFile,
        store: CallStore | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._asterisk = asterisk
        self._health = health
        self._status = status
        self._store = store
        self._liveness = Liveness(settings.watchdog_grace_seconds)
        self._why = ""
        self._ami_said = ""  # the AMI failure already logged in this outage (said once)

    async def check_once(self) -> None:
        began = self._clock()
        healthy, why = await self._health.check()
        now = self._clock()
        self._liveness, verdict = observe(self._liveness, healthy, now, began)
        if verdict is Verdict.DOUBTFUL and why != self._why:
            log.warning("control plane not answering (%s): callers handed over after %g s",
                        why, self._settings.watchdog_grace_seconds)  # fmt: skip
        self._why = "" if healthy else why
        if verdict is Verdict.ACT:
            if self._status.status["control_plane"] != "gone":
                self._status.update(control_plane="gone", since=self._liveness.failing_since, reason=why)
            await self._hand_over(why, self._liveness.gone_for(now))
            return
        self._ami_said = ""
        if verdict is Verdict.BACK:
            log.warning("control plane answering again: it takes every new caller from now on")
        if healthy and self._status.status["control_plane"] != "up":
            self._status.update(control_plane="up", since=now, reason="")

    async def _hand_over(self, why: str, gone_for: float) -> None:
        try:
            legs, bridges = await self._asterisk.listing()
        except AmiUnavailable as exc:
            if str(exc) != self._ami_said:  # once per outage and cause: it is tried at every check
                log.error("ALARM control plane gone (%s) and AMI unavailable: callers cannot be handed "
                          "over yet (tried at every check): %s", why, exc)  # fmt: skip
                self._ami_said = str(exc)
            return
        todo = plan(legs, bridges, self._settings.ari_app)
        if todo.empty:
            return
        done = await self._carry_out(todo)
        log.error(
            "ALARM control plane gone for %.1f s (%s): %d callers handed to the native queue, "
            "%d channels hung up, %d bridges destroyed, %d conversations left as they are",
            gone_for, why, done["callers"], done["hung_up"], done["bridges"], len(todo.kept),
        )  # fmt: skip
        if done["callers"] or done["hung_up"] or done["bridges"]:
            self._status.update(last_handover={"at": self._clock(), "reason": why, **done})

    async def _carry_out(self, todo: Handover) -> dict[str, int]:
        done = {"callers": 0, "hung_up": 0, "bridges": 0}
        for leg in todo.redirect:  # callers first: they are why the watchdog exists
            try:
                await self._asterisk.redirect(leg, *HANDOVER)
            except AmiUnavailable as exc:
                log.error("caller %s not handed over (next check tries again): %s", leg.id, exc)
                continue
            done["callers"] += 1
            await self._close_record(leg.id)
        for leg in todo.hangup:
            try:
                await self._asterisk.hangup(leg)
                done["hung_up"] += 1
            except AmiUnavailable as exc:
                log.warning("channel %s not hung up: %s", leg.name, exc)
        for bridge in todo.destroy_bridges:
            try:
                await self._asterisk.destroy_bridge(bridge)
                done["bridges"] += 1
            except AmiUnavailable as exc:
                log.warning("bridge %s not destroyed: %s", bridge, exc)
        return done

    async def _close_record(self, call_id: str) -> None:
        """The handed-over call's record ends with its outcome (once: a control plane back
        from a hang that closes it too adds nothing)."""
        if self._store is None:
            return
        now = self._clock()
        try:
            if await self._store.get(call_id) is None:
                return  # no record to close (the control plane never wrote one)
            await self._store.append(call_id, "handed-over", now, {"by": "watchdog", "reason": self._why})
            ended = {"by": "watchdog", "outcome": Outcome.HANDED_TO_FALLBACK.value}
            await self._store.append(call_id, "ended", now, ended)
        except StoreUnavailable as exc:
            log.warning("record of %s not closed (Redis unavailable): %s", call_id, exc)


async def run(settings: WatchdogSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    asterisk = AsteriskChannels(
        settings.ami_host,
        settings.ami_port,
        settings.watchdog_ami_user,
        settings.watchdog_ami_password.get_secret_value(),
    )
    asterisk.start()
    client = None
    if settings.watchdog_records:
        client = redis_connect(
            settings.redis_url,
            settings.redis_secret,
            settings.redis_sentinels,
            settings.redis_service,
            timeout=1,
        )
    store = CallStore(client, settings.redis_prefix, settings.record_retention_days) if client else None
    status = StatusFile(settings.watchdog_status)
    status.update()
    log.info(
        "watchdog: checking %s every %g s; callers in Stasis(%s) go to the native queue after %g s "
        "without an answer",
        settings.watchdog_health_url, settings.watchdog_check_seconds, settings.ari_app,
        settings.watchdog_grace_seconds,
    )  # fmt: skip
    beating = asyncio.create_task(heartbeat(), name="systemd-heartbeat")
    notify("READY=1")
    try:
        async with health_session(settings) as session:
            watchdog = Watchdog(
                settings, asterisk, HealthCheck(session, settings.watchdog_health_url), status, store
            )
            while not stop.is_set():
                try:
                    await watchdog.check_once()
                except Exception:  # never stop watching for an unforeseen error
                    log.exception("watchdog check failed; checking again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.watchdog_check_seconds)
    finally:
        notify("STOPPING=1")
        beating.cancel()
        asterisk.close()
        if client is not None:
            await client.aclose()
        log.info("watchdog stopped")
