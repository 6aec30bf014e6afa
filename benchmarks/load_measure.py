"""What the load harness measures from outside the system: CPU and memory of processes
and how busy the whole machine is (from /proc), SIPp's own figures (response-time and
statistics files), percentiles.

Rules: read-only; a process that has gone away counts as zero, never as an error;
SIPp files are read as SIPp wrote them (';' separated, a header row).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable
from pathlib import Path

from benchmarks.percentiles import percentile as percentile
from ivr.adapters.machine_busy import PROC_STAT, jiffies  # the load report takes it from here
from tests.integration.stack import ASTERISK_ROOT

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return total


def machine_jiffies() -> tuple[int, int]:
    """The machine's CPU time so far, all cores, in clock ticks: (busy, total), counted as
    the control plane's busy limit counts them."""
    return jiffies(PROC_STAT.read_text())


def thread_cpu(pids: list[int]) -> dict[str, float]:
    """CPU seconds per thread name of a process and its children (pids[0] first): the
    control plane names its threads; its main thread is the event loop; the rest carry the
    process's name ("unnamed": the libraries' own, e.g. the HTTP client's resolver). A
    child's threads count under their own names (its main thread under the child's name:
    "speech-detect", or "unnamed" for a forked recognizer worker)."""
    spent: dict[str, float] = {}
    if not pids:
        return spent
    try:
        process = Path(f"/proc/{pids[0]}/comm").read_text().strip()
    except OSError:
        return spent
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                name = "event loop" if int(tid) == pids[0] else "unnamed" if comm == process else comm
                fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = name.rstrip("_0123456789") or name  # a pool's threads count together
            spent[name] = spent.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return spent


def rss_mb(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return total / 1024


def open_files(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def with_children(pid: int) -> list[int]:
    """pid first, then every process whose parent chain leads to it (speech detection's
    process, the recognizer workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found = {pid}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return [pid, *sorted(found - {pid})]


def asterisk_pid() -> int:
    return int((ASTERISK_ROOT / "run/asterisk/asterisk.pid").read_text().strip())


def response_times(folder: Path, prefix: str = "") -> list[float]:
    """INVITE -> 200 OK in ms, from SIPp's -trace_rtt files."""
    found: list[float] = []
    for path in folder.glob(f"{prefix}*_rtt.csv"):
        for row in csv.reader(path.read_text().splitlines()[1:], delimiter=";"):
            if len(row) >= 3 and row[1]:
                found.append(float(row[1]))
    return found


def sipp_last(stat_file: Path, column: str) -> str | None:
    """The last row's `column` in a -trace_stat file; None when the file, a data row or
    the column is missing."""
    try:
        rows = list(csv.reader(stat_file.read_text().splitlines(), delimiter=";"))
    except OSError:
        return None
    if len(rows) < 2 or column not in rows[0]:
        return None
    return rows[-1][rows[0].index(column)]


def sipp_mean_call_s(stat_file: Path) -> float:
    """SIPp's mean call length in seconds (its cumulative "CallLength(C)", HH:MM:SS:micro);
    NaN when the file or the column is missing."""
    value = sipp_last(stat_file, "CallLength(C)")
    try:
        hours, minutes, seconds, micro = (value or "").split(":")
        return 3600 * int(hours) + 60 * int(minutes) + int(seconds) + int(micro) / 1e6
    except ValueError:
        return math.nan


def sipp_counter(stat_file: Path, column: str) -> int:
    """The last cumulative value of `column` (e.g. "SuccessfulCall(C)") in a -trace_stat file;
    -1 when the file or the column is missing."""
    value = sipp_last(stat_file, column)
    return -1 if value is None else int(value)
