"""Screening yields the CPU to call handling: speech detection's threads run at a lower
priority than the thread that runs the event loop (which answers, offers and bridges)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from ivr.adapters.speech.vad_batcher import VadBatcher
from ivr.adapters.thread_priority import SCREENING_NICENESS


def thread_niceness() -> dict[str, int]:
    """This process's threads by their name in the operating system."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    return {
        (task / "comm").read_text().strip(): os.getpriority(os.PRIO_PROCESS, int(task.name))
        for task in tasks.iterdir()
    }


@pytest.mark.skipif(sys.platform != "linux", reason="thread niceness is Linux's")
async def test_speech_detection_runs_below_the_event_loop() -> None:
    vad = VadBatcher()
    try:
        await asyncio.sleep(0.1)  # the worker thread has started
        niceness = await asyncio.to_thread(thread_niceness)
        loop_thread = os.getpriority(os.PRIO_PROCESS, 0)  # this thread: the event loop's
        assert niceness["vad-batcher"] == min(19, loop_thread + SCREENING_NICENESS)
    finally:
        vad.close()
