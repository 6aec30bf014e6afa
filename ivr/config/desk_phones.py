"""How the centre's desk phones speak SIP: the centre-wide `desk_phones:` setting.

Rules:
- Desk phones are the call takers' phones, the overflow desks (the supervisor) and the
  agencies' phones that register; an agency phone at a fixed address (`addresses:`, a
  PBX) and the operators' trunks are not: they stay as each far end requires (UDP).
- `transport`: udp (the default) or tls (transport-tls of asterisk-conf/pjsip.conf,
  TLS 1.2 and newer, the state folder's certificate).
- `media_encryption`: none (the default) or sdes (SRTP with the keys in the SDP, RFC
  4568). SDES keys travel in clear inside the SDP, so sdes without tls is refused. With
  sdes a phone that offers or accepts no SRTP key is refused (no optimistic fallback to
  plain RTP): a desk that is meant to be encrypted never silently is not.
- The cluster form (SIP edge) keeps its desk phones on UDP (ivr/config/asterisk_centre.py
  refuses tls there).
- Pure: the generated lines and the test profile's contacts only; nothing here reads or writes.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

TLS_TRANSPORT = "transport-tls"  # the section of asterisk-conf/pjsip.conf
UDP_PORT = 5060  # where the test profile's phones answer, by transport
TLS_PORT = 5061


class Transport(StrEnum):
    UDP = "udp"
    TLS = "tls"


class MediaEncryption(StrEnum):
    NONE = "none"
    SDES = "sdes"


class DeskPhones(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Transport = Transport.UDP
    media_encryption: MediaEncryption = MediaEncryption.NONE

    @model_validator(mode="after")
    def _sdes_over_tls_only(self) -> DeskPhones:
        if self.media_encryption is MediaEncryption.SDES and self.transport is not Transport.TLS:
            raise ValueError(
                "media_encryption: sdes needs transport: tls (SDES sends the SRTP keys inside the "
                "SDP: over UDP anyone on the network could read them and decrypt the calls)"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.transport is Transport.TLS

    @property
    def srtp(self) -> bool:
        return self.media_encryption is MediaEncryption.SDES


def endpoint_lines(desk: DeskPhones) -> str:
    """The lines a desk phone's endpoint section adds to its template (none for udp/none)."""
    lines = f"transport = {TLS_TRANSPORT}\n" if desk.tls else ""
    if desk.media_encryption is MediaEncryption.SDES:
        lines += "media_encryption = sdes\nmedia_encryption_optimistic = no\n"
    return lines


def loopback_contact(desk: DeskPhones, address: str) -> str:
    """The test profile's contact of a desk phone answering at the loopback `address`."""
    if desk.tls:
        return f"{address}:{TLS_PORT};transport=tls"
    return f"{address}:{UDP_PORT}"
