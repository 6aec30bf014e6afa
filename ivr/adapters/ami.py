"""AMI (panoramisk): the call takers' phones as Asterisk's PJSIP sees them, and pjsip reloads.

Rules:
- At every (re)login the contacts are read in full (PJSIPShowContacts), then kept
  current from ContactStatus events (a registration creates or removes a contact;
  qualify marks it reachable or unreachable, with its round-trip time).
- Each report goes to `on_status(endpoint, status, rtt_ms, uri, listed)` (uri: the
  contact's SIP URI; listed: read at login rather than an event), and `on_listed()` when
  the listing read at login is complete; the engine decides what
  a status means for offering calls and for the agencies' contact alarm. Statuses:
  Reachable, Unreachable, Created (just registered), Removed (unregistered or expired),
  NonQualified, Unknown.
- AMI being down costs the detail, never a call: the ARI endpoint states still tell
  the ACD whether a phone can ring. panoramisk reconnects by itself. A watch made with
  `forget_on_loss` (one per node in the cluster form) reports each contact it had
  reported as Unknown when its connection drops, so a dead node's last word does not
  stand for the phones the other nodes still see.
- reload_pjsip() asks Asterisk to re-read its PJSIP configuration and the fallback
  queue's members (after the call-taker list changed); calls in progress are not
  touched by it.
- database() and database_delete() read and delete entries of Asterisk's database (the
  lines the dialplan leaves for calls the native queue handled: ARI cannot read it).
  set_channel_var() sets a caller's variable or function from AMI's thread (the screener
  removes talk detection with it: never through ARI, see there).
  Every request is bounded in time; AMI down raises AmiUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager

log = logging.getLogger(__name__)

# endpoint ("PJSIP/taker01"), status, rtt ms, contact URI, read at login (not an event)
StatusReport = Callable[[str, str, float | None, str, bool], None]


LISTING_SECONDS = 10.0
REQUEST_SECONDS = 10.0


class AmiUnavailable(Exception):
    pass


def _rtt_ms(value: Any) -> float | None:
    try:
        usec = float(value)
    except (TypeError, ValueError):
        return None
    return round(usec / 1000, 2) if usec > 0 else None


class PhoneWatch:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        secret: str,
        on_status: StatusReport | None,
        on_listed: Callable[[], None] = lambda: None,
        forget_on_loss: bool = False,
    ) -> None:
        """on_status None: no phones are watched (only the database is read, e.g. a cluster
        node's native lines), so no contact listing at login and no ContactStatus events."""
        self._on_status = on_status
        self._on_listed = on_listed  # the listing read at login is complete
        self._forget_on_loss = forget_on_loss
        self._reported: set[tuple[str, str]] = set()  # (endpoint, contact URI) reported so far
        self._tasks: set[asyncio.Task[None]] = set()
        self.logged_in = False
        self._manager = Manager(
            host=host,
            port=port,
            username=user,
            secret=secret,
            ping_delay=10,
            reconnect_timeout=2,
            on_login=self._logged_in,
            on_disconnect=self._lost,
            log=logging.getLogger("ivr.adapters.ami.panoramisk"),
        )
        if on_status is not None:
            self._manager.register_event("ContactStatus", self._contact_status)

    def start(self) -> None:
        self._manager.loop = asyncio.get_running_loop()
        self._manager.connect()

    def close(self) -> None:
        self._manager.close()
        for task in self._tasks:
            task.cancel()

    def _logged_in(self, manager: Manager) -> None:
        self.logged_in = True
        if self._on_status is None:
            log.info("AMI logged in (%s)", manager.config.get("host"))
            return
        log.info("AMI logged in: reading the call takers' phones")
        task = asyncio.ensure_future(self._read_contacts())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _lost(self, manager: Manager, exc: Exception | None) -> None:
        self.logged_in = False
        log.warning("AMI connection lost (%s); phone details wait for it to return", exc)
        if self._forget_on_loss and self._on_status is not None:
            for endpoint, uri in sorted(self._reported):
                self._on_status(endpoint, "Unknown", None, uri, False)
            self._reported.clear()

    async def _read_contacts(self) -> None:
        try:
            # Not as_list=True: with no contact at all Asterisk answers one Error ("No Contacts
            # found"), which a forced list would wait for its followers forever.
            replies = await asyncio.wait_for(
                self._manager.send_action({"Action": "PJSIPShowContacts"}), LISTING_SECONDS
            )
        except Exception as exc:  # the connection dropped mid-read: the next login reads again
            log.warning("AMI: contacts not read: %s", exc)
            return
        assert self._on_status is not None  # read only for a watch of the phones
        for message in replies if isinstance(replies, list) else [replies]:
            if message.get("Event") == "ContactList":
                endpoint = message.get("Endpoint") or message.get("Aor") or ""
                if endpoint:
                    status, rtt = message.get("Status", "Unknown"), _rtt_ms(message.get("RoundtripUsec"))
                    self._report(f"PJSIP/{endpoint}", status, rtt, message.get("Uri", ""), True)
        self._on_listed()  # an empty answer ("No Contacts found") is a complete listing too

    def _report(self, endpoint: str, status: str, rtt: float | None, uri: str, listed: bool) -> None:
        assert self._on_status is not None
        self._reported.add((endpoint, uri))
        self._on_status(endpoint, status, rtt, uri, listed)

    def _contact_status(self, manager: Manager, event: Any) -> None:
        endpoint = event.get("EndpointName") or event.get("AOR") or ""
        if endpoint and self._on_status is not None:
            self._report(
                f"PJSIP/{endpoint}",
                event.get("ContactStatus", "Unknown"),
                _rtt_ms(event.get("RoundtripUsec")),
                event.get("URI", ""),
                False,
            )

    async def _request(self, action: dict[str, str]) -> Any:
        if not self.logged_in:
            raise AmiUnavailable("not logged in to AMI")
        try:
            return await asyncio.wait_for(self._manager.send_action(action), REQUEST_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise AmiUnavailable(f"AMI {action['Action']}: {exc!r}") from exc

    async def database(self, family: str) -> dict[str, str]:
        """Every key of one family of Asterisk's database, with its value."""
        replies = await self._request({"Action": "DBGetTree", "Family": family})
        found: dict[str, str] = {}
        for message in replies if isinstance(replies, list) else [replies]:
            if message.get("Response") == "Error":
                raise AmiUnavailable(f"DBGetTree {family}: {message.get('Message', message)}")
            if message.get("Event") == "DBGetTreeResponse":
                found[str(message.get("Key", "")).rpartition("/")[2]] = str(message.get("Val", ""))
        return found

    async def database_delete(self, family: str, key: str) -> None:
        reply = await self._request({"Action": "DBDel", "Family": family, "Key": key})
        if reply.get("Response") != "Success":
            raise AmiUnavailable(f"DBDel {family}/{key}: {reply.get('Message', reply)}")

    async def set_channel_var(self, channel_id: str, variable: str, value: str) -> None:
        """A channel's variable or function, set in AMI's own thread. ARI would set it in the
        channel's thread, which Asterisk then bars from dangerous functions for the rest of
        the call: the dialplan's DB() write of a handed-over caller's native line failed."""
        action = {"Action": "Setvar", "Channel": channel_id, "Variable": variable, "Value": value}
        reply = await self._request(action)
        if reply.get("Response") != "Success":
            raise AmiUnavailable(f"Setvar {variable} on {channel_id}: {reply.get('Message', reply)}")

    async def reload_pjsip(self) -> str:
        if not self.logged_in:
            raise AmiUnavailable("not logged in to AMI")
        done = []
        for module in ("res_pjsip.so", "app_queue.so"):  # the phones, and the fallback queue's members
            reply = await self._manager.send_action({"Action": "Reload", "Module": module})
            if reply.get("Response") != "Success":
                raise AmiUnavailable(f"{module} reload refused: {reply.get('Message', reply)}")
            done.append(f"{module}: {reply.get('Message', 'reloaded')}")
        return "; ".join(done)
