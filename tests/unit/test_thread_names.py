# The control plane's threads carry their names in the operating system (what top -H and
# ps -L show an operator, and what the load run's CPU by thread reads).
from __future__ import annotations

import threading
from pathlib import Path

from ivr.adapters.thread_names import name_this_thread


def test_a_thread_shows_its_name_to_the_operating_system() -> None:
    seen: list[str] = []

    def run() -> None:
        name_this_thread()
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    worker = threading.Thread(target=run, name="a-rather-long-thread-name")
    worker.start()
    worker.join()
    assert seen == ["a-rather-long-t"]  # the kernel keeps 15 bytes
