"""How the control plane reaches Asterisk: one server, or several nodes (the cluster form).

Rules: with IVR_ARI_NODES unset there is one ARI client pair (general, dispatch) and one
events stream; with it, each node gets its own clients behind NodeRouters that share one
Placement (so a call placed away from its ids' node is found by both), one events stream
per node under a NodeWatch, and its own AMI connection for the native queue's lines (the
phones' details come from IVR_AMI_HOST alone: every node sees the phones through the
same SIP edge).
"""

from __future__ import annotations

import urllib.parse

import aiohttp

from ivr.adapters.ami import PhoneWatch
from ivr.adapters.ari.events import EventStream
from ivr.adapters.ari.node_watch import NodeWatch
from ivr.adapters.ari.nodes import NodeRouter
from ivr.adapters.ari.port import Ari
from ivr.adapters.ari.rest import AriRest
from ivr.settings import Settings


def asterisk_links(
    settings: Settings, session: aiohttp.ClientSession, dispatch_session: aiohttp.ClientSession
) -> tuple[Ari, Ari, NodeWatch | None]:
    """The ARI clients (general, dispatch) and, with several nodes, the watch over them."""
    urls = settings.node_urls
    if not urls:
        app = settings.ari_app
        return AriRest(session, settings.ari_url, app), AriRest(dispatch_session, settings.ari_url, app), None
    app, delay = settings.ari_app, settings.reconnect_max_seconds
    rest = NodeRouter({name: AriRest(session, url, app) for name, url in urls.items()})
    dispatch = NodeRouter(
        {name: AriRest(dispatch_session, url, app) for name, url in urls.items()}, rest.placement
    )
    streams = {name: EventStream(session, url, app, max_delay=delay) for name, url in urls.items()}
    return rest, dispatch, NodeWatch(rest, streams, settings.node_lost_seconds)


def node_databases(settings: Settings, watch: PhoneWatch | None) -> dict[str, PhoneWatch]:
    """Where the native queue's lines are read: the one Asterisk's AMI, or in the cluster
    form each node's (on the node's address; the phones' watch where it is the same)."""
    if watch is None or settings.ami_password is None:
        return {}
    if not settings.node_urls:
        return {"": watch}
    found: dict[str, PhoneWatch] = {}
    for name, url in settings.node_urls.items():
        host = urllib.parse.urlsplit(url).hostname or ""
        if host == settings.ami_host:
            found[name] = watch
            continue
        secret = settings.ami_password.get_secret_value()
        found[name] = PhoneWatch(host, settings.ami_port, settings.ami_user, secret, None)
        found[name].start()
    return found
