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
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

import aiohttp
from aiohttp import web

from ivr.adapters.ami import PhoneWatch
from ivr.adapters.archive import Archive
from ivr.adapters.ari.channel_names import ChannelNames
from ivr.adapters.ari.events import EventStream
from ivr.adapters.ari.models import KNOWN_TYPES, AnyEvent
from ivr.adapters.ari.node_watch import NodeWatch
from ivr.adapters.ari.port import Ari
from ivr.adapters.ari.rest import AriError, AriUnavailable
from ivr.adapters.ari.stasis_waiter import StasisWaiter
from ivr.adapters.call_store import CallStore
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import User, load_users
from ivr.adapters.http.tls import server_context
from ivr.adapters.leader_lease import LeaderLease, LeaseLost, default_name
from ivr.adapters.locations import Locating, locating_of
from ivr.adapters.machine_busy import MachineBusy
from ivr.adapters.native_calls import NativeCalls
from ivr.adapters.recorder import Recorder
from ivr.adapters.redis_connect import connect as redis_connect
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.speech.recognizers import RecognizerPool, load_model
from ivr.adapters.speech.rtp_receiver import RtpPorts
from ivr.adapters.speech.screener import LAG_WINDOW, Screener
from ivr.adapters.speech.vosk_model import ModelUnusable
from ivr.adapters.systemd_notify import heartbeat, notify
from ivr.adapters.taker_store import TakerStore
from ivr.asterisk_links import NodeVariables, asterisk_links, node_databases
from ivr.config.acd_policy import agency_policies, screening_policy, service_level_policy
from ivr.config.loader import load as load_config
from ivr.config.schema import CentreConfig
from ivr.config_reload import ConfigReload, watch_agency_contacts
from ivr.core.call import CallPolicy
from ivr.core.callback import CallbackPolicy
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import Engine
from ivr.engine.loop_lag import LoopLag
from ivr.engine.parts import Parts, Post
from ivr.engine.service_levels import EVERY_SECONDS as SERVICE_LEVEL_EVERY
from ivr.engine.service_levels import ServiceLevelMonitor
from ivr.settings import Settings

log = logging.getLogger("ivr")
EXIT_STEPPED_DOWN = 3  # another control plane leads now: a supervisor starts this one again as standby
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
    # With Sentinels the client finds the primary through them and follows a failover.
    redis_client = redis_connect(
        settings.redis_url, settings.redis_secret, settings.redis_sentinels, settings.redis_service, timeout=2
    )
    async with (
        aiohttp.ClientSession(auth=auth, timeout=timeout) as session,
        aiohttp.ClientSession(
            auth=auth, timeout=dispatch_timeout, connector=aiohttp.TCPConnector(limit=DISPATCH_CONNECTIONS)
        ) as dispatch_session,
    ):
        names = ChannelNames()  # the live channels' names, learnt from the events (_serve)
        rest, dispatch, nodes = asterisk_links(
            settings, session, dispatch_session, lambda: engine.config, names
        )
        store = CallStore(redis_client, settings.redis_prefix, settings.record_retention_days)
        reputation = ReputationStore(redis_client, settings.redis_prefix, settings.reputation_window_days)
        ports = RtpPorts(*settings.rtp_port_range, host=settings.screening_rtp_host)
        delay = settings.reconnect_max_seconds
        events = nodes or EventStream(session, settings.ari_url, settings.ari_app, max_delay=delay)

        # above this share of the machine's CPU speech detection takes no new caller (1: never)
        busy_limit = settings.screening_busy_limit if settings.screening_busy_limit < 1 else None

        def screener(post: Post, waiter: StasisWaiter) -> Screener:
            return Screener(
                rest,
                ports,
                reputation,
                recognizers,
                post,
                blocking=lambda: engine.config.screening.block.enabled,  # read at each screening
                enough_speech=lambda: engine.config.screening.min_speech_seconds,
                slots=settings.screening_slots,
                waiter=waiter,
                cpu_share=settings.screening_cpu_share,
                busy_limit=busy_limit,
            )

        def recorder(waiter: StasisWaiter) -> Recorder:
            return Recorder(
                rest,
                waiter,
                settings.recordings_path,
                settings.recording_min_free_mb,
                settings.recording_retention_days,
            )

        parts = Parts(
            screener=screener,
            recorder=recorder,
            archive=Archive(settings.archive_path),
            callback_policy=CallbackPolicy(
                trunk=settings.callback_dial,
                taker_ring_seconds=config.timers.ring_seconds,
                dial_seconds=settings.callback_ring_seconds,
            ),
            dispatch=dispatch,
            ari_connected=events.connected if isinstance(events, NodeWatch) else events.connected.is_set,
            feed=EventFeed(settings.events_kept),
        )
        takers = TakerStore(redis_client, settings.redis_prefix)
        engine = Engine(rest, store, takers, config, _call_policy(settings, config), parts=parts)
        locating = locating_of(
            settings, store, engine.writes, engine.feed, lambda: engine.calls, redis_client
        )
        watch_agency_contacts(settings, engine, config)
        lease = None
        if settings.leader_lease_seconds:
            name = settings.instance_name or default_name()
            key = f"{settings.redis_prefix}:leader"
            lease = LeaderLease(redis_client, key, name, settings.leader_lease_seconds)
        try:
            await _serve(
                settings, engine, rest, events, store, reputation, users, config, names, lease, locating
            )
        finally:
            if engine.archive is not None:
                engine.archive.close()
    await redis_client.aclose()
    if recognizers is not None:
        recognizers.close()


