"""The control plane's parts as /api/health reports them (ivr.core.health judges the whole).

Rules: read from memory only (health answers at once); one part per Asterisk connection
(ARI: "asterisk", or "asterisk:<node>" with several nodes; off on a standby, which
connects to none), one per AMI connection ("ami", or "ami:<node>" where each node's
native-queue lines are read), one per SIP edge when there are several
("sip-edge:<address>": degraded while it does not answer, since the others carry the
calls), then Redis (the records held in memory while it is away), the archive, the
recordings folder and screening; a part not configured is off. Details are sentences an
operator can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ivr.core.health import Part, State
from ivr.engine.engine import Engine

NO_AMI = "IVR_AMI_PASSWORD unset: no phone details, native calls get no record"
AMI_AWAY = "not logged in: phone details stale; calls the native queue takes get their record once it is"
NO_SCREENING = "screening off: callers are queued by their number's rules only"


def asterisk_parts(connected: bool, nodes: Mapping[str, bool], role: str) -> list[Part]:
    links = {f"asterisk:{name}": up for name, up in nodes.items()} if nodes else {"asterisk": connected}
    if role != "active":
        return [Part(name, State.OFF, "standby: connects once it leads") for name in links]
    lost = (
        "not connected: new callers go to the dialplan's fallback queue"
        if not nodes
        else "not connected: new calls go to the other nodes"
    )
    return [
        Part(name, State.OK if up else State.DOWN, "ARI connected" if up else lost, carries_calls=True)
        for name, up in links.items()
    ]


def ami_parts(logged_in: Mapping[str, bool]) -> list[Part]:
    if not logged_in:
        return [
            Part("ami", State.OFF, "IVR_AMI_PASSWORD unset: no phone details, native calls get no record")
        ]
    return [
        Part(
            f"ami:{name}" if name else "ami",
            State.OK if up else State.DEGRADED,
            "logged in" if up else AMI_AWAY,
        )
        for name, up in logged_in.items()
    ]


def edge_parts(edges: Mapping[str, bool]) -> list[Part]:
    return [
        Part(f"sip-edge:{edge}", State.OK, "answers")
        if up
        else Part(f"sip-edge:{edge}", State.DEGRADED, "does not answer: calls go through the other edges")
        for edge, up in edges.items()
    ]


def engine_parts(engine: Engine) -> list[Part]:
    writes = engine.writes
    parts = [
        Part("redis", State.DEGRADED, f"{writes.held} records held in memory: {writes.failing}")
        if writes.failing
        else Part("redis", State.OK, "records stored")
    ]
    archive = engine.archive
    parts.append(
        Part("archive", State.OK, f"calls archived to {archive.path}")
        if archive is not None
        else Part("archive", State.OFF, "no archive: no history, callback list or reports")
    )
    recorder = engine.recorder
    if recorder is None:
        parts.append(Part("recordings", State.OFF, "recording off"))
    elif recorder.alarm:
        parts.append(Part("recordings", State.DEGRADED, recorder.alarm))
    else:
        parts.append(Part("recordings", State.OK, f"recording to {recorder.folder}"))
    screener = engine.screener
    if screener is None:
        parts.append(
            Part("screening", State.OFF, "screening off: callers are queued by their number's rules only")
        )
    else:
        status = screener.status()
        light = status.get("energy_only") or []
        sessions = status.get("sessions") or []
        count = len(light) if isinstance(light, list) else 0
        if count:
            detail = f"{count} callers screened by energy and keys only: speech detection at capacity"
            parts.append(Part("screening", State.DEGRADED, detail))
        else:
            running = len(sessions) if isinstance(sessions, list) else 0
            parts.append(Part("screening", State.OK, f"{running} callers being screened"))
    return parts


def health_parts(
    engine: Engine,
    connected: Callable[[], bool],
    nodes: Callable[[], dict[str, bool]],
    role: Callable[[], str],
    ami: Callable[[], dict[str, bool]],
    edges: Callable[[], dict[str, bool]] = dict,
) -> list[Part]:
    links = [*asterisk_parts(connected(), nodes(), role()), *ami_parts(ami()), *edge_parts(edges())]
    return [*links, *engine_parts(engine)]
