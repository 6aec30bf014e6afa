"""Which secrets are too easy to guess: the one rule for the ARI, AMI, API and Redis
secrets and for the API users' tokens.

Rules kept here:
- Pure: no I/O, no clock, no randomness. A reason never quotes the secret or any part of it.
- A secret is weak when it is shorter than 16 characters, has fewer than 6 different
  characters, is a well-known default, or when fewer than 10 of its characters are left
  once its predictable pieces are taken out: common words and the centre's own words
  (also in leetspeak, p4ssw0rd), keyboard walks (qwertyuiop, 1qaz2wsx), runs up or down
  (12345678, abcd, 9876), one character repeated (aaaa) and repetitions of an earlier
  piece (ivr112ivr112). So `Password12345678` is weak, a passphrase of unusual words is not.
- Random secrets (secrets.token_urlsafe(16) and longer) always pass.
- weak_token_hashes(): the SHA-256 (hex, as in the users file) of a bounded list of the
  weak secrets people choose (common words x case x usual digit suffixes), computed once,
  to refuse weak tokens known only by their hash.
"""

from __future__ import annotations

import hashlib
from functools import cache

MIN_LENGTH = 16
MIN_DIFFERENT = 6
MIN_UNPREDICTABLE = 10

KNOWN_DEFAULTS = frozenset(  # long enough, yet the first secrets an attacker tries
    {"changemechangeme", "passwordpassword", "0123456789abcdef", "1234567890123456", "asteriskasterisk"}
)
# The centre's own words: its place, its services, its software, its carriers.
CENTRE_WORDS = (
    "kendari", "sultra", "sulawesi", "tenggara", "konawe", "mandonga", "indonesia", "ivr112", "ivr",
    "112", "emergency", "darurat", "panggilan", "polisi", "polri", "police", "damkar", "pemadam",
    "ambulans", "ambulance", "bpbd", "basarnas", "sar", "asterisk", "pjsip", "sip", "ari", "ami",
    "redis", "telkomsel", "indosat", "carrier", "trunk", "taker", "supervisor", "engineer",
    "operator", "centre", "center", "command", "dispatch", "callcenter", "kominfo",
)  # fmt: skip
# Words people build passwords from (English and Indonesian).
COMMON_WORDS = (
    "password", "passwort", "passwd", "pass", "secret", "secure", "security", "private", "letmein",
    "welcome", "admin", "administrator", "root", "login", "master", "default", "changeme", "change",
    "token", "access", "test", "testing", "guest", "user", "manager", "system", "server", "service",
    "public", "hello", "dragon", "monkey", "football", "soccer", "baseball", "iloveyou", "love",
    "sunshine", "princess", "shadow", "superman", "batman", "freedom", "whatever", "trustno",
    "michael", "charlie", "jordan", "summer", "winter", "spring", "autumn", "january", "february",
    "march", "april", "june", "july", "august", "september", "october", "november", "december",
    "monday", "friday", "sunday", "qwerty", "abcdef", "computer", "internet", "google", "samsung",
    "apple", "office", "company", "network", "backup", "database", "support", "helpdesk", "phone",
    "rahasia", "sandi", "katasandi", "kunci", "masuk", "selamat", "merdeka", "bismillah", "garuda",
    "pancasila", "sayang", "cinta", "jakarta", "bandung", "surabaya", "makassar", "bangsa", "negara",
    "rumah", "kantor", "telepon", "tolong", "bantuan",
)  # fmt: skip
WORDS = frozenset(CENTRE_WORDS + COMMON_WORDS)
LONGEST_WORD = max(map(len, WORDS))
# Rows and columns of the usual keyboards; a walk is 4 or more neighbours of one of them.
KEYBOARD = (
    "`1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./", "qwertzuiop", "azertyuiop", "yxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/", "zaq12wsxcde34rfvbgt56yhnmju78ik,.lo90p;/",
)  # fmt: skip
WALKS = KEYBOARD + tuple(row[::-1] for row in KEYBOARD)
LEET = (str.maketrans("0134578@$!9", "oieastbasig"), str.maketrans("0134578@$!9", "oleastbaslg"))
# What weak_token_hashes() appends to a word: the usual digits, years and marks.
SUFFIXES = (
    "", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
    "0", "01", "007", "11", "69", "99", "100", "111", "112", "123123", "321", "!", "1!", "123!", "@123",
    "#1", "!!", *(str(year) for year in range(2015, 2031)),
)  # fmt: skip


