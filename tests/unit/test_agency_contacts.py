# The agencies' contact alarm: the first complete listing is the baseline (a phone not in
# it has no contact); a contact that appears, changes (by an event or found changed at a
# later listing) or disappears raises an alarm naming the phone and the contacts, kept
# for a day; other endpoints and unchanged reports raise nothing.
from __future__ import annotations

import logging

import pytest

from ivr.engine.agency_contacts import KEEP_SECONDS, AgencyContacts

DESK = "sip:polisi@10.20.4.5:5060"
THIEF = "sip:polisi@203.0.113.9:5062"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watched(clock: Clock) -> AgencyContacts:
    return AgencyContacts(["polisi", "damkar"], clock)


def texts(contacts: AgencyContacts) -> list[str]:
    return [a.text for a in contacts.alarms()]


def test_the_first_listing_is_the_baseline_and_a_change_is_an_alarm(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    contacts = watched(clock)
    contacts.seen("PJSIP/polisi", "Reachable", DESK, listed=True)
    contacts.listing_done()
    contacts.seen("PJSIP/polisi", "Reachable", DESK)  # qualify: same contact
    assert texts(contacts) == []
    with caplog.at_level(logging.ERROR):
        contacts.seen("PJSIP/polisi", "Created", THIEF)
    assert texts(contacts) == [f"agency phone polisi: contact changed to {THIEF} (was {DESK})"]
    assert "ALARM agency phone polisi" in caplog.text and THIEF in caplog.text


def test_a_registration_after_the_start_and_a_removal_are_alarms() -> None:
    clock = Clock()
    contacts = watched(clock)
    contacts.listing_done()  # nobody registered at the start
    contacts.seen("PJSIP/damkar", "NonQualified", DESK.replace("polisi", "damkar"))  # whatever the status
    contacts.seen("PJSIP/damkar", "Removed", DESK.replace("polisi", "damkar"))
    assert texts(contacts) == [
        "agency phone damkar: registered a new contact sip:damkar@10.20.4.5:5060",
        "agency phone damkar: its contact sip:damkar@10.20.4.5:5060 is gone (unregistered or expired): "
        "it cannot be rung",
    ]


def test_a_change_while_ami_was_away_is_found_at_the_next_listing() -> None:
    contacts = watched(Clock())
    contacts.seen("PJSIP/polisi", "Reachable", DESK, listed=True)
    contacts.seen("PJSIP/damkar", "Reachable", DESK.replace("polisi", "damkar"), listed=True)
    contacts.listing_done()
    contacts.seen("PJSIP/polisi", "Reachable", THIEF, listed=True)  # the listing after a reconnect
    contacts.listing_done()  # ... which no longer has damkar
    assert texts(contacts) == [
        f"agency phone polisi: contact changed to {THIEF} (was {DESK})",
        "agency phone damkar: its contact sip:damkar@10.20.4.5:5060 is gone (found at AMI login): "
        "it cannot be rung",
    ]


def test_reports_before_the_first_listing_is_complete_are_the_baseline() -> None:
    contacts = watched(Clock())
    contacts.seen("PJSIP/polisi", "Reachable", DESK)  # an event while the listing is being read
    contacts.seen("PJSIP/polisi", "Reachable", DESK, listed=True)
    contacts.listing_done()
    assert texts(contacts) == []


def test_call_takers_and_phones_no_longer_configured_are_ignored() -> None:
    contacts = watched(Clock())
    contacts.listing_done()
    contacts.seen("PJSIP/taker01", "Created", "sip:taker01@10.0.0.1:5060")
    contacts.watch(["damkar"])  # a reload dropped polisi
    contacts.seen("PJSIP/polisi", "Created", THIEF)
    assert texts(contacts) == []


def test_alarms_are_kept_for_a_day() -> None:
    clock = Clock()
    contacts = watched(clock)
    contacts.listing_done()
    contacts.seen("PJSIP/polisi", "Created", THIEF)
    clock.now += KEEP_SECONDS - 1
    assert len(contacts.alarms()) == 1
    clock.now += 2
    assert contacts.alarms() == []
