"""How the control plane reaches Asterisk: one server, or several nodes (the cluster form).

Rules: with IVR_ARI_NODES unset there is one ARI client pair (general, dispatch) and one
events stream; with it, each node gets its own clients behind NodeRouters that share one
Placement (so a call placed away from its ids' node is found by both), one events stream
per node under a NodeWatch, and its own AMI connection for the native queue's lines and
the phones as that node sees them (IVR_AMI_HOST's connection then only reloads pjsip).
With two or more SIP edges (IVR_SIP_EDGE) and the centre configuration, one EdgeWatch
probes them under the NodeWatch and both routers dial each leg through a live one.
A channel's variable set through AMI (NodeVariables) goes to its node's connection (the
node its id names), else to the first, naming the channel by its name when it is known.
Every ARI client shares one ChannelNames (ids are unique across the nodes).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import aiohttp

from ivr.adapters.ami import AmiUnavailable, PhoneWatch, StatusReport
from ivr.adapters.ari.channel_names import ChannelNames
from ivr.adapters.ari.events import EventStream
from ivr.adapters.ari.node_watch import NodeWatch
from ivr.adapters.ari.nodes import NodeRouter, node_of
from ivr.adapters.ari.port import Ari
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.sip_edges import EdgeWatch, withdraw_ringing
from ivr.config.schema import CentreConfig
from ivr.engine.phones import node_view
from ivr.settings import Settings


def asterisk_links(
    settings: Settings,
    session: aiohttp.ClientSession,
    dispatch_session: aiohttp.ClientSession,
    config: Callable[[], CentreConfig] | None = None,
    names: ChannelNames | None = None,
) -> tuple[Ari, Ari, NodeWatch | None]:
    """The ARI clients (general, dispatch) and, with several nodes, the watch over them;
    `config` gives the centre configuration in force (read at each leg the edges route);
    `names` the live channels' names every client addresses channels by."""
    urls = settings.node_urls
    names = names or ChannelNames()
    if not urls:
        app, url = settings.ari_app, settings.ari_url
        return AriRest(session, url, app, names), AriRest(dispatch_session, url, app, names), None
    app, delay = settings.ari_app, settings.reconnect_max_seconds
    edges, dial = _edges(settings, config)
    rest = NodeRouter({name: AriRest(session, url, app, names) for name, url in urls.items()}, dial=dial)
    dispatch = NodeRouter(
        {name: AriRest(dispatch_session, url, app, names) for name, url in urls.items()}, rest.placement, dial
    )
    if edges is not None:
        edges.withdraw = lambda legs: withdraw_ringing(rest, legs)
    streams = {name: EventStream(session, url, app, max_delay=delay) for name, url in urls.items()}
    return rest, dispatch, NodeWatch(rest, streams, settings.node_lost_seconds, edges)


def _edges(
    settings: Settings, config: Callable[[], CentreConfig] | None
) -> tuple[EdgeWatch | None, Callable[[str, str], str] | None]:
    """With two or more SIP edges: their watch, and how a leg's endpoint is dialled."""
    if len(settings.sip_edges) < 2 or config is None:
        return None, None
    edges = EdgeWatch(settings.sip_edges)
    return edges, lambda endpoint, channel_id: edges.dial(endpoint, config(), channel_id)


def node_databases(
    settings: Settings, watch: PhoneWatch | None, phones: StatusReport | None = None
) -> dict[str, PhoneWatch]:
    """Where the native queue's lines are read: the one Asterisk's AMI, or in the cluster
    form each node's, on the node's address. There each node's watch also reports the
    phones as that node sees them to `phones`, each contact tagged with the node's name
    ("a2 sip:taker01@edge"), and forgets them when its connection drops: the phones'
    details come from every node, and a dead node's stand for nothing."""
    if watch is None or settings.ami_password is None:
        return {}
    if not settings.node_urls:
        return {"": watch}
    found: dict[str, PhoneWatch] = {}
    secret = settings.ami_password.get_secret_value()
    for name, url in settings.node_urls.items():
        host = urllib.parse.urlsplit(url).hostname or ""
        report = _tagged(phones, name) if phones is not None else None
        found[name] = PhoneWatch(
            host, settings.ami_port, settings.ami_user, secret, report, forget_on_loss=True
        )
        found[name].start()
    return found


def _tagged(phones: StatusReport, node: str) -> StatusReport:
    def report(endpoint: str, status: str, rtt: float | None, uri: str, listed: bool) -> None:
        phones(endpoint, status, rtt, node_view(node, uri), listed)

    return report


class NodeVariables:
    """Channel variables set through AMI, on the node that holds the channel."""

    def __init__(self, databases: dict[str, PhoneWatch], names: ChannelNames | None = None) -> None:
        self._watches = databases  # node_databases(): {"": the one Asterisk} or one per node
        self._names = names or ChannelNames()

    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
        name = node_of(channel_id, self._watches) or next(iter(self._watches), None)
        if name is None:
            raise AmiUnavailable("AMI off (IVR_AMI_PASSWORD unset)")
        watch = self._watches[name]

        async def ask(address: str) -> None:
            await watch.set_channel_var(address, variable, value)

        await self._names.asked(channel_id, ask, lambda exc: isinstance(exc, AmiUnavailable))
