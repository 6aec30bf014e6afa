"""The control plane's threads under their own names in the operating system (top -H, ps -L,
/proc/<pid>/task/*/comm), so an operator or a load run sees which part spends the CPU.

Rules:
- Linux only (prctl PR_SET_NAME); elsewhere, or if the call fails, nothing happens: a
  name is a help, never a condition. Names are cut to the kernel's 15 bytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

PR_SET_NAME = 15
_libc: ctypes.CDLL | None = None


def name_this_thread(name: str | None = None) -> None:
    """Give the calling thread its Python name (or `name`) in the operating system."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.prctl(PR_SET_NAME, (name or threading.current_thread().name).encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass
