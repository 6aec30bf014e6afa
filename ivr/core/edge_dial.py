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
- via_edge also tells which edge the leg passes (so legs still ringing through an edge that
  dies can be withdrawn).
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
) -> tuple[str, int | None]:
    """`endpoint` dialled through the first live edge (see the rules above), and the index
    of the edge the leg passes (None: it passes none of ours, or Asterisk decides)."""
    if len(edges) < 2 or not endpoint.startswith(PJSIP):
        return endpoint, None
    k = next((index for index, up in enumerate(live[: len(edges)]) if up), None)
    if k is None:
        return endpoint, None
    resource = endpoint[len(PJSIP) :]
    if "/" in resource:
        return endpoint, None
    number, at, trunk = resource.partition("@")
    if not at:
        return (f"{endpoint}/sip:{resource}@{edges[k]}", k) if resource in phones else (endpoint, None)
    if not (number and trunk in trunks):
        return endpoint, None
    return (f"{PJSIP}{number}@{trunk_via_edge(trunk, k + 1)}" if k >= 1 else endpoint), k
