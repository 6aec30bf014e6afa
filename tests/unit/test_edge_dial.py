# Which SIP edge a leg the control plane originates goes through: the first live one, named
# explicitly for a phone and by the trunk's per-edge endpoint for an operator's number; with
# one edge or none alive, every endpoint as given (Asterisk decides).
from __future__ import annotations

import pytest

from ivr.core.edge_dial import EdgesInvalid, parse_edges, trunk_via_edge, via_edge

EDGES = ["127.0.0.50:5060", "127.0.0.60:5060", "127.0.0.70:5070"]
PHONES = {"taker01", "taker02", "fire01"}
TRUNKS = {"carrier", "telkom-2"}


def dial(endpoint: str, live: list[bool], edges: list[str] = EDGES) -> str:
    return via_edge(endpoint, edges, live, PHONES, TRUNKS)[0]


def test_a_trunks_endpoint_through_a_further_edge_is_named_in_one_place() -> None:
    assert trunk_via_edge("carrier", 2) == "carrier-edge2"
    assert trunk_via_edge("telkom-2", 3) == "telkom-2-edge3"
    with pytest.raises(ValueError, match="edge 1"):
        trunk_via_edge("carrier", 1)


def test_a_phone_is_dialled_at_the_first_live_edge_even_edge_1() -> None:
    assert dial("PJSIP/taker01", [True, True, True]) == "PJSIP/taker01/sip:taker01@127.0.0.50:5060"
    assert dial("PJSIP/taker01", [False, True, True]) == "PJSIP/taker01/sip:taker01@127.0.0.60:5060"
    assert dial("PJSIP/fire01", [False, False, True]) == "PJSIP/fire01/sip:fire01@127.0.0.70:5070"
    assert dial("PJSIP/taker02", [True, False, True]) == "PJSIP/taker02/sip:taker02@127.0.0.50:5060"


def test_an_operators_number_leaves_by_the_first_live_edges_trunk_endpoint() -> None:
    assert dial("PJSIP/0811@carrier", [True, True, True]) == "PJSIP/0811@carrier"  # edge 1: its own name
    assert dial("PJSIP/0811@carrier", [False, True, True]) == "PJSIP/0811@carrier-edge2"
    assert dial("PJSIP/+62401@telkom-2", [False, False, True]) == "PJSIP/+62401@telkom-2-edge3"


@pytest.mark.parametrize(
    "endpoint",
    [
        "SIP/taker01",  # another technology
        "Local/112@centre",
        "PJSIP/police",  # no phone: an agency at a fixed address
        "PJSIP/0811@othernet",  # no trunk of the centre
        "PJSIP/@carrier",  # no number
        "PJSIP/taker01/sip:taker01@10.0.0.9:5060",  # already names its URI
        "PJSIP/0811@carrier/sip:0811@10.0.0.9",
        "PJSIP/",
    ],
)
def test_anything_else_is_dialled_as_given(endpoint: str) -> None:
    assert dial(endpoint, [False, True, True]) == endpoint


@pytest.mark.parametrize(
    ("edges", "live"),
    [
        ([], []),  # the one-box form: no edge
        (EDGES[:1], [True]),  # one edge: nothing to choose
        (EDGES[:1], [False]),
        (EDGES, [False, False, False]),  # none answers: Asterisk decides (fails open)
        (EDGES, []),  # nothing known yet
    ],
)
def test_with_fewer_than_two_edges_or_none_live_every_endpoint_is_as_given(
    edges: list[str], live: list[bool]
) -> None:
    for endpoint in ("PJSIP/taker01", "PJSIP/0811@carrier", "PJSIP/police"):
        assert dial(endpoint, live, edges) == endpoint


def test_the_edges_are_read_in_order_and_a_bad_one_is_named() -> None:
    assert parse_edges("127.0.0.50:5060, 127.0.0.60:05070,") == ["127.0.0.50:5060", "127.0.0.60:5070"]
    assert parse_edges("") == []
    for text, named in [
        ("127.0.0.50", "SIP edge 1 .*a.b.c.d:port"),
        ("127.0.0.50:5060,edge2:5060", "SIP edge 2 .*'edge2:5060'"),
        ("127.0.0.50:5060,127.0.0.60:70000", "SIP edge 2"),
        ("0.0.0.0:5060", "SIP edge 1 .*one address"),
        ("127.0.0.50:5060,127.0.0.50:5070", "SIP edge 2 .*address of its own"),
    ]:
        with pytest.raises(EdgesInvalid, match=named):
            parse_edges(text)


def test_the_edge_a_leg_passes_is_told_with_its_endpoint() -> None:
    edges = ["127.0.0.50:5060", "127.0.0.60:5060"]
    trunks = {"carrier", "telkom"}

    def through(endpoint: str, live: list[bool], edges: list[str] = edges) -> int | None:
        return via_edge(endpoint, edges, live, {"taker01"}, trunks)[1]

    assert through("PJSIP/taker01", [False, True]) == 1
    assert through("PJSIP/taker01", [True, True]) == 0
    assert through("PJSIP/0811@carrier", [True, True]) == 0  # the trunk's own endpoint: edge 1
    assert through("PJSIP/0811@carrier", [False, True]) == 1  # carrier-edge2
    assert through("PJSIP/polisi", [True, True]) is None  # an agency at its own address
    assert through("PJSIP/0811@elsewhere", [False, True]) is None
    assert through("PJSIP/taker01/sip:taker01@10.9.9.9:5060", [True, True]) is None
    assert through("Local/112@test", [True, True]) is None
    assert through("PJSIP/taker01", [False, False]) is None  # none alive: Asterisk decides
    assert through("PJSIP/0811@carrier", [True], edges[:1]) is None  # one edge: nothing to tell
