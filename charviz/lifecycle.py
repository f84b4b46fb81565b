"""Ending a process cleanly while charviz works in the background.

charviz trains in daemon threads (TrainingRun, Race, Sweep), reads worker processes' messages in daemon threads
(which load weights into tensors) and publishes shared runs from a daemon thread. A daemon thread that is inside
a torch operation when the interpreter finalizes takes the process down: torch releases the interpreter lock
around its kernels, and a thread that asks for the lock back during finalization is ended with pthread_exit from
inside a C++ destructor, which calls std::terminate ("terminate called without an active exception", exit code
134; pytorch/pytorch issue 38228). A notebook or a script that ends while a run trains, a Streamlit server stopped
mid-lecture and a test runner all ended that way.

So everything that runs such a thread registers here, and at exit (an atexit handler: it runs before
finalization, while daemon threads still run normally) charviz stops them in order and waits for their threads,
within EXIT_BUDGET_S in all:
  1. training threads: each finishes the step in progress and ends;
  2. shared-run tickers: end after the publish in progress;
  3. worker pools: their processes are told to quit (killed when they do not), and the threads reading them
     end once the pipe closes.
`stop_runs()` is the first step alone, for a test's teardown.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref

EXIT_BUDGET_S = 10.0  # at most this long in all at exit (a step or a publish in progress takes milliseconds)

RUNS, SERVICES, POOLS = 0, 1, 2  # the order things are ended in

_tracked: tuple[weakref.WeakSet, ...] = (weakref.WeakSet(), weakref.WeakSet(), weakref.WeakSet())
_lock = threading.Lock()


def track(obj, stage: int) -> None:
    """End `obj` at exit (weakly held: an object collected before then is simply gone). `obj.shutdown(timeout)`
    must end its threads and wait for them at most `timeout` seconds."""
    with _lock:
        _tracked[stage].add(obj)


def _ended_in(stage: int, deadline: float) -> None:
    with _lock:
        objs = list(_tracked[stage])
    for obj in objs:
        try:
            obj.shutdown(max(0.1, deadline - time.monotonic()))
        except Exception:  # ending one thing must not keep the others running
            pass


def stop_runs(timeout: float = 5.0) -> None:
    """Stop every training run of this process that still has a thread or a worker (a test's teardown)."""
    _ended_in(RUNS, time.monotonic() + timeout)


def shutdown(budget: float = EXIT_BUDGET_S) -> None:
    """End every tracked thread and worker, in order, within `budget` seconds (the atexit handler)."""
    deadline = time.monotonic() + budget
    for stage in (RUNS, SERVICES, POOLS):
        _ended_in(stage, deadline)


atexit.register(shutdown)
