"""Settings for serving a class: where training runs, how many runs may train at once, how long a shared run
outlives its owner's tab, and the optional Redis that lets several app servers share runs.

Each setting has a default and an environment variable; the functions read the variable on every call, so a
test (or a server restart) can change it. Imports nothing heavy (no torch, no streamlit).
"""

from __future__ import annotations

import os

TRAINING_MODES = ("process", "thread")
# "process": each run trains in a worker process, so the server's interpreter lock is not shared with training
# (a keystroke's prediction 345 ms vs 844 ms median at load 11). Both modes carry the same controls, guard and
# rewind (tests/test_core_run_modes.py runs both); "thread" (CHARVIZ_TRAINING=thread) is what a notebook uses,
# and the app falls back to it where worker processes cannot start (charviz.worker.processes_available)
DEFAULT_TRAINING = "process"


def _env(name: str) -> str | None:
    v = os.environ.get(name, "").strip()
    return v or None


def cpu_count() -> int:
    """CPU cores this process may use (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def training_mode() -> str:
    """CHARVIZ_TRAINING: 'process' (the default: each run trains in a worker process of its own, so a server uses
    all its cores and the UI keeps its interpreter) or 'thread' (a thread in the server process). Both
    carry the same controls, rewind snapshots and divergence guard. Where worker processes cannot be started
    the app trains in a thread anyway (charviz.worker.processes_available)."""
    v = (_env("CHARVIZ_TRAINING") or DEFAULT_TRAINING).lower()
    if v not in TRAINING_MODES:
        raise ValueError(f"CHARVIZ_TRAINING must be one of {TRAINING_MODES}, not {v!r}")
    return v


def max_training() -> int:
    """CHARVIZ_MAX_TRAINING: at most this many runs train at once on this server (default: the CPU cores)."""
    v = _env("CHARVIZ_MAX_TRAINING")
    if v is None:
        return cpu_count()
    n = int(v)
    if n < 1:
        raise ValueError("CHARVIZ_MAX_TRAINING must be at least 1")
    return n


def share_grace_s() -> float:
    """CHARVIZ_SHARE_GRACE_S: a shared run keeps training this long after its owner's tab closed (default 600)."""
    v = _env("CHARVIZ_SHARE_GRACE_S")
    return 600.0 if v is None else max(0.0, float(v))


def redis_url() -> str | None:
    """CHARVIZ_REDIS_URL (e.g. redis://127.0.0.1:6379/0): publish shared runs to Redis so that watchers on any
    replica can follow them. Unset: shared runs live in this server's memory only."""
    return _env("CHARVIZ_REDIS_URL")


def watchers_full_rate() -> int:
    """CHARVIZ_WATCHERS_FULL_RATE: up to this many sessions watching shared runs on this server redraw at the full
    rate (charts every second); beyond it each watcher's redraws slow down in proportion, so that the watchers
    together ask the server for about what this many ask (default 20). Every redraw is a script run in the
    server's one interpreter, beside the training it shows (README, "Capacity")."""
    v = _env("CHARVIZ_WATCHERS_FULL_RATE")
    return 20 if v is None else max(1, int(v))


def spare_workers() -> int:
    """CHARVIZ_SPARE_WORKERS: worker processes kept started and idle (torch imported), so that Start does not
    wait for a new process to import torch (default 1)."""
    v = _env("CHARVIZ_SPARE_WORKERS")
    return 1 if v is None else max(0, int(v))
