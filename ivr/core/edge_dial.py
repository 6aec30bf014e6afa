"""Which SIP edge a leg the control plane originates goes through, when there are several.

Rules:
- Edges are active/active, numbered from 1 in the order given (IVR_SIP_EDGE). Each node's
  phone has one contact per edge (sip:<phone>@<edge>); each trunk `<trunk>` leaves by
  edge 1, and `<trunk>-edge<N>` (trunk_via_edge, the one place that name is made) by edge N.
- With fewer than two edges, or none alive, an endpoint is dialled as it is: Asterisk
  decides (fails open).
- Otherwise the first live edge k carries the leg: a phone (`PJSIP/<name>`, name among the
  phones) is dialled at the explicit URI `PJSIP/<name>/sip:<name>@<edge k>`, even for edge
  1, so the choice is ours and never the order of the AOR's contacts; an operator's number
  (`PJSIP/<number>@<trunk>`) goes by `<trunk>-edge<k>` when k is not edge 1.
- Anything else is left as it is: other technologies, a name that is no phone (an agency at
  a fixed address), an endpoint that already names its URI.
- parse_edges reads the list: each item an IPv4 address and a port, each address its own.
- edge_of tells, from a dialled endpoint, which edge the leg went through (so legs still
  ringing through an edge that dies can be withdrawn).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence

PJSIP = "PJSIP/"


class EdgesInvalid(ValueError):
    pass


def parse_edges(text: str) -> list[str]:
    """ "127.0.0.50:5060, 127.0.0.60:5060" -> ["127.0.0.50:5060", "127.0.0.60:5060"]."""
    edges: list[str] = []
    for number, item in enumerate(filter(None, (part.strip() for part in text.split(","))), 1):
        host, colon, port = item.rpartition(":")
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            address = None
        if not colon or address is None or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise EdgesInvalid(
                f"SIP edge {number} ({item!r}): write its IPv4 address and port (a.b.c.d:port)"
            )
        if (
            address.is_unspecified
            or address.is_multicast
            or address == ipaddress.IPv4Address("255.255.255.255")
        ):
            raise EdgesInvalid(f"SIP edge {number} ({item!r}): give the one address it listens on")
        if any(edge.rpartition(":")[0] == str(address) for edge in edges):
            raise EdgesInvalid(f"SIP edge {number} ({item!r}): each edge needs an address of its own")
        edges.append(f"{address}:{int(port)}")
    return edges


def trunk_via_edge(trunk: str, number: int) -> str:
    """The endpoint by which `trunk` leaves through edge `number` (2, 3, ...)."""
    if number < 2:
        raise ValueError(f"edge {number}: trunk {trunk} leaves by edge 1 under its own name")
    return f"{trunk}-edge{number}"


def via_edge(
    endpoint: str,
    edges: Sequence[str],
    live: Sequence[bool],
    phones: Collection[str],
    trunks: Collection[str],
) -> str:
    """`endpoint` dialled through the first live edge (see the rules above)."""
    if len(edges) < 2 or not endpoint.startswith(PJSIP):
        return endpoint
    k = next((index for index, up in enumerate(live[: len(edges)]) if up), None)
    if k is None:
        return endpoint
    resource = endpoint[len(PJSIP) :]
    if "/" in resource:
        return endpoint
    number, at, trunk = resource.partition("@")
    if not at:
        return f"{endpoint}/sip:{resource}@{edges[k]}" if resource in phones else endpoint
    if number and k >= 1 and trunk in trunks:
        return f"{PJSIP}{number}@{trunk_via_edge(trunk, k + 1)}"
    return endpoint


def edge_of(dialled: str, edges: Sequence[str], trunks: Collection[str]) -> int | None:
    """The index of the edge a leg dialled as `dialled` goes through: a phone at its explicit
    URI, a trunk's `-edge<N>` endpoint, a trunk's own endpoint (edge 1); None for anything
    that passes no edge of ours (or with fewer than two edges)."""
    if len(edges) < 2 or not dialled.startswith(PJSIP):
        return None
    resource = dialled[len(PJSIP) :]
    name, slash, uri = resource.partition("/")
    if slash:
        host = uri.rpartition("@")[2]
        return edges.index(host) if host in edges else None
    _, at, endpoint = name.partition("@")
    if not at:
        return None
    if endpoint in trunks:
        return 0
    for number in range(2, len(edges) + 1):
        base = endpoint.removesuffix(f"-edge{number}")
        if base != endpoint and base in trunks:
            return number - 1
    return None
