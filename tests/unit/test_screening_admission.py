# Who gets speech detection and who is screened by energy and keys: room within the
# measured capacity, Asterisk setting screening channels up promptly, and speech detection
# keeping up with the audio (in a surge the machine gives it less than measured at start:
# a caller admitted then would get a verdict too late to matter), and, only where the
# centre set a limit, the machine not busier than that.
from __future__ import annotations

from ivr.adapters.speech.admission import BEHIND_LIMIT, STARTING_LIMIT, Load, admits, refusal


def test_a_caller_gets_speech_detection_while_there_is_room_and_it_keeps_up() -> None:
    assert admits(Load(sessions=10, capacity=100, starting=0, behind=0.2))


def test_a_caller_beyond_the_measured_capacity_is_screened_by_energy() -> None:
    assert not admits(Load(sessions=100, capacity=100, starting=0, behind=0.0))
    assert not admits(Load(sessions=0, capacity=0, starting=0, behind=0.0))  # no model: nobody


def test_a_slow_asterisk_sends_callers_to_energy_screening() -> None:
    assert not admits(Load(sessions=10, capacity=100, starting=STARTING_LIMIT, behind=0.0))


def test_speech_detection_falling_behind_sends_new_callers_to_energy_screening() -> None:
    assert admits(Load(sessions=10, capacity=100, starting=0, behind=BEHIND_LIMIT))
    assert not admits(Load(sessions=10, capacity=100, starting=0, behind=BEHIND_LIMIT + 0.1))


def test_with_the_busy_limit_off_a_saturated_machine_still_gets_speech_detection() -> None:
    assert admits(Load(sessions=10, capacity=100, starting=0, behind=0.0, busy=1.0))


def test_over_the_centres_busy_limit_new_callers_are_screened_by_energy_with_the_figures() -> None:
    assert admits(Load(sessions=10, capacity=100, starting=0, behind=0.0, busy=0.85), 0.85)
    assert not admits(Load(sessions=10, capacity=100, starting=0, behind=0.0, busy=0.93), 0.85)
    reason = refusal(Load(sessions=10, capacity=100, starting=0, behind=0.0, busy=0.93), 0.85)
    assert reason == (
        "speech detection at capacity: 10 of 100 calls, 0 set-ups, 0.0 s behind, machine 93% busy (limit 85%)"
    )


def test_the_reason_names_no_machine_figure_when_the_limit_is_off() -> None:
    reason = refusal(Load(sessions=60, capacity=60, starting=2, behind=0.1))
    assert reason == "speech detection at capacity: 60 of 60 calls, 2 set-ups, 0.1 s behind"
