"""Who answers when an agency is rung: each agency phone's contact, and an alarm when it
changes (a stolen registration would otherwise ring the attacker instead of the police).

Rules:
- Fed by AMI contact reports (the listing read at each AMI login, then ContactStatus
  events) for every agency phone of the centre configuration; other endpoints are ignored.
- The first complete listing after a start is the baseline (a phone not in it has no
  contact): no alarm. After it, a contact that appears, replaces another, or is found
  different at a later listing (it changed while AMI was away) raises an alarm naming the
  phone and both contacts; a contact that is removed (unregistered or expired, or missing
  from a later listing) raises one too (the agency cannot be rung).
- An alarm is logged at ERROR at once and shown in /api/health for KEEP_SECONDS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
_UNSEEN = object()


@dataclass(frozen=True)
class ContactAlarm:
    at: float
    phone: str
    text: str


class AgencyContacts:
    def __init__(self, phones: Iterable[str] = (), clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._watched = set(phones)
        self._known: dict[str, str | None] = {}  # phone -> its contact URI (None: none)
        self._listing: set[str] = set()  # phones reported by the listing being read
        self._alarms: list[ContactAlarm] = []

    def watch(self, phones: Iterable[str]) -> None:
        """The agency phones of the configuration now in force (after a reload)."""
        self._watched = set(phones)

    def seen(self, endpoint: str, status: str, uri: str, listed: bool = False) -> None:
        """One contact report; `listed`: from the listing read at an AMI login."""
        phone = endpoint.removeprefix("PJSIP/")
        if phone not in self._watched:
            return
        if listed:
            self._listing.add(phone)
        before = self._known.get(phone, _UNSEEN)
        if status == "Removed":
            if isinstance(before, str) and (not uri or uri == before):
                self._known[phone] = None
                self._alarm(
                    phone, f"its contact {before} is gone (unregistered or expired): it cannot be rung"
                )
            return
        if not uri or before == uri:
            return
        self._known[phone] = uri
        if before is _UNSEEN:
            return  # the baseline (before the first listing was complete)
        if before is None:
            self._alarm(phone, f"registered a new contact {uri}")
        else:
            self._alarm(phone, f"contact changed to {uri} (was {before})")

    def listing_done(self) -> None:
        """The listing read at an AMI login is complete: a watched phone it did not report has
        no contact (the baseline at the first login; a removal noticed late afterwards)."""
        for phone in sorted(self._watched - self._listing):
            before = self._known.get(phone, _UNSEEN)
            self._known[phone] = None
            if isinstance(before, str):
                self._alarm(phone, f"its contact {before} is gone (found at AMI login): it cannot be rung")
        self._listing.clear()

    def _alarm(self, phone: str, what: str) -> None:
        alarm = ContactAlarm(self._clock(), phone, f"agency phone {phone}: {what}")
        self._alarms.append(alarm)
        log.error("ALARM %s", alarm.text)

    def alarms(self) -> list[ContactAlarm]:
        """Alarms of the last KEEP_SECONDS, oldest first."""
        since = self._clock() - KEEP_SECONDS
        self._alarms = [a for a in self._alarms if a.at >= since]
        return list(self._alarms)
