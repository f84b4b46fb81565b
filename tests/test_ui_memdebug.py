"""The memory report's child processes: a live child is listed, an exited child not yet reaped (a zombie) is
counted apart and not listed, so the browser memory test's "worker processes end" holds when they have ended."""

import subprocess
import time
from pathlib import Path

from charviz.ui.memdebug import _children, _zombies


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_zombie_is_counted_not_listed_and_a_live_child_is_listed():
    live = subprocess.Popen(["sleep", "30"])
    dead = subprocess.Popen(["sleep", "0"])
    try:
        deadline = time.monotonic() + 10
        while _state(dead.pid) != "Z":  # exited, not reaped (nobody has waited for it yet)
            assert time.monotonic() < deadline
            time.sleep(0.02)
        before = _zombies()
        assert before >= 1
        listed = _children()
        assert any(c.strip() == "sleep 30" for c in listed), listed
        assert not any(c.strip() == "sleep 0" for c in listed), listed
        dead.wait()  # reaped: no longer a zombie
        assert _zombies() == before - 1
    finally:
        live.kill()
        live.wait()
        dead.wait()
