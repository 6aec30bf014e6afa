"""The API against its own OpenAPI document, on the running control plane: the document
lists exactly the routes the app serves; every operation, for every role, called with
made-up and with real path values (a call taker, a call that taker took, a number; the
centre with blocking on, so every body model is reached), with request bodies generated
from the document's schemas (empty, wrong types, values out of range, unknown fields),
in other encodings (an unknown charset, latin-1, UTF-16, bytes that are not UTF-8) and
with every documented query parameter set to junk, huge, negative and far-off values,
answers with a 4xx naming what was wrong, or a success: never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import Process, Stack, centre_config, place_call, users_file

pytestmark = pytest.mark.integration

WRONG = {"string": [123, "", "x" * 500, None], "number": ["ten", -1, None], "integer": ["ten", -1, 1.5]}
ENCODINGS: list[tuple[str, bytes]] = [  # content type, body
    ("application/json; charset=foo", b'{"reason": "makan"}'),
    ("application/json; charset=latin-1", '{"reason": "café"}'.encode("latin-1")),
    ("application/json; charset=utf-16", '{"reason": "makan"}'.encode("utf-16")),
    ("application/json", '{"reason": "makan"}'.encode("utf-16")),
    ("application/json", b'{"reason": "caf\xe9"}'),
    ("application/json; charset=utf-8", b'{"reason": "\xff\xfe\xfd"}'),
    ("application/json", b"[" * 5000 + b"]" * 5000),
]
QUERY_VALUES = ["junk", "x" * 3000, "-1", "0", "1.5", "9" * 40, "9999-12-31", "0001-01-01", "1970-01-01",
                "2024-02-30", "", "\x00", "\u202e", "%ff", "' OR 1=1 --"]  # fmt: skip
TOKENS = {
    "taker01": "taker01-openapi-token-1",
    "sup": "supervisor-openapi-tok1",
    "eng": "engineer-openapi-token1",
}


def call(
    stack: Stack,
    method: str,
    path: str,
    body: bytes | None,
    token: str,
    content_type: str = "application/json",
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.api_port}{path}", data=body, method=method.upper()
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            if resp.headers.get_content_type() == "text/event-stream":
                return resp.status, b""  # the event stream stays open: its answer is its status
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def bodies(schema: dict[str, Any], components: dict[str, Any]) -> list[bytes]:
    """Invalid bodies derived from a request schema, plus junk."""
    model = components[schema["$ref"].rsplit("/", 1)[1]]
    properties: dict[str, Any] = model.get("properties", {})
    made: list[Any] = [{}, [], "text", {"unknown_field": 1}]
    for name, prop in properties.items():
        for wrong in WRONG.get(prop.get("type", "string"), [None]):
            made.append({**{n: "x" for n in properties}, name: wrong})
    return [json.dumps(b).encode() for b in made] + [b"{not json", b""]


def refused_with_a_reason(status: int, answer: bytes, what: object) -> None:
    assert status < 500, (what, status, answer[:300])
    if status >= 400:
        assert "error" in json.loads(answer), (what, answer[:300])


def a_call_taken_by_taker01(
    stack: Stack, control_plane: Callable[..., Process], phones: Callable[..., Process], media: Path
) -> str:
    config = centre_config(media)
    config.write_text(
        config.read_text().replace("  block:\n    enabled: false", "  block:\n    enabled: true")
    )
    users = users_file(media, {"taker01": (TOKENS["taker01"], "call-taker", "taker01"),
                               "sup": (TOKENS["sup"], "supervisor", ""),
                               "eng": (TOKENS["eng"], "engineer", "")})  # fmt: skip
    control_plane(["taker01"], IVR_USERS_FILE=str(users), IVR_CENTRE_CONFIG=str(config))
    phones("taker01", "phone_answers.xml", hold_ms=1500)
    before = stack.call_ids()
    caller = place_call(media, "112", hold_ms=30000, caller="081255500001", wait=False)
    call_id = stack.new_call_id(before)
    stack.wait_entry(call_id, "connected", timeout=30)  # then the phone hangs up after 1.5 s
    assert stack.wait_ended(call_id, timeout=30)["taker"] == "taker01"
    assert caller.popen.wait(timeout=30) == 0, caller.output()
    return call_id


def test_every_operation_in_the_document_answers_bad_input_with_a_4xx(
    stack: Stack,
    control_plane: Callable[..., Process],
    phones: Callable[..., Process],
    media: Path,
) -> None:
    real_call = a_call_taken_by_taker01(stack, control_plane, phones, media)
    status, raw = call(stack, "get", "/api/openapi.json", None, stack.api_token)
    assert status == 200
    doc = json.loads(raw)
    components = doc["components"]["schemas"]
    operations = [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]
    assert len(operations) >= 20
    with_body = {
        p for _, p, op in operations if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    models = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"] for _, p, op in operations
              if p in with_body and "requestBody" in op}  # fmt: skip
    # the AML receiver's bodies are a form and a text, sent with a sender's own credentials
    # (tests/unit/test_location_api.py): with any user's token, whatever the body, a 401
    raw = {p for _, p, op in operations if "requestBody" in op} - with_body
    assert raw == {"/api/v1/aml", "/api/v1/aml/sms"}
    assert len(models) == 8  # every body model has its route
    assert set(components) - {m.rsplit("/", 1)[1] for m in models} == {
        "Disposition",
        "ErrorBody",
        "IncidentType",
    }
    assert len(with_body) == 14  # each at /api/v1/ and at its former path; the pause at /api/agents/ too

    reached: set[str] = set()  # body routes whose body the operators' key got checked (400)
    for role, token in [("operator", stack.api_token), *TOKENS.items()]:
        for method, path, operation in operations:
            for taker, call_id, number in (
                ("taker99", "nope.1", "0800"),
                ("taker01", real_call, "081255500001"),
            ):
                concrete = (
                    path.replace("{taker}", taker).replace("{call}", call_id).replace("{number}", number)
                )
                what = (role, method, concrete)
                if path in raw:
                    for content_type, body in [
                        *ENCODINGS,
                        *((m, b"v=1&" * 3000) for m in operation["requestBody"]["content"]),
                    ]:
                        status, answer = call(stack, method, concrete, body, token, content_type)
                        refused_with_a_reason(status, answer, (*what, content_type, body[:40]))
                        assert status == 401, (*what, content_type, answer[:200])
                elif "requestBody" in operation:
                    schema = operation["requestBody"]["content"]["application/json"]["schema"]
                    for body in bodies(schema, components):
                        status, answer = call(stack, method, concrete, body, token)
                        refused_with_a_reason(status, answer, (*what, body[:80]))
                        assert status >= 400, (*what, body[:80], answer[:200])
                        if role == "operator" and taker == "taker01" and status == 400:
                            reached.add(path)
                    for content_type, body in ENCODINGS:
                        status, answer = call(stack, method, concrete, body, token, content_type)
                        refused_with_a_reason(status, answer, (*what, content_type, body[:40]))
                        assert status >= 400, (*what, content_type, answer[:200])
                for parameter in operation.get("parameters", []):
                    if parameter["in"] != "query":
                        continue
                    name = parameter["name"]
                    queries = [urllib.parse.urlencode({name: value}) for value in QUERY_VALUES]
                    queries += [f"{name}=%ff%fe", f"{name}=%", f"{name}=%zz", f"{name}=1&{name}=2"]  # as sent
                    for query in queries:
                        status, answer = call(stack, method, f"{concrete}?{query}", None, token)
                        refused_with_a_reason(status, answer, (*what, query[:60]))
                status, answer = call(stack, method, concrete, None, token)
                refused_with_a_reason(status, answer, what)
    assert reached == with_body  # PauseBody and BlockBody included: real taker, blocking on
