"""The API's OpenAPI 3.1 document, built from the permission table and the body models.

Rules: every route the app serves is in the document and nothing else (a test checks
both ways); request bodies are the pydantic models the handlers validate with, so the
document cannot drift from what is enforced; every schema, a model's nested ones
included, is in components/schemas and every $ref points there (the document validates
as OpenAPI 3.1); each operation lists its success status and the error statuses it can
really return (openapi_responses.py); every operation but the open ones needs the bearer
token (the live feed takes it in its first message), and its description says which
role may call it (RULE_TEXT, every rule of auth.RULES; the operators' key may call
everything but the AML routes, whose senders bring their own credentials: SENDER_SECURITY;
their bodies are a form and a text, RAW_BODIES).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ivr.adapters.http.auth import ALIASES, FORMER_ROUTES, IN_BAND, OPEN, RULES
from ivr.adapters.http.openapi_responses import ErrorBody, responses

REF = "#/components/schemas/{model}"

SUMMARIES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/health"): "Liveness, calls in progress, alarms",
    ("GET", "/api/v1/openapi.json"): "This document",
    ("GET", "/api/v1/takers"): "Call takers: declared status, activity, reachability",
    ("POST", "/api/v1/takers/{taker}/login"): "Log a call taker in",
    ("POST", "/api/v1/takers/{taker}/logout"): "Log a call taker out",
    ("POST", "/api/v1/takers/{taker}/pause"): "Pause a call taker, with a reason",
    ("POST", "/api/v1/takers/{taker}/unpause"): "End a call taker's pause",
    ("GET", "/api/v1/queue"): "Waiting callers, best placed first, with screening verdicts",
    ("GET", "/api/v1/screening"): "Screenings running: RTP ports and recognizers in use",
    ("POST", "/api/v1/config/reload"): "Re-read and apply the centre configuration",
    ("GET", "/api/v1/calls/{call}"): "A call's record and timeline",
    ("POST", "/api/v1/calls/{call}/disposition"): "The call taker's verdict on a call",
    ("POST", "/api/v1/calls/{call}/agencies"): "Bring an agency into a connected call",
    ("POST", "/api/v1/calls/{call}/leave"): "The call taker leaves caller and agencies connected",
    ("GET", "/api/v1/calls/{call}/recording"): "The call's recording (WAV), once it ended",
    ("GET", "/api/v1/calls/{call}/incident"): "The call's incident record (null until one is written)",
    ("PUT", "/api/v1/calls/{call}/incident"): "Write the call's incident record, live or ended",
    ("POST", "/api/v1/calls/{call}/incident/arrivals"): "An agency arrived on scene (default: now)",
    ("GET", "/api/v1/reputation/{number}"): "A number's dispositions within the window, and any block",
    ("POST", "/api/v1/reputation/{number}/block"): "Block a number for a limited time (if enabled)",
    ("DELETE", "/api/v1/reputation/{number}/block"): "Lift a block",
    ("GET", "/api/v1/blocks/audit"): "Every block and unblock",
    ("GET", "/api/v1/history"): "Finished calls of a day, from the archive, newest first, a page at a time",
    ("GET", "/api/v1/history.csv"): "Finished calls of a day or of up to 31 days, as a CSV file",
    ("GET", "/api/v1/kpis"): "A day's key figures",
    ("GET", "/api/v1/service-level"): "Each service-level tier over the last window: share, target, standing",
    ("GET", "/metrics"): "Prometheus metrics (text)",
    ("GET", "/api/v1/callbacks"): "Abandoned callers of the last 24 h to call back, what to do first first",
    ("POST", "/api/v1/callbacks/{call}"): "Call an abandoned caller back: ring the call taker, then dial",
    ("GET", "/api/v1/live"): 'The dashboard\'s live feed (WebSocket; first message {"token": ...})',
    ("GET", "/api/v1/events"): "Calls' events for other systems (Server-Sent Events), with replay",
    ("POST", "/api/v1/calls/{call}/location"): "Place the caller: a location typed in at the desk",
    ("POST", "/api/v1/aml"): "A caller's location from the handset: AML over HTTPS (ETSI TS 103 625 form)",
    (
        "POST",
        "/api/v1/aml/sms",
    ): "A caller's location from the handset: an AML SMS's text, from an SMS gateway",
    ("GET", "/"): "Redirects to the dashboard",
    ("GET", "/dashboard/"): "The live dashboard (wallboard and call-taker desk)",
}
RULE_TEXT: dict[str, str] = {  # auth.RULES' rules, as the document says them
    "any": "any user",
    "staff": "supervisors and engineers",
    "desk": "supervisors and call takers",
    "supervisor": "supervisors",
    "engineer": "engineers",
    "own-taker": "supervisors; a call taker for themselves",
    "own-call": "supervisors; a call taker on their own calls",
    "staff-or-own": "supervisors and engineers; a call taker sees only themselves",
    "sender": "a sender of caller locations (an operator or SMS gateway of the AML senders file), with "
    "its own credentials: HTTP Basic name:secret or a bearer secret; no user token",
}
# Bodies that are no JSON model: route -> (media type, schema).
RAW_BODIES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("POST", "/api/v1/aml"): (
        "application/x-www-form-urlencoded",
        {
            "type": "object",
            "description": "ETSI TS 103 625 fields (v, emergency_number, source, time, location_latitude, "
            "location_longitude, location_time, location_accuracy, location_source, device_number, ...); "
            "device_number is required, unknown fields are ignored and named back",
            "properties": {"device_number": {"type": "string"}},
            "required": ["device_number"],
        },
    ),
    ("POST", "/api/v1/aml/sms"): (
        "text/plain",
        {"type": "string", "description": 'The SMS text: A"ML=1;lt=...'},
    ),
}
SENDER_SECURITY: list[dict[str, list[str]]] = [{"amlSender": []}, {"amlSenderSecret": []}]

QUERY: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("GET", "/api/v1/history"): [
        ("day", "string"),
        ("outcome", "string"),
        ("caller", "string"),
        ("limit", "integer"),
        ("cursor", "string"),
    ],
    ("GET", "/api/v1/history.csv"): [
        ("day", "string"),
        ("from", "string"),
        ("to", "string"),
        ("outcome", "string"),
        ("caller", "string"),
    ],
    ("GET", "/api/v1/kpis"): [("day", "string")],
    ("GET", "/api/v1/events"): [("after", "string")],
    ("GET", "/api/v1/calls/{call}/recording"): [("download", "string")],
}


def schemas(models: list[type[BaseModel]]) -> tuple[dict[str, Any], dict[type[BaseModel], str]]:
    """components/schemas for `models` and every model they nest, and each model's $ref."""
    unique = sorted(set(models), key=lambda model: (model.__name__, model.__module__))
    refs, top = models_json_schema([(model, "validation") for model in unique], ref_template=REF)
    return top.get("$defs", {}), {model: refs[(model, "validation")]["$ref"] for model in unique}


