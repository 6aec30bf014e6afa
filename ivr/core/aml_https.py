"""AML over HTTPS (ETSI TS 103 625, the form Android's Emergency Location Service posts):
the form's fields read into an AmlMessage.

The form (application/x-www-form-urlencoded), every field optional in the standard:
  v, emergency_number, source (call|sms), thunderbird_version, time (ms since 1970: the
  call's start), location_latitude, location_longitude (WGS84 degrees),
  location_time (ms: the fix), location_accuracy (m, the radius), location_source
  (gps|wifi|cell|unknown), location_altitude, location_altitude_msl, location_floor,
  location_vertical_accuracy, location_confidence, location_bearing, location_speed,
  device_number, device_model, device_imsi, device_imei, device_iccid, device_languages,
  cell_carrier, cell_home_mcc, cell_home_mnc, cell_network_mcc, cell_network_mnc,
  cell_id, hmac, adr_carcrash_time.

Rules:
- The centre needs device_number (whose call the fix is for); coordinates come both or
  neither (neither, or 0,0: the handset had no location). Fix time: location_time, else
  time, else the arrival.
- Every field the centre knows is checked (AmlRefused names it); a field given twice is
  refused; a field it does not know is ignored and named back (ELS adds fields).
- Known variants are read: times in seconds instead of milliseconds, the names' case,
  location_certainty for location_confidence, a confidence as a fraction or a percent,
  location_source "gnss", "fused", "network" and any case, an accuracy of 0 (unknown).
- Pure: no I/O, no clock (the arrival time is an argument).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ivr.core import aml_fields as f
from ivr.core.aml_fields import AmlMessage, AmlRefused
from ivr.core.location import MAX_ACCURACY_M, FixRefused, Method, Source, checked

MAX_FIELDS = 80
MAX_VALUE = 256  # characters of any one value
METHODS = {
    "gps": Method.GNSS, "gnss": Method.GNSS, "wifi": Method.WIFI, "cell": Method.CELL,
    "fused": Method.HYBRID, "hybrid": Method.HYBRID, "network": Method.HYBRID,
    "unknown": Method.UNKNOWN, "": Method.UNKNOWN,
}  # fmt: skip
ALIASES = {"location_certainty": "location_confidence"}


def _number(low: float, high: float) -> Callable[[str, str], object]:
    return lambda name, value: f.decimal(name, value, low, high)


def _digits(shortest: int, longest: int) -> Callable[[str, str], object]:
    return lambda name, value: f.digits(name, value, shortest, longest)


def _text(longest: int) -> Callable[[str, str], object]:
    return lambda name, value: f.text(name, value, longest)


def _one_of(*allowed: str) -> Callable[[str, str], object]:
    def check(name: str, value: str) -> str:
        if value.strip().lower() not in allowed:
            raise AmlRefused(name, f"not one of {', '.join(allowed)}")
        return value.strip().lower()

    return check


def _source(name: str, value: str) -> Method:
    method = METHODS.get(value.strip().lower())
    if method is None:
        raise AmlRefused(
            name,
            f"not one of gps, wifi, cell, unknown (nor a known variant: {', '.join(sorted(METHODS)[1:])})",
        )
    return method


CHECKS: dict[str, Callable[[str, str], object]] = {
    "v": _digits(1, 3),
    "emergency_number": _digits(2, 6),
    "source": _one_of("call", "sms"),
    "thunderbird_version": _text(20),
    "time": f.epoch,
    "gt_location_latitude": _number(-90, 90),
    "gt_location_longitude": _number(-180, 180),
    "location_latitude": _number(-90, 90),
    "location_longitude": _number(-180, 180),
    "location_time": f.epoch,
    "location_altitude": _number(-1000, 100_000),
    "location_altitude_msl": _number(-1000, 100_000),
    "location_floor": _text(20),
    "location_source": _source,
    "location_accuracy": _number(0, MAX_ACCURACY_M),
    "location_vertical_accuracy": _number(0, 100_000),
    "location_confidence": _number(0, 100),
    "location_bearing": _number(0, 360),
    "location_speed": _number(0, 1000),
    "device_number": f.caller_number,
    "device_model": _text(100),
    "device_imsi": _digits(5, 15),
    "device_imei": _digits(14, 16),
    "device_iccid": _digits(18, 22),
    "device_languages": _text(100),
    "cell_carrier": _text(60),
    "cell_home_mcc": _digits(3, 3),
    "cell_home_mnc": _digits(2, 3),
    "cell_network_mcc": _digits(3, 3),
    "cell_network_mnc": _digits(2, 3),
    "cell_id": _text(40),
    "hmac": _text(128),
    "adr_carcrash_time": f.epoch,
}


def parse(pairs: Iterable[tuple[str, str]], sender: str, received_at: float) -> AmlMessage:
    """The message of the form's (name, value) pairs, or AmlRefused."""
    seen: dict[str, object] = {}
    ignored: list[str] = []
    for count, (raw, value) in enumerate(pairs, start=1):
        if count > MAX_FIELDS:
            raise AmlRefused("form", f"more than {MAX_FIELDS} fields")
        name = ALIASES.get(f.field_name(raw).lower(), raw.lower())
        if len(value) > MAX_VALUE:
            raise AmlRefused(name, f"longer than {MAX_VALUE} characters")
        if name in seen or name in ignored:
            raise AmlRefused(name, "given twice")
        check = CHECKS.get(name)
        if check is None:
            ignored.append(name)
            continue
        seen[name] = check(name, value) if value.strip() or name == "location_source" else None
    found = seen.get("device_number")
    if not isinstance(found, tuple):
        raise AmlRefused("device_number", "missing: the caller's number says whose call the fix is for")
    number, key = found
    lat, lon = _float(seen, "location_latitude"), _float(seen, "location_longitude")
    if (lat is None) != (lon is None):
        missing = "location_longitude" if lon is None else "location_latitude"
        raise AmlRefused(missing, "missing: coordinates come in pairs")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return AmlMessage(number, key, None, tuple(ignored))
    when = _float(seen, "location_time") or _float(seen, "time") or received_at
    method = seen.get("location_source")
    try:
        fix = checked(
            lat,
            lon,
            _float(seen, "location_accuracy"),
            Source.AML_HTTPS,
            method if isinstance(method, Method) else Method.UNKNOWN,
            when,
            received_at,
            None,
            sender,
        )
    except FixRefused as exc:  # named as the form names it
        time_field = "location_time" if "location_time" in seen else "time"
        raise AmlRefused(time_field if exc.field == "fixed_at" else exc.field, exc.reason) from None
    return AmlMessage(number, key, fix, tuple(ignored))


def _float(seen: dict[str, object], name: str) -> float | None:
    value = seen.get(name)
    return float(value) if isinstance(value, int | float) else None
