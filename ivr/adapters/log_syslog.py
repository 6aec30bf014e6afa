"""A copy of the log for syslog (IVR_LOG_SYSLOG): a local socket or a collector over UDP.

Rules:
- Where (parse_syslog): an absolute path is a local datagram socket ("/dev/log");
  anything else an IP address with an optional port, 514 by default ("10.0.0.5",
  "10.0.0.5:5514", "[fd00::5]:514"). An address, never a host name: nothing on the log
  path waits for DNS. A bad value is refused at start, naming what is wrong.
- Each record is one datagram "<PRI>ident[pid]: line" (BSD syslog, no timestamp: the
  receiver stamps it), the facility from IVR_LOG_SYSLOG_FACILITY (local0), the severity
  from the level; the line comes from the formatter it is given (ivr.adapters.log_format:
  the same format and masking as the standard log).
- It never waits and never stops the program: its socket is non-blocking; a line the
  receiver cannot take at once (its queue full, too long for one datagram) is dropped and
  counted (`dropped`); an unreachable receiver (at start too) is tried again at most
  every RETRY_SECONDS, its lines dropped meanwhile, and the first failure after a success
  is logged once (on the standard log; this handler drops that line). Syslog is a copy:
  the standard log stays complete.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import logging.handlers
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PORT = 514
RETRY_SECONDS = 10.0

log = logging.getLogger(__name__)


class SyslogInvalid(ValueError):
    """IVR_LOG_SYSLOG names no socket path and no IP address[:port]."""


@dataclass(frozen=True)
class SyslogTarget:
    path: str | None = None  # a local socket, or None: UDP to host:port
    host: str = ""
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        if self.path is not None:
            return self.path
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_syslog(value: str) -> SyslogTarget | None:
    """Where IVR_LOG_SYSLOG sends the copy; None: nowhere (empty)."""
    text = value.strip()
    if not text:
        return None
    if text.startswith("/"):
        return SyslogTarget(path=text)
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise SyslogInvalid(f"'{value}': an IPv6 address is written [address]:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""  # IPv4, or IPv6 without a port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SyslogInvalid(
            f"'{value}' is neither a socket path (/dev/log) nor an IP address[:port] "
            "(a host name is not looked up)"
        ) from None
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise SyslogInvalid(f"'{value}': the port must be 1-65535")
    return SyslogTarget(host=str(address), port=int(port_text) if port_text else DEFAULT_PORT)


class SyslogHandler(logging.handlers.SysLogHandler):
    """logging's SysLogHandler that keeps the rules in the module header."""

    def __init__(
        self,
        target: SyslogTarget,
        facility: str = "local0",
        ident: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.dropped = 0
        self._sock: socket.socket | None = None
        self._retry_at = 0.0
        self._failing = False  # a failure was logged; cleared by the next line sent
        self._clock = clock
        where = target.path if target.path is not None else (target.host, target.port)
        super().__init__(where, self.facility_names[facility], socket.SOCK_DGRAM)  # calls createSocket
        self.ident = ident
        self.append_nul = False

    def createSocket(self) -> None:
        """Opens the socket (at start, then after a failure); a failure is noted, never raised."""
        self._close_socket()
        where: str | tuple[str, int] = self.target.path or (self.target.host, self.target.port)
        family = socket.AF_UNIX if self.target.path else socket.AF_INET
        if ":" in self.target.host:
            family = socket.AF_INET6
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            self._failed(exc)
            return
        try:
            sock.setblocking(False)
            sock.connect(where)
        except OSError as exc:
            sock.close()
            self._failed(exc)
            return
        self._sock = sock
        self.unixsocket = self.target.path is not None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            priority = self.encodePriority(self.facility, self.mapPriority(record.levelname))
            datagram = f"<{priority}>{self.ident}{self.format(record)}".encode()
        except Exception:
            self.handleError(record)
            return
        if self._sock is None and self._clock() >= self._retry_at:
            self.createSocket()
        if self._sock is None:
            self.dropped += 1
            return
        try:
            self._sock.send(datagram)
            self._failing = False
        except (BlockingIOError, InterruptedError):
            self.dropped += 1  # the receiver is full right now: this line goes, the program does not wait
        except OSError as exc:
            self.dropped += 1
            if exc.errno != errno.EMSGSIZE:  # too long for a datagram: that line alone
                self._close_socket()
                self._failed(exc)

    def close(self) -> None:
        self._close_socket()
        super().close()

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _failed(self, error: OSError) -> None:
        self._retry_at = self._clock() + RETRY_SECONDS
        if not self._failing:
            self._failing = True  # first, so that the line below, reaching this handler, is dropped
            log.warning(
                "syslog at %s unreachable (%s): its copy of the log is dropped until it is back "
                "(tried again every %.0f s)",
                self.target, error, RETRY_SECONDS,
            )  # fmt: skip
