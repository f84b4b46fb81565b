"""A process that ends while charviz works in the background exits cleanly (charviz.lifecycle).

Before lifecycle, a script, a notebook kernel, a Streamlit server or the test runner that ended while a run
trained was killed by std::terminate ("terminate called without an active exception", exit code 134) in 5 of
6 tries here: a daemon thread inside a torch kernel asked for the interpreter lock back during finalization
(pytorch/pytorch issue 38228). CI's pytest process ended that way once after all its tests had passed.

Each case runs a fresh interpreter that leaves something running and just returns; it must exit with 0 and
print nothing about terminate. The timing within the step varies, so each case runs a few times (each try
aborted with a high probability before the fix).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import time
from charviz.train import TrainConfig, Trainer
TEXT = "the quick brown fox jumps over the lazy dog. " * 40
CFG = TrainConfig(hidden_size=32, seq_len=16, batch_size=8, lr=3e-3, clip=None)

def until(cond, limit=120.0):
    t = time.monotonic()
    while not cond():
        assert time.monotonic() - t < limit, "timed out"
        time.sleep(0.02)
"""

CASES = {
    # a thread run training when the script ends
    "thread run": """
from charviz.run import TrainingRun
run = TrainingRun(Trainer(TEXT, CFG))
run.start()
until(lambda: run.snapshot().step >= 20)
""",
    # a worker process training, its reader thread loading the weights it sends
    "process run": """
from charviz.worker import ProcessRun, WorkerPool
if __name__ == "__main__":
    run = ProcessRun(Trainer(TEXT, CFG), pool=WorkerPool(spare=1))
    run.start()
    until(lambda: run.snapshot().step >= 20)
    time.sleep(0.3)
""",
    # the race's one thread stepping three models
    "race": """
from charviz.race import Race, RaceSettings
race = Race(RaceSettings(k=2, seq_len=8, hidden_size=16, batch_size=8, lines=300, lr=2e-2))
race.start()
until(lambda: race.snapshot().steps >= 5)
""",
}


def _run(body: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("case", list(CASES))
def test_a_process_that_ends_while_training_exits_cleanly(case):
    for _ in range(3):
        p = _run(CASES[case])
        assert "terminate called" not in p.stderr, p.stderr[-2000:]
        assert p.returncode == 0, (p.returncode, p.stderr[-2000:])


def test_a_stopped_run_leaves_nothing_behind_for_exit():
    """stop_runs() (a test's teardown) ends the threads of every run still training, and a run already
    stopped is left alone."""
    p = _run("""
import threading
from charviz import lifecycle
from charviz.run import TrainingRun
a, b = TrainingRun(Trainer(TEXT, CFG)), TrainingRun(Trainer(TEXT, CFG))
a.start(); b.start()
until(lambda: a.snapshot().step >= 3 and b.snapshot().step >= 3)
b.stop()
lifecycle.stop_runs()
assert a.state == "stopped" and not a.alive and not b.alive
assert not [t for t in threading.enumerate() if t.name == "charviz-train"]
print("ok")
""")
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "ok"
