"""Versions of the API's paths: version 1 (/api/v1/...) is the one documented; the paths
the API had before it was versioned stay served for one release.

Rules:
- Every route under /api/ is written at its /api/v1/ path: in the permission table
  (auth.RULES), in the handlers' modules and in the OpenAPI document's tables.
- Its path from before versioning (/api/v1/x -> /api/x) is a former route: served by the
  same handler under the same rule for one release, and marked deprecated in the OpenAPI
  document. So are the call takers' routes under their name before "taker" became the
  API's one word (/api/agents/...). A route new in version 1 (NEW_IN_V1) has none.
- /api/health and /api/openapi.json (open, no token) are KEPT at their first paths beside
  the v1 ones, not deprecated: monitors, the watchdog and the container's health check
  call /api/health.
- Nothing outside /api/ has a version: /metrics and the dashboard's pages stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiohttp import web

Route = tuple[str, str]  # (method, path as the router writes it)
V1, BEFORE = "/api/v1/", "/api/"
TAKERS, AGENTS = "/api/takers", "/api/agents"  # the call takers' routes, and their former name
NEW_IN_V1 = frozenset(
    {
        "/api/v1/history.csv",
        "/api/v1/events",
        "/api/v1/calls/{call}/incident",
        "/api/v1/calls/{call}/incident/arrivals",
        "/api/v1/calls/{call}/location",
        "/api/v1/aml",
        "/api/v1/aml/sms",
    }
)
KEPT: dict[str, str] = {"/api/health": "/api/v1/health", "/api/openapi.json": "/api/v1/openapi.json"}


def former_routes(routes: Iterable[Route]) -> dict[Route, Route]:
    """Each former route of `routes` (v1 routes) -> the v1 route that replaces it."""
    former: dict[Route, Route] = {}
    for method, path in routes:
        if not path.startswith(V1) or path in NEW_IN_V1:
            continue
        before = BEFORE + path.removeprefix(V1)
        former[(method, before)] = (method, path)
        if before.startswith(TAKERS):
            former[(method, AGENTS + before.removeprefix(TAKERS))] = (method, path)
    return former


def kept_routes() -> dict[Route, Route]:
    """The open routes KEPT at their first path -> their v1 route."""
    return {("GET", first): ("GET", v1) for first, v1 in KEPT.items()}


def add_aliases(app: web.Application, aliases: Mapping[Route, Route]) -> None:
    """Serves each alias with the handler of the route it stands for (a GET answers HEAD too,
    as aiohttp's add_get does); an alias of a route the app does not serve is left out."""
    handlers = {
        (route.method, route.resource.canonical): route.handler
        for route in app.router.routes()
        if route.resource is not None
    }
    for (method, path), target in sorted(aliases.items()):
        handler = handlers.get(target)
        if handler is None:
            continue
        if method == "GET":
            app.router.add_get(path, handler)
        else:
            app.router.add_route(method, path, handler)
