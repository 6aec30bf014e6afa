"""The control plane's HTTP app for unit tests: the real Engine and the real routes of
build_api, with Redis and Asterisk unreachable (nothing connects until a request needs
it: such requests answer 503; the events stream counts as connected unless told), one
user of every role, and two live calls planted in the engine (CALL_OWN taken by
taker01, the call taker here; CALL_OTHER by taker02)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from ivr.adapters.archive import Archive
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.call_store import CallStore
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import Role, User, token_hash
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.taker_store import TakerStore
from ivr.config.loader import load
from ivr.core.call import CallPolicy
from ivr.core.call_state import Call, Phase
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import Engine
from ivr.engine.parts import Parts

REPO = Path(__file__).resolve().parents[2]
TAKER = "taker01"
CALL_OWN, CALL_OTHER = "1700000000.1", "1700000000.2"
# role name -> (token, user); "operator" is the operators' own key (IVR_API_TOKEN)
USERS: dict[str, tuple[str, User]] = {
    "call-taker": ("taker01-unit-token-0001", User("desk-one", frozenset({Role.CALL_TAKER}), TAKER)),
    "supervisor": ("supervisor-unit-token-01", User("ketua-regu", frozenset({Role.SUPERVISOR}))),
    "engineer": ("engineer-unit-token-001", User("teknisi", frozenset({Role.ENGINEER}))),
    "operator": ("operators-own-token-0001", User("operator", frozenset(Role))),
}


@dataclass
class Api:
    client: TestClient
    engine: Engine
    store: CallStore
    reputation: ReputationStore

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {USERS[role][0]}"}


async def _reloaded() -> dict[str, object]:
    return {"reloaded": True}


def _live_call(call_id: str, taker: str, caller: str) -> Call:
    return Call(call_id, caller, "112", Phase.CONNECTED, CallPolicy(), taker=taker, arrived_at=1.0)


def with_blocking(engine: Engine) -> None:
    """The centre's configuration with screening.block.enabled: true."""
    screening = engine.config.screening
    block = screening.block.model_copy(update={"enabled": True})
    engine.config = engine.config.model_copy(
        update={"screening": screening.model_copy(update={"block": block})}
    )


@asynccontextmanager
async def api(
    archive: Path | None = None,
    ari_connected: Callable[[], bool] = lambda: True,
    ami: Callable[[], dict[str, bool]] = dict,
    tls: ssl.SSLContext | None = None,
    edges: Callable[[], dict[str, bool]] = dict,
) -> AsyncIterator[Api]:
    """`ami`: each AMI connection logged in or not (none: AMI off); `tls`: served over HTTPS
    with this context (the client then needs its own session that trusts the certificate)."""
    redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    async with aiohttp.ClientSession() as session:
        store = CallStore(redis)
        parts = Parts(archive=Archive(archive) if archive is not None else None, ari_connected=ari_connected)
        engine = Engine(AriRest(session, "http://127.0.0.1:1", "ivr112"), store, TakerStore(redis),
                        load(REPO / "queue" / "kendari.yaml"), CallPolicy(), parts=parts)  # fmt: skip
        live = {
            CALL_OWN: _live_call(CALL_OWN, TAKER, "081200000001"),
            CALL_OTHER: _live_call(CALL_OTHER, "taker02", "081200000002"),
        }
        engine.centre = replace(engine.centre, calls=live)  # two calls in progress, connected
        reputation = ReputationStore(redis)
        users = {token_hash(token): user for token, user in USERS.values()}
        app = build_api(CentreService(engine, ami=ami, edges=edges), store, reputation, users, _reloaded)
        server = TestServer(app)
        if tls is not None:
            await server.start_server(ssl=tls)
        async with TestClient(server) as client:
            yield Api(client, engine, store, reputation)
        if engine.archive is not None:
            engine.archive.close()
    await redis.aclose()