def document(bodies: dict[tuple[str, str], type[BaseModel]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components, ref = schemas([*bodies.values(), ErrorBody])
    for method, path in sorted({*RULES, *((m, p) for m, p in SUMMARIES if p in OPEN), *ALIASES}):
        served_as = ALIASES.get((method, path), (method, path))
        former = FORMER_ROUTES.get((method, path))
        summary = f"Former path of {former[1]}: {SUMMARIES[former]}" if former else SUMMARIES[served_as]
        body = bodies.get(served_as)
        operation: dict[str, Any] = {
            "summary": summary,
            "responses": responses(method, path, body is not None, ref[ErrorBody]),
        }
        if former:
            operation["deprecated"] = True  # served for one release more
        rule = RULES.get((method, path))
        if rule is None or path in IN_BAND:
            operation["security"] = []
        if rule == "sender":
            operation["security"] = SENDER_SECURITY
            operation["description"] = f"Allowed: {RULE_TEXT[rule]}."
        elif rule is not None:
            in_band = ' (the token in its first message, {"token": ...})' if path in IN_BAND else ""
            operation["description"] = f"Allowed: {RULE_TEXT[rule]}{in_band} (and the operators' key)."
        parameters = [
            {"name": name.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
            for name in path.split("/")
            if name.startswith("{")
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
            for name, kind in QUERY.get(served_as, [])
        ]
        if parameters:
            operation["parameters"] = parameters
        if served_as in RAW_BODIES:
            media, schema = RAW_BODIES[served_as]
            operation["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": ref[body]}}},
            }
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kendari 112 control plane", "version": "1"},
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "amlSender": {"type": "http", "scheme": "basic", "description": "an AML sender: name:secret"},
                "amlSenderSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an AML sender's secret",
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
