"""Which call a caller's fix belongs to (ivr.core.location_match) and how a record shows
its fixes (ivr.core.location): the window from 30 s before the INVITE to the end of the
call, the latest fix winning, every fix kept, a fix waiting for its call."""

from __future__ import annotations

import pytest

from ivr.core.location import Fix, FixRefused, Method, Source, checked, latest, record_locations
from ivr.core.location_match import LiveCall, Pending, call_for_fix, expired, kept, taken

KEY = "6281234567890"


def fix(
    received: float, fixed: float | None = None, lat: float = -3.97, accuracy: float | None = 20.0
) -> Fix:
    return checked(
        lat, 122.51, accuracy, Source.AML_HTTPS, Method.GNSS, fixed or received, received, None, "tsel"
    )


def test_a_fix_goes_to_the_live_call_of_its_subscriber() -> None:
    live = [LiveCall("a", "6281111111111", 100.0), LiveCall("b", KEY, 100.0), LiveCall("c", None, 100.0)]
    assert call_for_fix(KEY, 150.0, live) == "b"
    assert call_for_fix("6289999999999", 150.0, live) is None


def test_a_fix_arriving_up_to_30_s_before_the_invite_is_for_that_call() -> None:
    live = [LiveCall("b", KEY, 100.0)]
    assert call_for_fix(KEY, 70.0, live) == "b"
    assert call_for_fix(KEY, 69.0, live) is None  # older: another call's, or none
    assert call_for_fix(KEY, 69.0, live, before=60) == "b"  # the window is a setting


def test_of_two_live_calls_from_one_number_the_later_one_gets_the_fix() -> None:
    live = [LiveCall("first", KEY, 100.0), LiveCall("again", KEY, 130.0)]
    assert call_for_fix(KEY, 140.0, live) == "again"


def test_a_fix_before_its_call_is_kept_and_taken_when_the_call_arrives_within_the_window() -> None:
    pending = kept(Pending(), KEY, fix(100.0), now=100.0)
    pending = kept(pending, "6289999999999", fix(101.0), now=101.0)
    assert len(pending) == 2
    left, mine = taken(pending, KEY, arrived_at=125.0, now=125.2)
    assert [f.received_at for f in mine] == [100.0]
    assert len(left) == 1  # the other number's fix stays kept
    _, again = taken(left, KEY, arrived_at=126.0, now=126.0)
    assert again == ()  # taken once


def test_a_kept_fix_past_the_window_is_dropped_and_never_meets_a_later_call() -> None:
    pending = kept(Pending(), KEY, fix(100.0), now=100.0)
    assert taken(pending, KEY, arrived_at=131.0, now=131.0)[1] == ()
    assert len(expired(pending, now=131.0)) == 0
    assert len(expired(pending, now=129.0)) == 1


def test_kept_fixes_are_bounded_per_number_the_newest_staying() -> None:
    pending = Pending()
    for second in range(15):
        pending = kept(pending, KEY, fix(100.0 + second), now=100.0 + second)
    _, mine = taken(pending, KEY, arrived_at=115.0, now=115.0)
    assert [f.received_at for f in mine] == [105.0 + s for s in range(10)]


def test_the_latest_fix_wins_by_the_handsets_time_then_by_arrival() -> None:
    early, late, resent = fix(110.0, fixed=100.0), fix(105.0, fixed=104.0), fix(120.0, fixed=104.0, lat=-3.98)
    assert latest([late, early]) == late  # arrived first, but the newer fix
    assert latest([early, late, resent]) == resent
    assert latest([]) is None


def test_a_record_shows_every_fix_oldest_first_and_the_latest_as_its_location() -> None:
    a, b = fix(110.0, fixed=100.0), fix(105.0, fixed=104.0, lat=-3.99, accuracy=None)
    timeline = [
        {"at": 99.0, "entry": "arrived", "caller": "081234567890"},
        {"at": 110.0, "entry": "location", **a.detail()},
        {"at": 105.0, "entry": "location", **b.detail()},
        {"at": 106.0, "entry": "location", "lat": "junk"},  # a damaged entry is skipped
    ]
    location, locations = record_locations(timeline)
    assert [f["fixed_at"] for f in locations] == [100.0, 104.0]
    assert location == b.view()
    assert location is not None and location["accuracy_m"] is None and location["lat"] == -3.99
    assert set(location) == {"lat", "lon", "accuracy_m", "source", "method", "fixed_at", "received_at",
                             "address", "sender"}  # fmt: skip
    assert record_locations([{"entry": "arrived"}]) == (None, [])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"lat": 90.01}, "lat"),
        ({"lon": -181.0}, "lon"),
        ({"lat": float("nan")}, "lat"),
        ({"lon": float("inf")}, "lon"),
        ({"accuracy_m": -1.0}, "accuracy_m"),
        ({"accuracy_m": 100_001.0}, "accuracy_m"),
        ({"fixed_at": 1000.0 + 301}, "fixed_at"),
        ({"fixed_at": 1000.0 - 86_401}, "fixed_at"),
        ({"address": "x" * 201}, "address"),
        ({"address": "Jl. Mayjen\x07"}, "address"),
        ({"sender": ""}, "sender"),
    ],
)
def test_a_fix_out_of_range_is_refused_naming_the_field(args: dict[str, object], field: str) -> None:
    given: dict[str, object] = {"lat": -3.97, "lon": 122.5, "accuracy_m": 10.0, "source": Source.DESK,
                                "method": Method.MANUAL, "fixed_at": 1000.0, "received_at": 1000.0,
                                "address": None, "sender": "taker01", **args}  # fmt: skip
    with pytest.raises(FixRefused) as refused:
        checked(**given)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_an_address_is_kept_on_one_line_and_an_accuracy_of_zero_means_unknown() -> None:
    typed = checked(
        -3.97, 122.5, 0.0, Source.DESK, Method.MANUAL, 1.0, 1.0, "  Jl. Sao-Sao\n no. 12 ", "taker01"
    )
    assert (typed.address, typed.accuracy_m) == ("Jl. Sao-Sao no. 12", None)
