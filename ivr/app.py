"""Builds the adapters, wires the engine, runs until SIGINT/SIGTERM.

Rules: settings and the centre configuration are validated before anything connects;
SIGHUP and POST /api/config/reload re-read the configuration (config_reload.py); Redis and ARI being
unreachable at start are retried with log lines, never a crash; on SIGTERM/SIGINT,
callers not yet connected are handed to the dialplan's native queue and connected
calls stay up (the next start adopts them); a crash leaves everything to adoption
(and, past its grace time, to the watchdog). Under systemd it reports READY once it
serves (ARI is retried meanwhile) and sends heartbeats from its event loop (a hang is
restarted).
Files it creates are its owner's only (umask 077); no secret is logged (the Redis URL holds none).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from ivr.adapters.agent_store import AgentStore
from ivr.adapters.ami import AmiUnavailable, PhoneWatch
from ivr.adapters.archive import Archive
from ivr.adapters.ari.events import EventStream
from ivr.adapters.ari.models import KNOWN_TYPES
from ivr.adapters.ari.rest import AriError, AriRest, AriUnavailable
from ivr.adapters.call_store import CallStore, StoreUnavailable
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import load_users
from ivr.adapters.native_calls import NativeCalls
from ivr.adapters.recorder import Recorder
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.speech.recognizers import RecognizerPool, load_model
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screener import Screener
from ivr.adapters.speech.vosk_model import ModelUnusable
from ivr.adapters.systemd_notify import heartbeat, notify
from ivr.config.acd_policy import agency_policies, screening_policy
from ivr.config.asterisk_centre import registering_agency_phones
from ivr.config.loader import load as load_config
from ivr.config.schema import CentreConfig
from ivr.config_reload import ConfigReload
from ivr.core.call import CallPolicy
from ivr.core.callback import CallbackPolicy
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import HANDED_OVER_ON_STOP, Engine
from ivr.settings import Settings

log = logging.getLogger("ivr")
DISPATCH_CONNECTIONS = 24  # Asterisk's http.conf sessionlimit (200) covers both pools


def _call_policy(settings: Settings, config: CentreConfig) -> CallPolicy:
    screening = screening_policy(config)
    if screening is not None:
        screening = replace(
            screening, silent_prompt_media=settings.silent_prompt_media, warning_media=settings.warning_media
        )
    return CallPolicy(
        greeting_media=settings.greeting_media,
        greeting_guard_seconds=settings.greeting_guard_seconds,
        reassurance_media=settings.reassurance_media,
        reassure_every_seconds=config.timers.reassurance_every_seconds,
        ring_seconds=config.timers.ring_seconds,
        screening=screening,
        agencies=agency_policies(config),
        agency_legs_end_with_caller=config.agency_legs_end_with_caller,
        agency_announce_media=settings.agency_announce_media,
        agency_failed_media=settings.agency_failed_media,
        record_calls=settings.record_calls,
    )


def _recognizers(settings: Settings, config: CentreConfig) -> RecognizerPool | None:
    """The Vosk workers, or None (screening then uses speech detection and DTMF only)."""
    folder = settings.vosk_model
    off = "IVR_VOSK_MODEL unset" if folder is None else None
    if settings.recognizer_slots == 0:
        off = "IVR_RECOGNIZER_SLOTS=0"
    if not config.screening.enabled:
        off = "screening disabled"
    if folder is None or off is not None:
        log.info("speech recognition off (%s): screening by speech detection and DTMF", off)
        return None
    try:
        model, report = load_model(folder, config.screening.keywords)
    except ModelUnusable as exc:
        log.error("speech recognition off: %s", exc)
        return None
    for note in report.notes:
        log.warning("Vosk model %s: %s", settings.vosk_model, note)
    mode = "keyword (grammar)" if report.keyword_mode else "free transcript"
    log.info(
        "Vosk model %s loaded: %d Hz, %s mode, keywords %s, %d recognizer workers",
        settings.vosk_model,
        report.sample_rate,
        mode,
        ", ".join(report.keywords) or "none",
        settings.recognizer_slots,
    )
    return RecognizerPool(model, report, settings.recognizer_slots)


async def _look_after_recordings(recorder: Recorder, switch: bool) -> None:
    """Deletes recordings past retention, at start and then every hour; checks the free
    space every minute and, when calls are recorded (`switch`), sets the dialplan's
    recording switch to match."""
    last_cleanup = -math.inf
    while True:
        if switch:
            try:
                await recorder.watch_space()
            except (AriError, AriUnavailable) as exc:
                log.warning("dialplan recording switch not set: %s", exc)
        if time.monotonic() - last_cleanup >= 3600:
            try:
                await recorder.clean_up()
                last_cleanup = time.monotonic()
            except (AriError, AriUnavailable) as exc:
                log.warning("recording cleanup postponed: %s", exc)
        await asyncio.sleep(60)


async def _collect_native_calls(
    native: NativeCalls, connected: Callable[[], bool], every_seconds: float = 10
) -> None:
    """Records for the calls the native queue handled, every few seconds while AMI is up."""
    failing = False
    while True:
        if connected():
            try:
                await native.collect()
                failing = False
            except (AmiUnavailable, StoreUnavailable) as exc:
                if not failing:
                    log.warning("native queue calls not recorded yet (retried): %s", exc)
                failing = True
        await asyncio.sleep(every_seconds)


async def run(settings: Settings) -> None:
    os.umask(0o077)  # the call history and whatever else it creates: for its owner only
    config = load_config(settings.centre_config)  # invalid: raises ConfigInvalid before anything starts
    users = load_users(  # or UsersInvalid (also a weak token, outside development mode)
        settings.users_file, settings.api_token.get_secret_value(), settings.development
    )
    recognizers = _recognizers(settings, config)  # forks its workers before any thread starts
    auth = aiohttp.BasicAuth(settings.ari_user, settings.ari_password.get_secret_value())
    # Prompts, screening and recording: a request that finds no free connection within 3 s
    # fails (and fails open) rather than queueing behind a saturated Asterisk. Putting a
    # caller through (answers, offers, bridges, hand-overs) has its own smaller pool, where a
    # request waits for a connection up to the total.
    timeout = aiohttp.ClientTimeout(total=10, connect=3)
    dispatch_timeout = aiohttp.ClientTimeout(total=10, sock_connect=3)
    # Timeouts: a hung Redis must fail fast (writes are held and retried, reads fail open).
    # The password comes apart from the URL (IVR_REDIS_PASSWORD), so the URL logged below holds none.
    redis_client = aioredis.from_url(
        settings.redis_url, password=settings.redis_secret, socket_timeout=2, socket_connect_timeout=2
    )
    async with (
        aiohttp.ClientSession(auth=auth, timeout=timeout) as session,
        aiohttp.ClientSession(
            auth=auth, timeout=dispatch_timeout, connector=aiohttp.TCPConnector(limit=DISPATCH_CONNECTIONS)
        ) as dispatch_session,
    ):
        rest = AriRest(session, settings.ari_url, settings.ari_app)
        dispatch = AriRest(dispatch_session, settings.ari_url, settings.ari_app)
        store = CallStore(redis_client, settings.redis_prefix, settings.record_retention_days)
        agents = AgentStore(redis_client, settings.redis_prefix)
        engine = Engine(rest, store, agents, config, _call_policy(settings, config), dispatch_rest=dispatch)
        reputation = ReputationStore(redis_client, settings.redis_prefix, settings.reputation_window_days)
        ports = RtpPorts(*settings.rtp_port_range, host=settings.screening_rtp_host)

        def blocking() -> bool:  # read at each screening: a reload switches it
            return engine.config.screening.block.enabled

        screener = Screener(
            rest,
            ports,
            reputation,
            recognizers,
            engine.post,
            blocking=blocking,
            slots=settings.screening_slots,
            waiter=engine.waiter,
            cpu_share=settings.screening_cpu_share,
        )
        engine.use_screener(screener)
        engine.agency_contacts.watch(registering_agency_phones(config, settings.static_contacts))
        recorder = Recorder(
            rest,
            engine.waiter,
            settings.recordings_path,
            settings.recording_min_free_mb,
            settings.recording_retention_days,
        )
        engine.use_recorder(recorder)
        engine.callback_policy = CallbackPolicy(
            trunk=settings.callback_dial,
            taker_ring_seconds=config.timers.ring_seconds,
            dial_seconds=settings.callback_ring_seconds,
        )
        engine.archive = Archive(settings.archive_path)
        cleanup = asyncio.create_task(
            _look_after_recordings(recorder, settings.record_calls), name="recording-cleanup"
        )
        await engine.restore_agents()

        watch: PhoneWatch | None = None
        if settings.ami_password is not None:
            watch = PhoneWatch(
                settings.ami_host,
                settings.ami_port,
                settings.ami_user,
                settings.ami_password.get_secret_value(),
                engine.phone_status,
                engine.phone_listing_done,
            )
            watch.start()
        else:
            log.warning("AMI off (IVR_AMI_PASSWORD unset): no phone details, no pjsip reload on changes")

        reloading = ConfigReload(settings, engine, watch, lambda fresh: _call_policy(settings, fresh))

        api = web.AppRunner(
            build_api(
                CentreService(engine),
                store,
                reputation,
                users,
                reloading.reload,
                timezone=settings.timezone,
                watchdog_status=settings.watchdog_status,
            )
        )
        await api.setup()
        await web.TCPSite(api, settings.http_bind, settings.http_port).start()
        events = EventStream(
            session, settings.ari_url, settings.ari_app, max_delay=settings.reconnect_max_seconds
        )
        engine.ari_connected = events.connected.is_set

        def taker_of(interface: str) -> str:
            return next((a.id for a in engine.config.agents if a.endpoint == interface), interface)

        background = [cleanup]
        if watch is not None:
            native = NativeCalls(watch, store, taker_of, engine.finished, engine.archive_again)
            background.append(
                asyncio.create_task(
                    _collect_native_calls(native, lambda: watch.logged_in), name="native-calls"
                )
            )
        else:
            log.warning("AMI off: calls the native queue handles will get no record here")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, reloading.on_signal)
        log.info(
            "control plane starting: ARI %s app %s, Redis %s, %s (%d call takers), API http://%s:%d",
            settings.ari_url,
            settings.ari_app,
            settings.redis_url,
            settings.centre_config,
            len(config.agents),
            settings.http_bind,
            settings.http_port,
        )

        async def connected() -> None:
            try:  # only the events the control plane handles: the rest cost JSON on both sides
                await rest.filter_events(KNOWN_TYPES)
            except (AriError, AriUnavailable) as exc:
                log.warning("ARI event filter not set, Asterisk sends every event: %s", exc)
            await engine.on_connected()

        runner = asyncio.create_task(events.run(engine.on_event, connected), name="ari-events")
        # systemd's watchdog: heartbeats from this very loop, so a hung loop is restarted
        beating = asyncio.create_task(heartbeat(), name="systemd-heartbeat")
        notify("READY=1")  # serving: ARI is retried meanwhile and /api/health says whether it is up
        await stop.wait()
        notify("STOPPING=1")
        waiting = sum(t.state.phase in HANDED_OVER_ON_STOP for t in engine.calls.values())
        log.info(
            "stopping: %d waiting callers go to the native queue, %d connected calls stay up",
            waiting,
            len(engine.calls) - waiting,
        )
        await reloading.close()
        await engine.stop()
        if watch is not None:
            watch.close()
        background += [runner, beating]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await api.cleanup()
    await redis_client.aclose()
    if engine.archive is not None:
        engine.archive.close()
    if recognizers is not None:
        recognizers.close()
