"""A phone's reachability as the desk and the ACD see it, from PJSIP's contact reports: in
the cluster form each phone has one contact per SIP edge, and one edge's contact failing
must not take the phone away while the other still reaches it; each node reports what it
sees, and a node that dies stops standing for the phones."""

from __future__ import annotations

import asyncio

from ivr.adapters.ami import PhoneWatch
from ivr.asterisk_links import node_databases
from ivr.engine.phones import Phones
from ivr.settings import Settings

EDGE1 = "sip:taker01@127.0.0.50:5060"
EDGE2 = "sip:taker01@127.0.0.60:5060"


def test_one_contact_unreachable_leaves_the_phone_reachable_through_the_other() -> None:
    phones = Phones(clock=lambda: 100.0)
    assert phones.seen("PJSIP/taker01", "Reachable", 3.0, EDGE1) is True
    assert phones.seen("PJSIP/taker01", "Reachable", 4.0, EDGE2) is True
    assert phones.seen("PJSIP/taker01", "Unreachable", None, EDGE1) is True  # edge 1 died
    shown = phones.get("PJSIP/taker01")
    assert shown is not None and shown["status"] == "Reachable" and shown["rtt_ms"] == 4.0
    assert phones.seen("PJSIP/taker01", "Unreachable", None, EDGE2) is False  # neither now
    assert phones.get("PJSIP/taker01")["status"] == "Unreachable"  # type: ignore[index]
    assert phones.seen("PJSIP/taker01", "Reachable", 5.0, EDGE1) is True  # edge 1 back


def test_a_phone_with_one_contact_follows_it_and_a_removed_contact_is_forgotten() -> None:
    phones = Phones(clock=lambda: 100.0)
    assert phones.seen("PJSIP/taker02", "Created", None, "sip:taker02@127.0.0.12:5060") is True
    assert phones.seen("PJSIP/taker02", "Unreachable", None, "sip:taker02@127.0.0.12:5060") is False
    assert phones.seen("PJSIP/taker02", "Unknown", None, "sip:taker02@127.0.0.12:5060") is None
    phones.seen("PJSIP/taker03", "Reachable", 2.0, "sip:taker03@10.0.0.3:5060")
    assert phones.seen("PJSIP/taker03", "Removed", None, "sip:taker03@10.0.0.3:5060") is False
    assert phones.seen("PJSIP/taker03", "Created", None, "sip:taker03@10.0.0.9:5060") is True
    assert phones.seen("PJSIP/taker03", "Unreachable", None, "sip:taker03@10.0.0.9:5060") is False


# ---- the cluster form: every node's view, a dead node's forgotten -------------------------

Report = tuple[str, str, float | None, str, bool]


def test_a_nodes_watch_forgets_its_reports_when_its_connection_drops() -> None:
    heard: list[Report] = []
    watch = PhoneWatch("127.0.0.1", 1, "ivr112", "x" * 20, lambda *r: heard.append(r), forget_on_loss=True)
    event = {"EndpointName": "taker01", "ContactStatus": "Reachable", "RoundtripUsec": "3000",
             "URI": "sip:taker01@127.0.0.50:5060"}  # fmt: skip
    watch._contact_status(None, event)
    watch._lost(None, ConnectionResetError("node gone"))
    assert heard == [
        ("PJSIP/taker01", "Reachable", 3.0, "sip:taker01@127.0.0.50:5060", False),
        ("PJSIP/taker01", "Unknown", None, "sip:taker01@127.0.0.50:5060", False),
    ]
    plain: list[Report] = []
    single = PhoneWatch("127.0.0.1", 1, "ivr112", "x" * 20, lambda *r: plain.append(r))
    single._contact_status(None, event)
    single._lost(None, None)  # one Asterisk: its last word stands while AMI is away (ARI decides)
    assert [r[1] for r in plain] == ["Reachable"]


def test_in_the_cluster_every_node_reports_the_phones_tagged_with_its_name() -> None:
    heard: list[Report] = []
    values = {"ari_nodes": "a1=http://127.0.0.51:8088,a2=http://127.0.0.52:8088", "ami_password": "p" * 20,
              "ami_host": "127.0.0.51"}  # fmt: skip

    async def scenario() -> dict[str, PhoneWatch]:
        settings = Settings(development=True, ari_password="x" * 20, api_token="y" * 32, **values)
        main = PhoneWatch("127.0.0.51", 1, "ivr112", "p" * 20, None)
        found = node_databases(settings, main, lambda *r: heard.append(r))
        for watch in found.values():
            watch.close()
        return found

    found = asyncio.run(scenario())
    assert set(found) == {"a1", "a2"}
    found["a2"]._contact_status(
        None, {"EndpointName": "taker01", "ContactStatus": "Reachable", "URI": "sip:u"}
    )
    assert heard == [("PJSIP/taker01", "Reachable", None, "a2 sip:u", False)]


def test_a_dead_nodes_view_leaves_the_phone_as_the_living_node_sees_it() -> None:
    """Node-tagged reports (the cluster form) give the details and never decide whether the
    phone can ring: the nodes' endpoint states (ARI) do."""
    phones = Phones(clock=lambda: 100.0)
    assert phones.seen("PJSIP/taker01", "Reachable", 3.0, f"a1 {EDGE1}") is None
    assert phones.seen("PJSIP/taker01", "Reachable", 5.0, f"a2 {EDGE1}") is None
    assert phones.seen("PJSIP/taker01", "Unknown", None, f"a1 {EDGE1}") is None  # node a1 lost
    shown = phones.get("PJSIP/taker01")
    assert shown is not None and shown["status"] == "Reachable" and shown["rtt_ms"] == 5.0
    # a control plane started after the phones registered: the listing lacked the edge-2
    # contact, so edge 1 dying reads as the phone unreachable; it is shown, not acted on
    late = Phones(clock=lambda: 100.0)
    assert late.seen("PJSIP/taker01", "Unreachable", None, f"a1 {EDGE1}") is None
    assert late.get("PJSIP/taker01")["status"] == "Unreachable"  # type: ignore[index]
