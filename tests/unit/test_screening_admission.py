# Who gets speech detection and who is screened by energy and keys: room within the
# measured capacity, Asterisk setting screening channels up promptly, and speech detection
# keeping up with the audio (in a surge the machine gives it less than measured at start:
# a caller admitted then would get a verdict too late to matter).
from __future__ import annotations

from ivr.adapters.speech.screener import BEHIND_LIMIT, STARTING_LIMIT, admits


def test_a_caller_gets_speech_detection_while_there_is_room_and_it_keeps_up() -> None:
    assert admits(sessions=10, capacity=100, starting=0, behind=0.2)


def test_a_caller_beyond_the_measured_capacity_is_screened_by_energy() -> None:
    assert not admits(sessions=100, capacity=100, starting=0, behind=0.0)
    assert not admits(sessions=0, capacity=0, starting=0, behind=0.0)  # no model: nobody


def test_a_slow_asterisk_sends_callers_to_energy_screening() -> None:
    assert not admits(sessions=10, capacity=100, starting=STARTING_LIMIT, behind=0.0)


def test_speech_detection_falling_behind_sends_new_callers_to_energy_screening() -> None:
    assert admits(sessions=10, capacity=100, starting=0, behind=BEHIND_LIMIT)
    assert not admits(sessions=10, capacity=100, starting=0, behind=BEHIND_LIMIT + 0.1)
