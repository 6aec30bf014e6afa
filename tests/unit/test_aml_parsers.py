"""AML messages (ETSI TS 103 625) read into a caller's fix: the HTTPS form Android's ELS
posts and the SMS text, with the variants real handsets send, and a refusal naming the
field for anything a field may not be."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from ivr.core import aml_https, aml_sms
from ivr.core.aml_fields import AmlRefused
from ivr.core.location import Method, Source

NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
FORM = {
    "v": "3",
    "emergency_number": "112",
    "source": "call",
    "time": str(int((NOW - 20) * 1000)),
    "location_latitude": "-3.97231",
    "location_longitude": "122.51460",
    "location_time": str(int((NOW - 5) * 1000)),
    "location_accuracy": "12.5",
    "location_source": "gps",
    "location_confidence": "0.68",
    "device_number": "+6281234567890",
    "device_imsi": "510101234567890",
    "device_imei": "355458061005220",
    "cell_home_mcc": "510",
    "cell_home_mnc": "10",
    "cell_network_mcc": "510",
    "cell_network_mnc": "10",
}
SMS = (
    'A"ML=1;lt=-03.97231;lg=+122.51460;rd=50;top=20251231235950;lc=68;pm=G;'
    "si=510100000000000;ei=355458061005220;mcc=510;mnc=10;ml=129"
)


def https(**changes: str | None) -> aml_https.AmlMessage:
    fields = {k: v for k, v in {**FORM, **changes}.items() if v is not None}
    return aml_https.parse(parse_qsl(urlencode(fields), keep_blank_values=True), "telkomsel", NOW)


def test_an_els_form_gives_the_fix_of_the_handset_with_its_time_radius_and_method() -> None:
    message = https()
    assert (message.number, message.key, message.ignored) == ("+6281234567890", "6281234567890", ())
    fix = message.fix
    assert fix is not None
    assert (fix.lat, fix.lon, fix.accuracy_m) == (-3.97231, 122.5146, 12.5)
    assert (fix.source, fix.method, fix.sender) == (Source.AML_HTTPS, Method.GNSS, "telkomsel")
    assert (fix.fixed_at, fix.received_at) == (NOW - 5, NOW)


def test_known_variants_of_the_form_are_read() -> None:
    seconds = https(location_time=str(int(NOW - 7)), location_source="GNSS", location_confidence=None,
                    location_certainty="83", location_accuracy="0")  # fmt: skip
    assert seconds.fix is not None
    assert (seconds.fix.fixed_at, seconds.fix.method, seconds.fix.accuracy_m) == (NOW - 7, Method.GNSS, None)
    no_time = https(location_time=None, time=None, location_source=None)
    assert no_time.fix is not None and (no_time.fix.fixed_at, no_time.fix.method) == (NOW, Method.UNKNOWN)
    assert https(location_source="fused").fix.method is Method.HYBRID  # type: ignore[union-attr]
    assert https(location_source="wifi").fix.method is Method.WIFI  # type: ignore[union-attr]


def test_fields_the_centre_does_not_use_are_named_back_not_refused() -> None:
    message = https(device_languages="id-ID", thunderbird_version="2800", medical_info="x", aei_blood="O")
    assert message.fix is not None
    assert message.ignored == ("medical_info", "aei_blood")


def test_a_message_without_coordinates_or_at_null_island_has_no_fix() -> None:
    assert https(location_latitude=None, location_longitude=None).fix is None
    assert https(location_latitude="0", location_longitude="0.0").fix is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"device_number": None}, "device_number"),
        ({"device_number": "anonymous"}, "device_number"),
        ({"location_latitude": "91"}, "location_latitude"),
        ({"location_longitude": "-180.5"}, "location_longitude"),
        ({"location_latitude": "NaN"}, "location_latitude"),
        ({"location_latitude": "1e3"}, "location_latitude"),
        ({"location_longitude": None}, "location_longitude"),
        ({"location_accuracy": "-3"}, "location_accuracy"),
        ({"location_accuracy": "250000"}, "location_accuracy"),
        ({"location_source": "satellite-ish"}, "location_source"),
        ({"location_time": "yesterday"}, "location_time"),
        ({"location_time": str(int((NOW + 3600) * 1000))}, "location_time"),
        ({"location_time": str(int((NOW - 3 * 86400) * 1000))}, "location_time"),
        ({"source": "carrier-pigeon"}, "source"),
        ({"device_imei": "12"}, "device_imei"),
        ({"cell_network_mcc": "5100"}, "cell_network_mcc"),
        ({"device_model": "x" * 300}, "device_model"),
        ({"device_model": "Pixel\x00"}, "device_model"),
    ],
)
def test_a_wrong_field_is_refused_by_name(changes: dict[str, str | None], field: str) -> None:
    with pytest.raises(AmlRefused) as refused:
        https(**changes)
    assert refused.value.field == field


def test_a_field_given_twice_a_bad_name_or_too_many_fields_is_refused() -> None:
    pairs = [*FORM.items(), ("location_latitude", "-3.9")]
    with pytest.raises(AmlRefused, match="given twice"):
        aml_https.parse(pairs, "telkomsel", NOW)
    with pytest.raises(AmlRefused, match="not a field name"):
        aml_https.parse([*FORM.items(), ("bad name!", "1")], "telkomsel", NOW)
    with pytest.raises(AmlRefused, match="more than 80 fields"):
        aml_https.parse([*FORM.items(), *((f"x{i}", "1") for i in range(80))], "telkomsel", NOW)


def sms(text: str, number: str = "081234567890") -> aml_sms.AmlMessage:
    return aml_sms.parse(text, number, "sms-gateway", NOW)


def test_an_aml_sms_gives_the_fix_and_the_number_comes_from_the_gateway() -> None:
    message = sms(SMS)
    assert (message.number, message.key, message.ignored) == ("081234567890", "6281234567890", ())
    fix = message.fix
    assert fix is not None
    assert (fix.lat, fix.lon, fix.accuracy_m, fix.method) == (-3.97231, 122.5146, 50.0, Method.GNSS)
    assert (fix.source, fix.fixed_at, fix.received_at) == (Source.AML_SMS, NOW - 10, NOW)


def test_the_standards_own_example_is_read() -> None:
    text = (
        'A"ML=1;lt=+55.74317;lg=+037.61930;rd=50;top=20130717141935;lc=90;pm=W;'
        "si=123456789012345;ei=1234567890123456;mcc=250;mnc=99;ml=128"
    )
    message = aml_sms.parse(text, "+6281234567890", "sms-gateway", 1374070775.0 + 30)
    assert message.fix is not None
    assert (message.fix.lat, message.fix.lon, message.fix.method) == (55.74317, 37.6193, Method.WIFI)
    assert message.fix.fixed_at == 1374070775.0  # 2013-07-17 14:19:35 UTC


@pytest.mark.parametrize(
    "variant",
    [
        SMS.replace('A"ML', "A”ML"),  # a typographic quote from the gateway
        SMS.replace('A"ML', "AML"),  # the quote lost
        SMS.replace('A"ML', 'a"ml'),
        SMS.replace('A"ML=1;', ""),  # no header at all
        SMS + ";",  # a trailing separator
        SMS.replace("ml=129", "ml=127"),  # a length counted differently by the handset
        SMS.replace("lt=-03.97231", "LT=-3.97231").replace("lg=+122.51460", "Lg=122.5146"),
        SMS.replace(";ml=129", ""),  # no length
        "  " + SMS + "\r\n",
    ],
)
def test_sms_variants_real_handsets_and_gateways_send_are_read(variant: str) -> None:
    fix = sms(variant).fix
    assert fix is not None and (fix.lat, fix.lon) == (-3.97231, 122.5146)


def test_an_sms_with_no_location_or_an_els_beta_one_is_read() -> None:
    google = (
        'A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20251231235950;lc=0;pm=N;'
        "si=510100000000000;ei=123456789012345;mcc=510;mnc=10;ml=127"
    )
    assert sms(google).fix is None
    assert sms(SMS.replace("pm=G", "pm=N")).fix is None
    beta = sms(f'A"ML=2;en=112;et={int(NOW - 30)};lo=-3.97231,122.5146,20.1;xx=7')
    assert beta.fix is not None and (beta.fix.lat, beta.fix.accuracy_m, beta.fix.fixed_at) == (
        -3.97231,
        20.1,
        NOW - 30,
    )
    assert beta.ignored == ("xx",)
    assert sms(SMS.replace(";mnc=10", ";mnc=10;zz=1").replace("ml=129", "ml=134")).ignored == ("zz",)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (SMS.replace("lt=-03.97231", "lt=-93.1"), "lt"),
        (SMS.replace("lg=+122.51460", "lg=+190.0"), "lg"),
        (SMS.replace("lt=-03.97231", "lt=+g4.7d397"), "lt"),
        (SMS.replace("rd=50", "rd=fifty"), "rd"),
        (SMS.replace("top=20251231235950", "top=20251331235950"), "top"),
        (SMS.replace("top=20251231235950", "top=20251231"), "top"),
        (SMS.replace("top=20251231235950", "top=20240101000000"), "top"),
        (SMS.replace("pm=G", "pm=Z"), "pm"),
        (SMS.replace("lc=68", "lc=99.9"), "lc"),
        (SMS.replace("ei=355458061005220", "ei=35545806100522X"), "ei"),
        (SMS.replace("ml=129", "ml=200"), "ml"),  # cut short, or joined wrongly
        (SMS.replace(";lg=+122.51460", ""), "lg"),
        (SMS.replace("lc=68;", "lc=68;;"), "text"),
        (SMS.replace("lc=68;", "a==;"), "text"),
        (SMS.replace("mcc=510", "mcc=510;mcc=511"), "mcc"),
        (SMS.replace('A"ML=1', 'A"ML=7'), 'A"ML'),
        ("", "text"),
        (SMS + "x" * 1000, "text"),
        (SMS.replace("lc=68", "lc=6\x008"), "text"),
    ],
)
def test_a_wrong_sms_is_refused_by_field(text: str, field: str) -> None:
    with pytest.raises(AmlRefused) as refused:
        sms(text)
    assert refused.value.field == field, refused.value


def test_an_sms_from_no_usable_number_is_refused() -> None:
    with pytest.raises(AmlRefused) as refused:
        sms(SMS, number="anonymous")
    assert refused.value.field == "from"
