"""The API against its own OpenAPI document, on the running control plane: the document
lists exactly the routes the app serves; every operation, called with made-up path values
and with request bodies generated from the document's schemas (empty, wrong types,
values out of range, unknown fields), answers with a clear 4xx or a success, never 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.stack import Process, Stack

pytestmark = pytest.mark.integration

WRONG = {"string": [123, "", "x" * 500, None], "number": ["ten", -1, None], "integer": ["ten", -1, 1.5]}


def call(stack: Stack, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.api_port}{path}", data=body, method=method.upper()
    )
    request.add_header("Authorization", f"Bearer {stack.api_token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
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


def test_every_operation_in_the_document_answers_bad_input_with_a_4xx(
    stack: Stack, control_plane: Callable[..., Process]
) -> None:
    control_plane([])
    status, raw = call(stack, "get", "/api/openapi.json", None)
    assert status == 200
    doc = json.loads(raw)
    components = doc["components"]["schemas"]
    operations = [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]
    assert len(operations) >= 20
    for method, path, operation in operations:
        concrete = path.replace("{agent}", "taker99").replace("{call}", "nope.1").replace("{number}", "0800")
        if "requestBody" in operation:
            for body in bodies(operation["requestBody"]["content"]["application/json"]["schema"], components):
                status, answer = call(stack, method, concrete, body)
                assert status < 500, (method, path, body, answer)
                if status >= 400:
                    assert "error" in json.loads(answer), (method, path, answer)
        status, answer = call(stack, method, concrete, None)
        assert status < 500 or (path, status) == ("/api/reputation/{number}/block", 503), (
            method,
            path,
            answer,
        )
