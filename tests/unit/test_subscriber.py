"""One subscriber however the network writes the number (ivr.core.subscriber): the key a
caller's location is matched to their call by."""

from __future__ import annotations

import pytest

from ivr.core.subscriber import same_subscriber, subscriber


@pytest.mark.parametrize(
    "written",
    ["081234567890", "+6281234567890", "6281234567890", "006281234567890", "81234567890",
     "0812-3456-7890", "+62 812 3456 7890", "(0812) 34567890", "tel:+6281234567890",
     "sip:081234567890@10.0.0.1;user=phone"],
)  # fmt: skip
def test_every_way_of_writing_a_kendari_mobile_is_the_same_subscriber(written: str) -> None:
    assert subscriber(written) == "6281234567890"


def test_a_landline_with_its_area_code_and_a_foreign_number_keep_their_own_digits() -> None:
    assert subscriber("0401 3121234") == "624013121234"  # Kendari's area code 0401
    assert subscriber("+44 20 7946 0000") == "442079460000"
    assert subscriber("0044 20 7946 0000") == "442079460000"
    assert not same_subscriber("+442079460000", "02079460000")  # a national 0 means Indonesia


@pytest.mark.parametrize(
    "junk", ["", "anonymous", "112", "12345", "+", "0812abc45678", "+62" + "9" * 20, "٠٨١٢٣٤٥٦٧٨٩"]
)
def test_what_is_no_usable_number_has_no_key_and_matches_nothing(junk: str) -> None:
    assert subscriber(junk) is None
    assert not same_subscriber(junk, junk)


def test_different_subscribers_differ() -> None:
    assert same_subscriber("081234567890", "+62 812-3456-7890")
    assert not same_subscriber("081234567890", "081234567891")
