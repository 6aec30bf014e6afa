"""Browser security headers on every response of the control plane's HTTP app.

Rules: every response (API replies, errors, the dashboard's files, the WebSocket
handshake) carries the same headers, set just before it is sent, so no route can forget
them: scripts, styles and connections only from this origin and no inline script
(the dashboard is plain ES modules from /dashboard/), never inside a frame, no MIME
sniffing, and no Referer (a dashboard link may carry a token in its fragment). Images
come from this origin and, when the desk's map has a tile server (IVR_MAP_TILES_URL),
from that server's origin too (policy()).
"""

from __future__ import annotations

from aiohttp import web


def policy(image_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy; `image_origins`: where else images may come from (map tiles)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("img-src 'self' data:", *image_origins)),  # the page's empty icon is a data: URL
            "connect-src 'self'",  # the API and the live feed (ws: on the same host)
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def add_security_headers(app: web.Application, image_origins: tuple[str, ...] = ()) -> None:
    """Every response of `app` gets SECURITY_HEADERS (images also from `image_origins`)."""
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": policy(image_origins)}

    async def secure(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    app.on_response_prepare.append(secure)
