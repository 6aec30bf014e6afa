"""AML over SMS (ETSI TS 103 625, the text a handset sends to the centre's short number),
as an SMS gateway hands it on: the text read into an AmlMessage.

The text: a header A"ML=<version>, then key=value pairs separated by ';':
  version 1 (ETSI): lt, lg (WGS84 degrees, signed), rd (radius, m; N: none), top (the
  fix's time, yyyyMMddHHmmss UTC), lc (confidence, %), pm (positioning method: G gnss,
  W wifi, C cell, N none), si (IMSI), ei (IMEI), mcc, mnc, ml (the message's length).
  version 2 (Android's ELS beta): en (emergency number), et (the call's time, s since
  1970), lo (latitude,longitude,accuracy; accuracy 0: unknown) and others.
  e.g. A"ML=1;lt=+55.74317;lg=+037.61930;rd=50;top=20130717141935;lc=90;pm=W;si=...;ml=128
The text does not say whose it is: the SMS's sender (the caller's number) comes from
the gateway, beside the text.

Rules:
- Known variants are read: the header's quote as ", ”, “, ' or none, in any case, or no
  header at all (version 1); keys in any case; a trailing ';'; rd, lt, lg without a
  sign or decimals; an ml a few characters off (MAX_LENGTH_SLACK: real handsets count
  their header differently; a text that lost its header is counted with it). An ml
  further off than that says the text was cut (or joined wrongly from several SMS): refused.
- No location (pm=N, rd=N with no coordinates, 0,0, or no lt/lg): a message with no fix.
- Every known field is checked (AmlRefused names it); an empty pair, a pair without '=',
  a key given twice or a text beyond MAX_TEXT characters is refused; unknown keys are
  ignored and named back.
- Pure: no I/O, no clock (the arrival time is an argument).
"""

from __future__ import annotations

import calendar
import re

from ivr.core import aml_fields as f
from ivr.core.aml_fields import AmlMessage, AmlRefused
from ivr.core.location import MAX_ACCURACY_M, Fix, FixRefused, Method, Source, checked

MAX_TEXT = 1000  # characters: a message of up to 6 joined SMS
MAX_LENGTH_SLACK = 3
HEADER = re.compile(r"^A[\"”“']?ML=(?P<version>[0-9]{1,2})$", re.IGNORECASE)
METHODS = {"G": Method.GNSS, "W": Method.WIFI, "C": Method.CELL, "H": Method.HYBRID, "N": None}
KNOWN = {
    1: frozenset({"lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"}),
    2: frozenset({"en", "et", "lo", "si", "ei", "mcc", "mnc", "ml"}),
}


def parse(text: str, number: str, sender: str, received_at: float) -> AmlMessage:
    """The message of an AML SMS text from `number`, or AmlRefused."""
    caller, key = f.caller_number("from", number)
    body = text.strip()
    if not body:
        raise AmlRefused("text", "empty")
    if len(body) > MAX_TEXT or not body.isprintable():
        raise AmlRefused("text", f"not printable text of at most {MAX_TEXT} characters")
    pairs = body.rstrip(";").split(";")
    header = HEADER.match(pairs[0].strip())
    version = int(header["version"]) if header else 1
    if header:
        pairs = pairs[1:]
    if version not in KNOWN:
        raise AmlRefused('A"ML', f"version {version} is not one this centre reads (1 or 2)")
    fields: dict[str, str] = {}
    ignored: list[str] = []
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or "=" in value:
            raise AmlRefused("text", f"'{pair[:40]}' is not one key=value pair")
        name = f.field_name(name.strip()).lower()
        if name in fields or name in ignored:
            raise AmlRefused(name, "given twice")
        if name in KNOWN[version]:
            fields[name] = value.strip()
        else:
            ignored.append(name)
    _check_identifiers(fields)
    try:
        fix = _fix_v1(fields, sender, received_at) if version == 1 else _fix_v2(fields, sender, received_at)
    except AmlRefused:
        raise
    except FixRefused as exc:  # named as the text names it
        time_field = "top" if version == 1 else "et"
        raise AmlRefused(time_field if exc.field == "fixed_at" else exc.field, exc.reason) from None
    _check_length(fields.get("ml"), len(body) if header else len(body) + len('A"ML=1;'))
    return AmlMessage(caller, key, fix, tuple(ignored))


def _check_length(ml: str | None, length: int) -> None:
    if ml is None:
        return
    said = int(f.digits("ml", ml, 1, 4))
    if abs(said - length) > MAX_LENGTH_SLACK:
        raise AmlRefused(
            "ml", f"the message says it is {said} characters long, {length} arrived (cut or joined wrongly)"
        )


def _check_identifiers(fields: dict[str, str]) -> None:
    for name, shortest, longest in (
        ("si", 5, 15),
        ("ei", 14, 16),
        ("mcc", 3, 3),
        ("mnc", 2, 3),
        ("en", 2, 6),
    ):
        if name in fields:
            f.digits(name, fields[name], shortest, longest)


def _fix_v1(fields: dict[str, str], sender: str, received_at: float) -> Fix | None:
    method: Method | None = Method.UNKNOWN
    if "pm" in fields:
        if fields["pm"].upper() not in METHODS:
            raise AmlRefused("pm", f"not one of {', '.join(METHODS)}")
        method = METHODS[fields["pm"].upper()]
    if "lc" in fields:
        f.digits("lc", fields["lc"], 1, 3)
        f.decimal("lc", fields["lc"], 0, 100)
    radius = fields.get("rd", "")
    accuracy = None if radius.upper() in ("N", "") else f.decimal("rd", radius, 0, MAX_ACCURACY_M)
    when = _utc("top", fields["top"]) if fields.get("top") else received_at
    if "lt" not in fields and "lg" not in fields:
        return None
    if ("lt" in fields) != ("lg" in fields):
        raise AmlRefused("lg" if "lt" in fields else "lt", "missing: coordinates come in pairs")
    lat, lon = f.decimal("lt", fields["lt"], -90, 90), f.decimal("lg", fields["lg"], -180, 180)
    if method is None or (lat == 0 and lon == 0):
        return None
    return checked(lat, lon, accuracy, Source.AML_SMS, method, when, received_at, None, sender)


def _fix_v2(fields: dict[str, str], sender: str, received_at: float) -> Fix | None:
    when = f.epoch("et", fields["et"]) if fields.get("et") else received_at
    if not fields.get("lo"):
        return None
    parts = fields["lo"].split(",")
    if len(parts) != 3:
        raise AmlRefused("lo", "not latitude,longitude,accuracy")
    lat, lon = f.decimal("lo", parts[0], -90, 90), f.decimal("lo", parts[1], -180, 180)
    accuracy = f.decimal("lo", parts[2], 0, MAX_ACCURACY_M)
    if lat == 0 and lon == 0:
        return None
    return checked(lat, lon, accuracy, Source.AML_SMS, Method.UNKNOWN, when, received_at, None, sender)


def _utc(field: str, stamp: str) -> float:
    """yyyyMMddHHmmss in UTC -> seconds since 1970."""
    value = f.digits(field, stamp, 14, 14)
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    hour, minute, second = int(value[8:10]), int(value[10:12]), int(value[12:14])
    if not (
        1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and second < 61
    ):
        raise AmlRefused(field, f"'{value}' is no date and time (yyyyMMddHHmmss)")
    return float(calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)))
