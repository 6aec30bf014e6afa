"""Callers' locations through the real HTTP app (Redis unreachable, calls planted in the
real engine): the AML receiver as an operator's server and an SMS gateway use it (their
own credentials, bounded, every field checked, a 4xx naming what is wrong), a fix put on
its caller's live call (desk, event stream, number masking), a fix kept until its call
arrives, a location typed in at the desk, and the senders file."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from ivr.adapters.aml_senders import SendersInvalid, load_senders
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.call_store import CallStore
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import token_hash
from ivr.adapters.http.event_stream import seen_by
from ivr.adapters.http.snapshot import DeskMemory, SharedFigures, snapshot
from ivr.adapters.locations import CallLocations, Locating
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.taker_store import TakerStore
from ivr.adapters.write_behind import WriteBehind
from ivr.config.loader import load
from ivr.core.call import CallPolicy
from ivr.core.call_state import Call, Phase
from ivr.core.commands import RecordTimeline
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import Engine
from tests.unit.http_app import REPO, USERS

SENDERS = "telkomsel  Tsel-aml-9f3Kq2LxWp7v\nsms-gw  Gw-sms-X4m8Rt2Nz6Qc  # the SMS gateway\n"
TSEL = "Basic " + base64.b64encode(b"telkomsel:Tsel-aml-9f3Kq2LxWp7v").decode()
GATEWAY = "Bearer Gw-sms-X4m8Rt2Nz6Qc"
OWN, WITHHELD = "1700000100.1", "1700000100.2"  # taker01's call; taker02's, number withheld
NOW = time.time()


def form(**fields: str) -> dict[str, str]:
    base = {"v": "3", "emergency_number": "112", "device_number": "+6281200000001",
            "location_latitude": "-3.97231", "location_longitude": "122.51460",
            "location_time": str(int((NOW - 2) * 1000)), "location_accuracy": "15",
            "location_source": "gps"}  # fmt: skip
    return {k: v for k, v in {**base, **fields}.items() if v != "-"}


def sms_text(lat: str = "-03.97231") -> str:
    top = time.strftime("%Y%m%d%H%M%S", time.gmtime(NOW - 3))
    ids = "si=510100000000000;ei=355458061005220;mcc=510;mnc=10"
    return f'A"ML=1;lt={lat};lg=+122.51460;rd=25;top={top};lc=68;pm=W;{ids}'


@dataclass
class App:
    client: TestClient
    engine: Engine
    locating: Locating

    @property
    def book(self) -> CallLocations:
        return self.locating.book

    async def aml(self, fields: dict[str, str], auth: str = TSEL, **kw: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.post("/api/v1/aml", data=fields, headers={"Authorization": auth}, **kw)
        return response.status, await response.json()

    async def sms(self, text: str | bytes, number: str | None = "081200000001", auth: str = GATEWAY,
                  content_type: str = "text/plain") -> tuple[int, dict[str, Any]]:  # fmt: skip
        query = {"from": number} if number is not None else {}
        headers = {"Authorization": auth, "Content-Type": content_type}
        response = await self.client.post("/api/v1/aml/sms", params=query, data=text, headers=headers)
        return response.status, await response.json()

    async def desk(self, role: str) -> dict[str, Any]:
        user = USERS[role][1]
        centre = CentreService(self.engine)
        shared = SharedFigures(
            centre, ReputationStore(aioredis.from_url("redis://127.0.0.1:1/0")), "Asia/Makassar"
        )
        store = CallStore(aioredis.from_url("redis://127.0.0.1:1/0"))
        return await snapshot(user, centre, store, ReputationStore(aioredis.from_url("redis://127.0.0.1:1/0")),
                              shared, DeskMemory(), "Asia/Makassar", locating=self.locating)  # fmt: skip


def planted(call_id: str, taker: str, caller: str, withheld: bool = False) -> Call:
    return Call(call_id, caller, "112", Phase.CONNECTED, CallPolicy(), taker=taker, arrived_at=NOW - 10,
                withheld=withheld)  # fmt: skip


@asynccontextmanager
async def app(senders: str = SENDERS, tmp: Path | None = None) -> AsyncIterator[App]:
    redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    async with aiohttp.ClientSession() as session:
        store = CallStore(redis)
        engine = Engine(AriRest(session, "http://127.0.0.1:1", "ivr112"), store, TakerStore(redis),
                        load(REPO / "queue" / "kendari.yaml"), CallPolicy())  # fmt: skip
        live = {OWN: planted(OWN, "taker01", "081200000001"),
                WITHHELD: planted(WITHHELD, "taker02", "081200000002", withheld=True)}  # fmt: skip
        engine.centre = replace(engine.centre, calls=live)
        book = CallLocations(store, WriteBehind(), engine.feed, lambda: engine.calls)
        path = (tmp or Path("/nonexistent")) / "aml_senders"
        if tmp is not None:
            path.write_text(senders)
            path.chmod(0o600)
        locating = Locating(
            book, load_senders(path, development=True), "https://{s}.tiles.example/{z}/{x}/{y}.png"
        )
        users = {token_hash(token): user for token, user in USERS.values()}
        api = build_api(CentreService(engine), store, ReputationStore(redis), users, dict, locating=locating)  # type: ignore[arg-type]
        async with TestClient(TestServer(api)) as client:
            yield App(client, engine, locating)
    await redis.aclose()


async def test_an_operators_fix_lands_on_the_live_call_of_that_number_and_on_its_takers_desk(
    tmp_path: Path,
) -> None:
    async with app(tmp=tmp_path) as a:
        status, reply = await a.aml(form())
        assert (status, reply) == (200, {"accepted": True, "located": True, "matched": True, "ignored": []})
        fix = a.book.latest(OWN)
        assert fix is not None and (fix.lat, fix.lon, fix.accuracy_m, fix.sender) == (
            -3.97231,
            122.5146,
            15.0,
            "telkomsel",
        )
        desk = await a.desk("call-taker")
        assert desk["my_call"]["location"]["lat"] == -3.97231
        assert desk["my_call"]["location"]["source"] == "aml-https"
        assert [f["lat"] for f in desk["my_call"]["locations"]] == [-3.97231]
        assert desk["map"]["tiles"].startswith("https://")
        other = await a.desk("supervisor")
        assert "my_call" not in other and "map" not in other


async def test_every_fix_is_kept_and_the_newest_fix_wins(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        await a.aml(form(location_latitude="-3.9800", location_time=str(int((NOW - 1) * 1000))))
        await a.aml(
            form(location_latitude="-3.9700", location_time=str(int((NOW - 8) * 1000)))
        )  # older fix, later
        assert (await a.sms(sms_text("-03.96000")))[0] == 200  # the SMS's fix: NOW - 3
        desk = (await a.desk("call-taker"))["my_call"]
        assert desk["location"]["lat"] == -3.98
        assert [f["lat"] for f in desk["locations"]] == [-3.97, -3.96, -3.98]
        assert [f["source"] for f in desk["locations"]] == ["aml-https", "aml-sms", "aml-https"]


async def test_a_withheld_callers_fix_still_reaches_their_taker_and_the_events_hide_the_number(
    tmp_path: Path,
) -> None:
    async with app(tmp=tmp_path) as a:
        a.engine.feed.note(
            RecordTimeline(WITHHELD, "arrived", NOW - 10, {"caller": "081200000002", "withheld": "yes"})
        )
        subscription, _ = a.engine.feed.subscribe(None)
        status, reply = await a.aml(form(device_number="6281200000002"))
        assert (status, reply["matched"]) == (200, True)
        assert a.book.has_location(WITHHELD)
        event = await subscription.next(1.0)
        assert event is not None and event.name == "location"
        assert (event.data["call"], event.data["lat"], event.data["withheld"]) == (WITHHELD, -3.97231, True)
        assert "081200000002" not in str(seen_by(event.data, sees_numbers=False))
        assert event.data["caller"] == "081200000002"  # for those who may read call records


async def test_a_fix_for_a_number_with_no_call_is_kept_and_taken_by_the_call_when_it_arrives(
    tmp_path: Path,
) -> None:
    async with app(tmp=tmp_path) as a:
        status, reply = await a.aml(form(device_number="+6281299990000"))
        assert (status, reply["matched"], reply["located"]) == (200, False, True)
        assert a.book.kept == 1
        late = "1700000100.9"  # the INVITE comes after the location, as handsets do it
        a.engine.feed.note(RecordTimeline(late, "arrived", time.time(), {"caller": "081299990000"}))
        fix = a.book.latest(late)
        assert fix is not None and fix.lat == -3.97231
        assert a.book.kept == 0
        a.engine.feed.note(RecordTimeline(late, "ended", time.time(), {"outcome": "answered"}))
        assert not a.book.has_location(late)  # the record keeps it, memory forgets it


async def test_a_sender_without_good_credentials_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        wrong = base64.b64encode(b"telkomsel:wrong-secret-0000000").decode()
        borrowed = base64.b64encode(b"indosat:Tsel-aml-9f3Kq2LxWp7v").decode()  # another sender's secret
        user = f"Bearer {USERS['operator'][0]}"  # a user's token is no sender's
        for auth in (
            "",
            f"Basic {wrong}",
            f"Basic {borrowed}",
            "Basic !!!",
            "Bearer wrong-secret-00000000000",
            user,
        ):
            status, reply = await a.aml(form(), auth=auth)
            assert (status, reply["code"]) == (401, "unauthorized"), auth
        assert (await a.sms(sms_text(), auth=TSEL.replace("Basic", "Bearer")))[0] == 401
        assert a.book.latest(OWN) is None and a.book.kept == 0
        assert (await a.aml(form(), auth=GATEWAY))[0] == 200  # any configured sender may use either form
    async with app() as a:  # no senders file: every delivery refused, saying why
        status, reply = await a.aml(form())
        assert status == 401 and "no AML sender is configured" in reply["error"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (form(location_latitude="-91"), "location_latitude"),
        (form(location_longitude="200.5"), "location_longitude"),
        (form(location_latitude="-"), "location_latitude"),
        (form(device_number="-"), "device_number"),
        (form(device_number="anonymous"), "device_number"),
        (form(location_accuracy="-5"), "location_accuracy"),
        (form(location_time="1999-01-01"), "location_time"),
        (form(location_source="psychic"), "location_source"),
    ],
)
async def test_a_wrong_field_gets_a_400_naming_it(tmp_path: Path, fields: dict[str, str], field: str) -> None:
    async with app(tmp=tmp_path) as a:
        status, reply = await a.aml(fields)
        assert (status, reply["code"], reply["field"]) == (400, "invalid_body", field)
        assert reply["error"].startswith(field)
        assert a.book.latest(OWN) is None


async def test_unknown_fields_are_named_back_and_the_fix_is_kept(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        status, reply = await a.aml(form(device_languages="id-ID", medical_notes="asma"))
        assert (status, reply["located"], reply["ignored"]) == (200, True, ["medical_notes"])


async def test_malformed_oversized_or_mistyped_deliveries_are_refused_with_the_reason(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        headers = {"Authorization": TSEL}
        cases: list[tuple[bytes, str, int, str]] = [
            (
                b"device_number=%2B6281200000001&location_latitude=1&&=x",
                "application/x-www-form-urlencoded",
                400,
                "not a form",
            ),
            (b"device_number=%ff%fe", "application/x-www-form-urlencoded", 400, "device_number"),
            (b"\xff\xfe\x00", "application/x-www-form-urlencoded", 400, "not UTF-8"),
            (
                b'{"device_number": "+6281200000001"}',
                "application/json",
                415,
                "application/x-www-form-urlencoded",
            ),
            (b"device_number=1", "application/x-www-form-urlencoded; charset=latin-1", 415, "charset"),
            (b"v=1&" + b"x" * 9000, "application/x-www-form-urlencoded", 413, "larger than"),
            (b"&".join(b"f%d=1" % n for n in range(120)), "application/x-www-form-urlencoded", 400, ""),
        ]
        for body, media, status, says in cases:
            response = await a.client.post(
                "/api/v1/aml", data=body, headers={**headers, "Content-Type": media}
            )
            reply = await response.json()
            assert response.status == status, (body[:40], reply)
            assert says in reply["error"] and reply["code"], reply
        chunks = aiohttp.payload.BytesPayload(b"v=1&" + b"y" * 20000)  # no Content-Length: read no further
        response = await a.client.post(
            "/api/v1/aml",
            data=chunks,
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 413
        assert a.book.latest(OWN) is None


async def test_an_sms_gateway_delivers_the_text_with_the_senders_number(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        assert await a.sms(sms_text().replace('A"ML', "A”ML")) == (
            200,
            {"accepted": True, "located": True, "matched": True, "ignored": []},
        )
        fix = a.book.latest(OWN)
        assert fix is not None and (fix.source.value, fix.method.value, fix.accuracy_m) == (
            "aml-sms",
            "wifi",
            25.0,
        )
        top = time.strftime("%Y%m%d%H%M%S", time.gmtime(NOW))
        nothing = f'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top={top};lc=0;pm=N;si=234159000000000;ml=93'
        assert (await a.sms(nothing))[1]["located"] is False
        status, reply = await a.sms(sms_text(), number=None)
        assert (status, reply["field"]) == (400, "from")
        status, reply = await a.sms(sms_text("+95.00000"))
        assert (status, reply["field"]) == (400, "lt")
        status, reply = await a.sms(sms_text() + ";lc=5")
        assert (status, reply["field"]) == (400, "lc")
        assert (await a.sms(sms_text(), content_type="application/octet-stream"))[0] == 415
        assert (await a.sms("x" * 3000))[0] == 413
        assert (await a.sms(b'A"ML=1;lt=\xff'))[0] == 400


async def test_the_taker_places_their_caller_by_hand_and_no_one_else_can(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        taker = {"Authorization": f"Bearer {USERS['call-taker'][0]}"}
        body = {"lat": -3.99, "lon": 122.52, "accuracy_m": 30, "address": "Jl. Ahmad Yani, depan pasar"}
        response = await a.client.post(f"/api/v1/calls/{OWN}/location", json=body, headers=taker)
        assert response.status == 201
        fix = (await response.json())["location"]
        assert (fix["source"], fix["method"], fix["sender"], fix["address"]) == (
            "desk",
            "manual",
            "taker01",
            body["address"],
        )
        assert (await a.desk("call-taker"))["my_call"]["location"]["address"] == body["address"]
        other = await a.client.post(f"/api/v1/calls/{WITHHELD}/location", json=body, headers=taker)
        assert other.status == 403  # not their call
        for wrong in ({"lat": 91, "lon": 0}, {"lat": "x", "lon": 0}, {"lon": 1}, {**body, "by": "taker09"}):
            response = await a.client.post(f"/api/v1/calls/{OWN}/location", json=wrong, headers=taker)
            assert response.status == 400 and (await response.json())["code"] == "invalid_body"
        supervisor = {"Authorization": f"Bearer {USERS['supervisor'][0]}"}
        response = await a.client.post(f"/api/v1/calls/{WITHHELD}/location", json=body, headers=supervisor)
        assert response.status == 201 and (await response.json())["location"]["sender"] == "ketua-regu"


async def test_the_map_tiles_origin_is_allowed_for_images_and_nothing_more(tmp_path: Path) -> None:
    async with app(tmp=tmp_path) as a:
        response = await a.client.get("/dashboard/location.js")
        policy = response.headers["Content-Security-Policy"]
        assert "img-src 'self' data: https://*.tiles.example;" in policy
        assert "script-src 'self';" in policy and "connect-src 'self';" in policy


def test_the_senders_file_is_checked_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "aml_senders"
    path.write_text("# operators\ntelkomsel Tsel-aml-9f3Kq2LxWp7v\n")
    assert len(load_senders(path)) == 1
    assert len(load_senders(tmp_path / "none")) == 0 and len(load_senders(None)) == 0
    bad = (
        "telkomsel Tsel-aml-9f3Kq2LxWp7v\ntelkomsel Other-aml-5hJ2kQ9xZ3\nindosat password1234567\n"
        "xl\nbad/name Zz-aml-8Yt5Rw3Qp1Lm\n"
    )
    path.write_text(bad)
    with pytest.raises(SendersInvalid) as refused:
        load_senders(path)
    problems = str(refused.value).splitlines()
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in problems] == ["2", "3", "4", "5"]
    assert "given twice" in problems[0] and "guessable" in problems[1] and "Tsel" not in str(refused.value)
    path.write_text("indosat password1234567\n")
    assert len(load_senders(path, development=True)) == 1  # development mode takes a weak secret