class _Stopped(Exception):
    """SIGTERM or SIGINT: the control plane stops on purpose."""


async def _measure_service_levels(monitor: ServiceLevelMonitor) -> None:
    """The service level against its targets, every few seconds (wallboard, alarms, metrics)."""
    while True:
        await monitor.refresh()
        await asyncio.sleep(SERVICE_LEVEL_EVERY)


async def _kept_alive(name: str, job: Callable[[], Awaitable[None]]) -> None:
    """A housekeeping loop that fails unexpectedly is logged and started again a minute
    later: it never takes call handling down with it."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; started again in 60 s", name)
        await asyncio.sleep(60)


async def _serve(
    settings: Settings,
    engine: Engine,
    rest: Ari,
    events: EventStream | NodeWatch,
    store: CallStore,
    reputation: ReputationStore,
    users: dict[str, User],
    config: CentreConfig,
    names: ChannelNames,
    lease: LeaderLease | None = None,
    locating: Locating | None = None,
) -> None:
    """Serves until SIGTERM/SIGINT, every task in one group; the stop itself is shielded.
    With a lease, the API serves at once (health: standby) and the rest waits to lead."""
    if lease is None:
        await engine.restore_takers()
    watch: PhoneWatch | None = None
    if settings.ami_password is not None:
        watch = PhoneWatch(
            settings.ami_host,
            settings.ami_port,
            settings.ami_user,
            settings.ami_password.get_secret_value(),
            None if settings.node_urls else engine.phone_status,  # the cluster: each node's (below)
            engine.phone_listing_done,
        )
        watch.start()
    else:
        log.warning("AMI off (IVR_AMI_PASSWORD unset): no phone details, no pjsip reload on changes")
    databases = node_databases(settings, watch, engine.phone_status)
    if engine.screener is not None and databases:
        engine.screener.variables = NodeVariables(databases, names)  # the talk detection's removal
    reloading = ConfigReload(settings, engine, watch, lambda fresh: _call_policy(settings, fresh))
    service_levels = ServiceLevelMonitor(
        engine.archive, lambda: engine.calls, lambda: service_level_policy(engine.config)
    )
    nodes, edges = (events.status, events.edge_status) if isinstance(events, NodeWatch) else (dict, dict)
    role = (lambda: "active" if lease.leading else "standby") if lease is not None else (lambda: "active")
    lag = LoopLag()
    if engine.screener is not None:  # a report sent earlier while the event loop runs late
        engine.screener.loop_lag = partial(lag.recent, LAG_WINDOW)
    busy = MachineBusy() if engine.screener is not None and engine.screener.busy_limit is not None else None
    if engine.screener is not None and busy is not None:  # no new speech detection above the limit
        engine.screener.machine_busy = busy.share
    logged_in = partial(_logged_in, databases, watch)
    api = web.AppRunner(
        build_api(
            CentreService(engine, service_levels, nodes, role, logged_in, edges, lag),
            store,
            reputation,
            users,
            reloading.reload,
            timezone=settings.timezone,
            watchdog_status=settings.watchdog_status,
            locating=locating,
        )
    )
    await api.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reloading.on_signal)

    async def connected(node: Ari = rest, mine: Callable[[str], bool] | None = None) -> None:
        try:  # only the events the control plane handles: the rest cost JSON on both sides
            await node.filter_events(KNOWN_TYPES)
        except (AriError, AriUnavailable) as exc:
            log.warning("ARI event filter not set, Asterisk sends every event: %s", exc)
        names.forget(mine)  # before this connection's first event: a restarted Asterisk renames
        await engine.on_connected(node, mine)

    async def on_event(event: AnyEvent) -> None:
        names.seen(event)
        await engine.on_event(event)

    try:
        tls = (
            server_context(settings.http_tls_cert, settings.http_tls_key)
            if settings.http_tls_cert is not None and settings.http_tls_key is not None
            else None
        )  # checked when the settings were loaded; set, the API speaks TLS only
        await web.TCPSite(api, settings.http_bind, settings.http_port, ssl_context=tls).start()
        log.info(
            "control plane starting: ARI %s app %s, Redis %s, %s (%d call takers), API %s://%s:%d",
            settings.ari_nodes or settings.ari_url,
            settings.ari_app,
            settings.redis_where,
            settings.centre_config,
            len(config.takers),
            "http" if tls is None else "https",
            settings.http_bind,
            settings.http_port,
        )
        if lease is not None:
            # a standby waits here (its callers' calls are the leader's) until it leads or is
            # stopped; the centre file may have changed while it stood by
            took_over = await lease.acquire_unless(stop)
            if took_over is None:  # stopped standing by: nothing in Asterisk is its own
                log.info("stopping: a standby, it never led")
                await reloading.close()
                for phones in {w for w in (watch, *databases.values()) if w is not None}:
                    phones.close()
                return
            if took_over:
                await reloading.reread("taking over")
            await engine.restore_takers()
        async with asyncio.TaskGroup() as group:
            if lease is not None:
                group.create_task(lease.keep(), name="leader-lease")
            if engine.recorder is not None:
                looking = partial(_look_after_recordings, engine.recorder, settings.record_calls)
                group.create_task(_kept_alive("recording cleanup", looking), name="recording-cleanup")
            if watch is not None:
                taker_of = _taker_of(engine)
                for name, database in databases.items():
                    native = NativeCalls(
                        database, store, taker_of, engine.finished, engine.archive_again, engine.feed.note
                    )
                    sweeping = _kept_alive(f"native-call records {name}", native.sweep)
                    group.create_task(sweeping, name=f"native-calls-{name}")
            else:
                log.warning("AMI off: calls the native queue handles will get no record here")
            group.create_task(_kept_alive("event loop lag", lag.watch), name="event-loop-lag")
            if busy is not None:
                group.create_task(_kept_alive("machine busy", busy.watch), name="machine-busy")
            measuring = partial(_measure_service_levels, service_levels)
            group.create_task(_kept_alive("service levels", measuring), name="service-levels")
            if isinstance(events, NodeWatch):
                group.create_task(events.run(on_event, connected, engine.node_lost), name="ari-nodes")
            else:
                group.create_task(events.run(on_event, connected), name="ari-events")
            # systemd's watchdog: heartbeats from this very loop, so a hung loop is restarted
            group.create_task(heartbeat(), name="systemd-heartbeat")
            notify("READY=1")  # serving: ARI is retried meanwhile and /api/health says whether it is up
            await stop.wait()
            # a second signal cannot cut the stop short
            await asyncio.shield(_stop(engine, reloading, watch, *databases.values()))
            if lease is not None:
                await lease.release()  # the standby leads at once
            raise _Stopped  # leaves the group: its tasks are cancelled and awaited
    except* _Stopped:
        pass
    except* LeaseLost as lost:  # another leads: stop now, touching nothing in Asterisk
        log.error("stepping down: %s", lost.exceptions[0])
        raise SystemExit(EXIT_STEPPED_DOWN) from None
    finally:
        await api.cleanup()


def _logged_in(databases: dict[str, PhoneWatch], watch: PhoneWatch | None) -> dict[str, bool]:
    """Each AMI connection: the nodes' (where their native lines are read) or the one."""
    if databases:
        return {name: database.logged_in for name, database in databases.items()}
    return {"": watch.logged_in} if watch is not None else {}


def _taker_of(engine: Engine) -> Callable[[str], str]:
    def taker_of(interface: str) -> str:
        return next((a.id for a in engine.config.takers if a.endpoint == interface), interface)

    return taker_of


async def _stop(engine: Engine, reloading: ConfigReload, *watches: PhoneWatch | None) -> None:
    notify("STOPPING=1")
    waiting = len(engine.centre.waiting_on_stop())
    log.info(
        "stopping: %d waiting callers go to the native queue, %d connected calls stay up",
        waiting,
        len(engine.calls) - waiting,
    )
    await reloading.close()
    await engine.stop()
    for watch in {w for w in watches if w is not None}:
        watch.close()