def weakness(secret: str) -> str | None:
    """Why `secret` is easy to guess, or None when it is not. Never quotes the secret."""
    if len(secret) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if len(set(secret)) < MIN_DIFFERENT:
        return f"fewer than {MIN_DIFFERENT} different characters"
    if secret.lower() in KNOWN_DEFAULTS:
        return "a well-known default"
    left = unpredictable(secret)
    if left < MIN_UNPREDICTABLE:
        return (
            f"predictable: only {left} of its {len(secret)} characters are not common words, the "
            f"centre's own words, keyboard walks, runs or repetitions (at least {MIN_UNPREDICTABLE} needed)"
        )
    return None


def unpredictable(secret: str) -> int:
    """How many characters of `secret` no predictable piece covers (greedy, longest first)."""
    text = "".join(c.lower() if len(c.lower()) == 1 else c for c in secret)  # one for one
    folded = [text.translate(table) for table in LEET]
    left = position = 0
    while position < len(text):
        covered = max(
            _word(folded, position), _walk(text, position), _run(text, position), _repeat(text, position)
        )
        if covered:
            position += covered
        else:
            left += 1
            position += 1
    return left


def _word(folded: list[str], at: int) -> int:
    for length in range(min(LONGEST_WORD, len(folded[0]) - at), 2, -1):
        if any(text[at : at + length] in WORDS for text in folded):
            return length
    return 0


def _walk(text: str, at: int) -> int:
    length = 0
    while at + length < len(text) and any(text[at : at + length + 1] in walk for walk in WALKS):
        length += 1
    return length if length >= 4 else 0


def _run(text: str, at: int) -> int:
    """A run with a constant step: aaa, 123, cba (3 or more); 2468, aceg (4 or more)."""
    if at + 2 >= len(text) or not (text[at].isalnum() and text[at + 1].isalnum()):
        return 0
    step = ord(text[at + 1]) - ord(text[at])
    if abs(step) > 2 or text[at + 1].isdigit() != text[at].isdigit():
        return 0
    end = at + 1
    while end + 1 < len(text) and ord(text[end + 1]) - ord(text[end]) == step and text[end + 1].isalnum():
        end += 1
    length = end - at + 1
    return length if length >= (4 if abs(step) == 2 else 3) else 0


def _repeat(text: str, at: int) -> int:
    """The longest piece (3 or more) starting here that already began earlier."""
    best = 0
    length = 3
    while at + length <= len(text) and text.find(text[at : at + length], 0, at + length - 1) != -1:
        best = length
        length += 1
    return best


@cache
def weak_candidates() -> tuple[str, ...]:
    """The weak secrets people choose: each word in three cases with each usual suffix,
    each word twice, the keyboard walks from 8 keys on, and the well-known defaults (a
    bounded list, about 20,000)."""
    found: dict[str, None] = dict.fromkeys(KNOWN_DEFAULTS)
    for word in sorted(WORDS):
        for cased in dict.fromkeys((word, word.capitalize(), word.upper())):
            found.update(dict.fromkeys(cased + suffix for suffix in SUFFIXES))
            found[cased + cased] = None
    for walk in KEYBOARD:
        for length in range(8, len(walk) + 1):
            found.update(dict.fromkeys((walk[:length], walk[:length].capitalize())))
    return tuple(found)


@cache
def weak_token_hashes() -> frozenset[str]:
    """SHA-256 (hex) of every weak candidate: a users file's token_sha256 must be none of them."""
    return frozenset(hashlib.sha256(word.encode()).hexdigest() for word in weak_candidates())


def weak_hash_reason(token_sha256: str) -> str | None:
    """Why a token known by its SHA-256 (hex) is weak, or None when it is none of the candidates."""
    if token_sha256.lower() in weak_token_hashes():
        return (
            "its token is a common word, a centre's word or a keyboard walk with the usual digits "
            "(a weak token); give this user a random one (python -m ivr users hash)"
        )
    return None
