# The weak-secret rule (ivr.secret_rules): dictionary-style secrets, keyboard walks, runs,
# repetitions and the centre's own words are refused with a reason that never quotes the
# secret; random secrets always pass; the users file's weak tokens are known by their hash.
from __future__ import annotations

import base64
import hashlib
import random

import pytest

from ivr.secret_rules import weak_candidates, weak_hash_reason, weak_token_hashes, weakness


@pytest.mark.parametrize(
    "secret",
    [
        "Password12345678",  # a common word + a sequence
        "P4ssw0rd!2024Admin",  # leetspeak, a year, another word
        "Welcome1234567890",
        "qwertyuiopasdfgh",  # keyboard walks
        "1qaz2wsx3edc4rfv",
        "zxcvbnm123456789",
        "abcdefghijklmnopqrstu",  # runs up and down
        "9876543210fedcba",
        "Kendari112Kendari112",  # the centre's own words, repeated
        "ivr112-asterisk-kendari",
        "Polisi2025Damkar2025!",
        "Summer2024Summer2024",
        "RahasiaRahasia2024",  # Indonesian: secret
    ],
)
def test_dictionary_walk_run_and_centre_secrets_are_weak(secret: str) -> None:
    reason = weakness(secret)
    assert reason is not None and reason.startswith("predictable"), (secret, reason)
    assert secret not in reason and secret.lower()[:6] not in reason.lower()  # never quoted


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("Xq7-v2Lm9", "shorter than 16"),
        ("abababababababababab", "fewer than 6 different"),
        ("ChangeMeChangeMe", "well-known default"),
    ],
)
def test_short_monotonous_and_default_secrets_are_weak(secret: str, reason: str) -> None:
    assert reason in (weakness(secret) or "")


@pytest.mark.parametrize(
    "secret", ["correct-horse-battery-staple-tugu", "Vq8-LmZ2_rT4pXw9KdY", "not-a-real-api-token-0123"]
)
def test_uncommon_passphrases_and_mixed_secrets_pass(secret: str) -> None:
    assert weakness(secret) is None


@pytest.mark.parametrize("size", [16, 18, 24])
def test_random_secrets_always_pass(size: int) -> None:
    """secrets.token_urlsafe(size), with a seeded generator so that the test is repeatable."""
    generator = random.Random(112 + size)
    for _ in range(600):
        token = base64.urlsafe_b64encode(generator.randbytes(size)).rstrip(b"=").decode()
        assert weakness(token) is None, token


def test_weak_candidates_are_bounded_and_all_weak() -> None:
    candidates = weak_candidates()
    assert 5_000 < len(candidates) < 50_000
    assert {"Password123", "kendari112", "KENDARI2025", "qwertyuiop", "asteriskasterisk"} <= set(candidates)
    long_enough = [c for c in candidates if len(c) >= 16]
    assert long_enough and all(weakness(c) for c in long_enough)  # the rule and the list agree


def test_a_weak_token_is_known_by_its_hash_and_a_random_one_is_not() -> None:
    weak = hashlib.sha256(b"Kendari112").hexdigest()
    assert weak in weak_token_hashes() and weak_hash_reason(weak)
    assert weak_hash_reason(weak.upper())  # hex in either case
    strong = hashlib.sha256(b"Vq8-LmZ2_rT4pXw9KdY").hexdigest()
    assert weak_hash_reason(strong) is None
