"""A phone's reachability as the desk and the ACD see it, from PJSIP's contact reports: in
the cluster form each phone has one contact per SIP edge, and one edge's contact failing
must not take the phone away while the other still reaches it."""

from __future__ import annotations

from ivr.engine.phones import Phones

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
