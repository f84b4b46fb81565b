"""Training in a worker process: `ProcessRun`, with the interface of the thread-based TrainingRun.

Why: every training thread of a Streamlit server shares one interpreter lock with every page's script run,
so a server process uses about one core however many sessions train, and a click waits behind training.
A ProcessRun trains in a worker process of its own and the page reads plain data from it.

Who holds the model: while the run trains, the worker does; while it is idle or paused, this process does
(`run.trainer`, a normal Trainer). Start sends the trainer's state (weights, optimizer, carried hidden state,
position in the text, step) to a worker; Pause asks for it back and waits until it is here, so after
`pause()` returns the step count no longer moves and `run.trainer` is the model as trained. While training,
the worker sends an update every PUBLISH_S: the new metric rows, the weights (plain numpy arrays), and every
FULL_EVERY_S the whole state, so that a worker that dies (killed, out of memory) loses at most that much:
the run is then paused with a message, and Resume restarts it from the last state received.

Workers come from a small pool of started processes (`WorkerPool`): a spawned process needs seconds to
import torch, so the pool keeps `CHARVIZ_SPARE_WORKERS` (default 1) started and idle, and Start takes one.
Pause gives the worker back to the pool (an idle pool keeps at most spare + 1); stop() ends it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from collections import deque
from dataclasses import asdict, replace

import numpy as np
import torch

from charviz import lifecycle
from charviz.config import TrainConfig
from charviz.data import Vocab
from charviz.errors import KeyedError, Msg
from charviz.guard import DivergenceGuard, GoodState
from charviz.model import CharRNN
from charviz.run import History, RunBase, Snapshot, TrainingRun, stopped
from charviz.snapshots import _victim
from charviz.train import StepStats, Trainer

PUBLISH_S = 0.25  # a training worker sends its metrics and weights this often
FULL_EVERY_S = 2.0  # ... and its whole state (optimizer included) this often (what a crash can lose)
REPLY_TIMEOUT_S = 30.0  # a worker that does not answer Pause within this is taken for dead
READY_TIMEOUT_S = 120.0  # a new worker process must import torch within this (a loaded machine is slow)
WORKER_THREADS = 1  # torch threads per worker: one core each; the cap decides how many train at once


# ---------------------------------------------------------------------------------------------------------
# a trainer's state as plain data (numpy arrays, numbers, lists, dicts): picklable, no torch objects


def _map_leaves(obj, kind: type, fn):
    """fn applied to every leaf of type `kind`, recursively through dicts, lists and tuples (tuples stay
    tuples); other leaves as they are."""
    if isinstance(obj, kind):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_leaves(v, kind, fn) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_leaves(v, kind, fn) for v in obj)
    return obj


def to_plain(obj):
    """Tensors -> numpy arrays, recursively through dicts, lists and tuples (tuples stay tuples)."""
    return _map_leaves(obj, torch.Tensor, lambda x: x.detach().cpu().numpy().copy())


def from_plain(obj):
    """The inverse of to_plain: numpy arrays -> tensors."""
    return _map_leaves(obj, np.ndarray, lambda x: torch.from_numpy(x.copy()))


def trainer_state(tr: Trainer) -> dict:
    """Everything of a Trainer that training changes, as plain data."""
    return {
        "model": to_plain(tr.model.state_dict()),
        "optimizer": to_plain(tr._optimizer.state_dict()) if tr._optimizer is not None else None,
        "h": to_plain(tr.h),
        "steps": tr.steps,
        "chars_seen": tr.chars_seen,
        "pos": tr.batches.pos,
        "config": tr.config.to_dict(),
    }


def load_trainer_state(tr: Trainer, state: dict) -> None:
    """Put a state from trainer_state() into a Trainer made from the same text, vocabulary and shape."""
    tr.model.load_state_dict(from_plain(state["model"]))
    cfg = TrainConfig.from_dict(state["config"])
    tr.set_lr(cfg.lr)
    tr.set_clip(cfg.clip)
    tr.set_carry_hidden(cfg.carry_hidden)
    if state["optimizer"] is not None:
        tr.optimizer.load_state_dict(from_plain(state["optimizer"]))
    tr.h = from_plain(state["h"])
    tr.steps, tr.chars_seen, tr.batches.pos = state["steps"], state["chars_seen"], state["pos"]


def model_from_weights(vocab_size: int, config: TrainConfig, weights: dict) -> CharRNN:
    """A frozen CharRNN (eval mode, no gradients) holding `weights` (plain data)."""
    m = CharRNN(vocab_size, config.hidden_size, config.cell)
    m.load_state_dict(from_plain(weights))
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def stats_from_dict(d: dict | None) -> StepStats | None:
    return None if d is None else StepStats(**d)


def good_to_plain(g: GoodState | None) -> dict | None:
    if g is None:
        return None
    return {"step": g.step, "bits": g.bits, "model": to_plain(g.model), "optimizer": to_plain(g.optimizer),
            "h": to_plain(g.h)}


def good_from_plain(d: dict | None) -> GoodState | None:
    if d is None:
        return None
    return GoodState(step=d["step"], bits=d["bits"], model=from_plain(d["model"]),
                     optimizer=from_plain(d["optimizer"]), h=from_plain(d["h"]))


def guard_state(guard: DivergenceGuard, sent: dict | None = None, candidate: bool = True) -> dict:
    """A DivergenceGuard as plain data. With `sent` (what was sent before, updated here), the kept states
    (`good`, `candidate`: model and optimizer copies) only when they changed since; without `candidate`, not
    the candidate (it matters only when the run comes back or a worker dies)."""
    out = {"window": guard.window, "limit_bits": guard.limit_bits, "keep_every": guard.keep_every,
           "recent": list(guard.recent), "diverging_since": guard.diverging_since,
           "healthy": guard._healthy_since_candidate}
    for name, kept in (("good", guard.good), ("candidate", guard._candidate)):
        if name == "candidate" and not candidate:
            continue
        if sent is None or sent.get(name, ()) is not kept:
            out[name] = good_to_plain(kept)
            if sent is not None:
                sent[name] = kept
    return out


def load_guard_state(guard: DivergenceGuard, d: dict) -> DivergenceGuard:
    """Put a guard_state() into `guard` (kept states absent from `d` stay as they are). -> guard"""
    guard.window, guard.limit_bits, guard.keep_every = d["window"], d["limit_bits"], d["keep_every"]
    guard.recent = deque(d["recent"], maxlen=d["window"])
    guard.diverging_since = d["diverging_since"]
    guard._healthy_since_candidate = d["healthy"]
    if "good" in d:
        guard.good = good_from_plain(d["good"])
    if "candidate" in d:
        guard._candidate = good_from_plain(d["candidate"])
    return guard


# ---------------------------------------------------------------------------------------------------------
# the worker process


class _Tee(History):
    """A History that also keeps every added row in `pending` (sent to the owner, which keeps its own)."""

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.pending: list[dict] = []

    def add(self, row: dict) -> None:
        self.pending.append(row)
        super().add(row)


class _SnapshotFeed:
    """In the worker: the server's SnapshotStore's choice of steps, made here over every applied step (the
    same thinning, charviz.snapshots), with the weights of the kept steps the server has not been sent yet."""

    def __init__(self, steps: list[int], budget: int):
        self.kept = list(steps)
        self.budget = max(2, budget)
        self.new: dict[int, dict] = {}  # step -> weights (plain) not sent yet

    def add(self, step: int, model) -> None:
        if self.kept and step <= self.kept[-1]:
            return
        self.kept.append(step)
        self.new[step] = to_plain(model.state_dict())
        while len(self.kept) > self.budget:
            self.new.pop(self.kept.pop(_victim(self.kept)), None)

    def take(self) -> tuple[list[tuple[int, dict]], list[int]] | None:
        """(the new snapshots, the steps kept), or None when nothing changed since the last take."""
        if not self.new:
            return None
        new, self.new = sorted(self.new.items()), {}
        return new, list(self.kept)


def _configure_worker_torch() -> None:
    torch.set_num_threads(WORKER_THREADS)
    try:
        torch.set_num_interop_threads(WORKER_THREADS)
    except RuntimeError:
        pass


def worker_main(conn) -> None:
    """The worker process: wait for ("train", job), train until ("pause", seq), send the state back; repeat.
    ("quit",) or a closed pipe (the server went away) ends it."""
    _configure_worker_torch()
    from charviz.train import warm_up

    warm_up()  # torch's first-optimizer imports, before the first job rather than in it
    conn.send({"kind": "ready", "pid": os.getpid()})
    cache: dict = {}  # the last job's Trainer, reused when the same run comes back (no re-encoding the text)
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "quit":
                return
            if msg[0] == "train":
                _train(conn, msg[1], cache)
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the server closed the pipe or is shutting down


def _trainer_for(job: dict, cache: dict) -> Trainer:
    key = (job["run_id"], job["text_key"])
    tr = cache.get(key)
    if tr is None:
        cache.clear()
        cfg = TrainConfig.from_dict(job["state"]["config"])
        tr = Trainer(job["text"], cfg, vocab=Vocab(tuple(job["vocab"])))
        cache[key] = tr
    load_trainer_state(tr, job["state"])
    return tr


def _train(conn, job: dict, cache: dict) -> None:
    tr = _trainer_for(job, cache)
    run = TrainingRun(tr, history_capacity=4, eval_every_s=job["eval_every_s"],
                      pause_on_nonfinite=job["pause_on_nonfinite"])
    run.history, run.val_history = _Tee(4), _Tee(4)  # only `pending` matters here
    # the rewind snapshots and the divergence guard go on from the server's (it keeps them between jobs)
    feed = run.snapshots = _SnapshotFeed(job["snap_steps"], job["snap_budget"])
    guard = run.guard = load_guard_state(DivergenceGuard(len(tr.vocab)), job["guard"])
    sent_guard = {"good": guard.good, "candidate": guard._candidate}  # (the server has these)
    run._eval_step = tr.steps if job["evaluated"] else -1
    run._last_eval = time.monotonic() if job["evaluated"] else 0.0
    last_pub = last_full = time.monotonic()
    sent_step = tr.steps

    def update(kind: str, seq=None, full: bool = False, error: Msg | str = "") -> dict:
        nonlocal sent_step
        msg = {
            "kind": kind, "seq": seq, "step": tr.steps, "chars_seen": tr.chars_seen, "cps": run._rate(),
            "rows": run.history.pending, "val_rows": run.val_history.pending,
            "last": asdict(run.last) if run.last is not None else None, "error": error,
            "config": tr.config.to_dict(),
            "weights": to_plain(tr.model.state_dict()) if (full or tr.steps != sent_step) else None,
            "full": trainer_state(tr) if full else None,
            "snaps": feed.take(),
            "guard": guard_state(guard, sent_guard, candidate=full),
        }
        run.history.pending, run.val_history.pending = [], []
        sent_step = tr.steps
        return msg

    while True:
        while conn.poll(0):
            cmd = conn.recv()
            if cmd[0] == "pause":
                conn.send(update("paused", seq=cmd[1], full=True))
                return
            if cmd[0] == "set":
                getattr(tr, "set_" + cmd[1])(cmd[2])
            elif cmd[0] == "quit":
                raise EOFError
        try:
            run._step_locked()
            run._maybe_evaluate()
        except Exception as e:  # a failing step pauses the run and says why, like the thread version
            conn.send(update("paused", full=True, error=stopped(e)))
            return
        if run.error:  # a refused (non-finite) step paused the run
            conn.send(update("paused", full=True, error=run.error))
            return
        now = time.monotonic()
        if now - last_pub >= PUBLISH_S:
            full = now - last_full >= FULL_EVERY_S
            conn.send(update("update", full=full))
            last_pub = now
            if full:
                last_full = now


# ---------------------------------------------------------------------------------------------------------
# the pool of worker processes (server side)


class WorkerDied(KeyedError, RuntimeError):
    """A worker process that did not start or cannot be reached (errors.worker_*: in the reader's language)."""


_main_lock = threading.Lock()


@contextlib.contextmanager
def _main_hidden():
    """A spawned process normally re-runs the parent's main script (as __mp_main__) before its target: the
    streamlit command line, a notebook kernel, a test runner or an unguarded script. A worker needs only
    charviz.worker, so while a process starts, __main__ is an empty module and the child skips that step."""
    with _main_lock:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


class Worker:
    """One worker process and the thread that reads its messages and hands them to the run it serves."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child,), name="charviz-worker", daemon=True)
        with _main_hidden():
            self.proc.start()
        child.close()
        self.ready = threading.Event()
        self.pid: int | None = None
        self.owner: ProcessRun | None = None
        self.dead = False
        self.last_key = None  # the last job's (run, trainer): the worker keeps that Trainer for a resume
        self.reader = threading.Thread(target=self._read, name="charviz-worker-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # an unreadable message: treat the worker as broken
                break
            if msg.get("kind") == "ready":
                self.pid = msg["pid"]
                self.ready.set()
                continue
            owner = self.owner
            if owner is not None:
                owner._on_message(self, msg)
        self.dead = True
        self.ready.set()  # wake anyone waiting for it to start
        owner = self.owner
        if owner is not None:
            owner._on_worker_died(self)

    def send(self, msg) -> None:
        try:
            self.conn.send(msg)
        except (OSError, ValueError) as e:
            raise WorkerDied("errors.worker_pipe", detail=f"{type(e).__name__}: {e}") from None

    def ask_quit(self) -> None:
        """Tell the process to end (quit() waits for it)."""
        self.owner = None
        try:
            self.conn.send(("quit",))
        except (OSError, ValueError):
            pass

    def quit(self, timeout: float = 2.0) -> None:
        """End the process (politely, then by force)."""
        self.ask_quit()
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout)
        try:
            self.conn.close()
        except OSError:
            pass

    @property
    def exitcode(self) -> int | None:
        return self.proc.exitcode


class WorkerPool:
    """Started worker processes waiting for a job. `take()` gives one (starting one if none waits)."""

    def __init__(self, spare: int = 1, context: str = "spawn"):
        self.spare = spare
        self._ctx = mp.get_context(context)
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        lifecycle.track(self, lifecycle.POOLS)

    def _new(self) -> Worker:
        w = Worker(self._ctx)
        with self._lock:
            self._all.append(w)
        return w

    def fill(self) -> None:
        """Start processes until `spare` are idle (they import torch in the background)."""
        with self._lock:
            missing = self.spare - len([w for w in self._idle if not w.dead])
        for _ in range(max(0, missing)):
            w = self._new()
            with self._lock:
                self._idle.append(w)

    def take(self, affinity=None, timeout: float = READY_TIMEOUT_S) -> Worker:
        """An idle, started worker (the one that last served `affinity` first: it still holds that run's text,
        then a ready one), and top the spares up in the background."""
        with self._lock:
            self._idle = [w for w in self._idle if not w.dead]
            self._idle.sort(key=lambda w: (w.last_key != affinity, not w.ready.is_set()))
            w = self._idle.pop(0) if self._idle else None
        if w is None:
            w = self._new()
        if self.spare:
            threading.Thread(target=self.fill, name="charviz-pool-fill", daemon=True).start()
        if not w.ready.wait(timeout) or w.dead:
            w.quit()
            raise WorkerDied("errors.worker_no_start")
        return w

    def give_back(self, w: Worker) -> None:
        """A worker whose job ended: keep it idle for the next Start, or end it when enough are idle."""
        w.owner = None
        with self._lock:
            keep = not w.dead and len(self._idle) < self.spare + 1
            if keep:
                self._idle.append(w)
        if not keep:
            w.quit()

    def workers(self) -> list[Worker]:
        with self._lock:
            self._all = [w for w in self._all if w.proc.is_alive()]
            return list(self._all)

    def close(self, timeout: float = 1.0) -> None:
        """End every worker process (each told to quit, killed after `timeout`) and wait for their readers."""
        with self._lock:
            ws, self._idle = list(self._all), []
        for w in ws:  # all at once: each takes a moment to end
            w.ask_quit()
        for w in ws:
            w.quit(timeout=timeout)
            w.reader.join(timeout)

    def shutdown(self, timeout: float) -> None:
        """charviz.lifecycle: close within about `timeout` seconds."""
        self.close(timeout=min(1.0, timeout / 2))


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()
_unavailable = ""  # why worker processes cannot be started here ("" : they can, or nobody tried yet)


def default_pool() -> WorkerPool:
    """This server's pool (spare count from CHARVIZ_SPARE_WORKERS), made on first use."""
    global _pool
    from charviz import serving

    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool(spare=serving.spare_workers())
        return _pool


def processes_available() -> bool:
    """Whether this server can train in worker processes: tops up the pool's spare worker (so the first Start
    does not wait for torch to import) and says False, once and for all, when a process cannot be made here
    (a platform without working multiprocessing, a sandbox that forbids it). The caller then trains in a
    thread (charviz.run.TrainingRun), which needs nothing of the kind."""
    global _unavailable
    if _unavailable:
        return False
    try:
        default_pool().fill()
    except (OSError, ImportError, NotImplementedError, RuntimeError, ValueError) as e:
        _unavailable = f"{type(e).__name__}: {e}"
        logging.getLogger(__name__).warning("training in threads: worker processes cannot start (%s)",
                                            _unavailable)
        return False
    return True


# ---------------------------------------------------------------------------------------------------------
# the run (server side)

_run_ids = itertools.count(1)


class ProcessRun(RunBase):
    """A training run whose steps happen in a worker process. Same interface as TrainingRun:
    start / resume / pause / stop / step_once / set_lr / set_clip / set_carry_hidden / restore_last_good /
    snapshot, and the attributes trainer, lock, history, val_history, last, error, state, running, alive,
    snapshots (rewind) and guard (divergence). The worker keeps both going while it trains (the same code as
    the thread run's) and sends their changes; between jobs this side holds them.
    """

    def __init__(self, trainer: Trainer, pool: WorkerPool | None = None, **kw):  # (and RunBase's arguments)
        self.lock = threading.RLock()  # guards this side's copies (never held while waiting for a worker)
        super().__init__(trainer, **kw)
        self.crashes = 0  # how many times a worker died under this run
        self._pool = pool
        self._id = next(_run_ids)
        self._ctl = threading.RLock()  # one control action at a time (start / pause / stop / step / restore)
        self._state = "idle"
        self._worker: Worker | None = None
        self._paused = threading.Condition(self.lock)
        self._seq = 0
        self._remote_step = trainer.steps  # step, chars seen and weights as last heard from the worker
        self._remote_chars = trainer.chars_seen
        self._remote_weights: dict | None = None
        self._remote_full: dict | None = None
        self._remote_config: dict | None = None
        self._frozen: tuple[tuple, CharRNN] | None = None
        self._cps = 0.0  # the worker's wall-clock training rate (its TrainingRun's), as last reported
        self._ending = False  # stop(): end the worker instead of giving it back to the pool
        self._ended: Worker | None = None
        lifecycle.track(self, lifecycle.RUNS)

    # -- state --------------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return "paused" if self._state == "pausing" else self._state

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def busy(self) -> bool:
        """Training, or paused but the model not back from the worker yet: the numbers may still move."""
        return self._state in ("running", "pausing")

    @property
    def alive(self) -> bool:
        w = self._worker
        return w is not None and not w.dead

    @property
    def worker_pid(self) -> int | None:
        w = self._worker
        return w.pid if w is not None else None

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            self._pool = default_pool()
        return self._pool

    # -- control ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start (or resume) training in a worker process. Returns once the worker has the model."""
        with self._ctl:
            self._start_locked()

    def _start_locked(self) -> None:
        if self._state == "pausing":
            self._pause_locked()  # the model must be back here before it goes out again
        if self._state == "stopped":
            raise RuntimeError("this run was stopped; make a new one")
        if self._state == "running":
            return
        tr = self.trainer
        w = self.pool.take(affinity=(self._id, id(tr)))
        w.last_key = (self._id, id(tr))
        with self.lock:
            job = {
                "run_id": self._id, "text_key": id(tr), "text": tr.text, "vocab": list(tr.vocab.itos),
                "state": trainer_state(tr), "eval_every_s": self.eval_every_s,
                "pause_on_nonfinite": self.pause_on_nonfinite,
                "evaluated": self._eval_step == tr.steps,
                "snap_steps": self.snapshots.steps, "snap_budget": self.snapshots.budget,
                "guard": guard_state(self.guard),
            }
            self.error = ""
            self._remote_step, self._remote_chars = tr.steps, tr.chars_seen
            self._remote_weights = self._remote_full = None
            self._remote_config = tr.config.to_dict()
            w.owner = self
            self._worker = w
            self._state = "running"
        try:
            w.send(("train", job))
        except WorkerDied:
            self._on_worker_died(w)

    resume = start

    @contextlib.contextmanager
    def held(self):
        """The up-to-date Trainer, not training while the block runs (a running run pauses for it, then goes on)."""
        with self._ctl:
            was_running = self.running
            self._pause_locked()
            try:
                with self.lock:
                    yield self.trainer
            finally:
                if was_running and not self.error:
                    self._start_locked()

    def pause(self, wait: bool = True) -> None:
        """Stop training after the step in progress. wait=True: return once the model is back here (the step
        count no longer moves); wait=False: return at once (`busy` stays True until the model is back)."""
        with self._ctl:
            self._pause_locked(wait)

    def shutdown(self, timeout: float) -> None:
        """charviz.lifecycle: stop, if a worker still trains or holds this run, within about `timeout` seconds."""
        if self._worker is not None or self._ended is not None:
            self.stop(timeout, reply_timeout=timeout)

    def _pause_locked(self, wait: bool = True, reply_timeout: float = REPLY_TIMEOUT_S) -> None:
        w = self._worker
        if self._state not in ("running", "pausing") or w is None:
            return
        if self._state == "running":
            self._seq += 1
            with self.lock:
                self._state = "pausing"
            try:
                w.send(("pause", self._seq))
            except WorkerDied:
                pass  # the reader thread reports the death; wait for it below
        if not wait:
            return
        if not self.wait_settled(reply_timeout) and self._state == "pausing":
            w.proc.kill()  # no answer: the worker hangs; end it and keep what we have
            self.wait_settled(5.0)

    def wait_settled(self, timeout: float) -> bool:
        """After pause(wait=False): wait at most `timeout` seconds for the model to be back here. -> not busy"""
        deadline = time.monotonic() + timeout
        with self._paused:
            while self._state == "pausing" and time.monotonic() < deadline:
                self._paused.wait(max(0.0, deadline - time.monotonic()))
        return not self.busy

    def stop(self, timeout: float = 5.0, reply_timeout: float = REPLY_TIMEOUT_S) -> None:
        """Pause (bringing the model back; a worker that does not answer within `reply_timeout` is killed), then
        end the worker process. The run cannot start again."""
        with self._ctl:
            self._ending = True
            self._pause_locked(reply_timeout=reply_timeout)
            w, self._worker = self._worker or self._ended, None
            self._ended = None
            self._state = "stopped"
        if w is not None:
            w.quit(timeout)

    def step_once(self, wait: bool = True) -> StepStats:
        """One update now, here (pauses a running run first, so the model is here: that waits for the worker's
        step in progress, a few ms to tens of ms, whatever `wait` says)."""
        with self._ctl:
            self._pause_locked()
            with self.lock:
                stats = self.trainer.step()
                self._after_step(stats, 0.0)  # (one step alone: its own rate)
                self._maybe_evaluate(force=True)
        return stats

    def restore_last_good(self) -> GoodState | None:
        with self._ctl:  # (no Start between the pause and the restore)
            return super().restore_last_good()

    def _set(self, name: str, value) -> None:
        with self.lock:
            getattr(self.trainer, "set_" + name)(value)  # checks the value; the worker applies it too
            w = self._worker if self._state in ("running", "pausing") else None
        if w is not None:
            try:
                w.send(("set", name, value))
            except WorkerDied:
                pass

    def set_lr(self, lr: float) -> None:
        self._set("lr", lr)

    def set_clip(self, clip: float | None) -> None:
        self._set("clip", clip)

    def set_carry_hidden(self, carry: bool) -> None:
        self._set("carry_hidden", carry)

    # -- messages from the worker (its reader thread) --------------------------------------------------------

    def _on_message(self, w: Worker, msg: dict) -> None:
        with self.lock:
            if w is not self._worker:
                return
            for row in msg["rows"]:
                self.history.add(row)
            for row in msg["val_rows"]:
                self.val_history.add(row)
                self._eval_step = row["step"]
            if msg["last"] is not None:
                self.last = stats_from_dict(msg["last"])
            self._cps = msg["cps"]
            self._remote_step, self._remote_chars = msg["step"], msg["chars_seen"]
            self._remote_config = msg["config"]
            if msg["weights"] is not None:
                self._remote_weights = msg["weights"]
            if msg["snaps"] is not None:
                new, kept = msg["snaps"]
                self.snapshots.apply(kept, [(step, from_plain(w)) for step, w in new])
            load_guard_state(self.guard, msg["guard"])
            if msg["full"] is not None:
                self._remote_full = msg["full"]
            if msg["kind"] != "paused":
                return
            load_trainer_state(self.trainer, msg["full"])
            self.error = msg["error"]
            self._worker = None
            self._state = "paused"
            self._paused.notify_all()
            if self._ending:
                self._ended = w  # stop() ends it
                return
        self.pool.give_back(w)

    def _on_worker_died(self, w: Worker) -> None:
        """The worker process ended under a running run: keep the last state heard from it, pause, say so."""
        w.proc.join(1.0)
        code = w.exitcode
        with self.lock:
            if w is not self._worker:
                return
            tr = self.trainer
            if self._remote_full is not None:
                load_trainer_state(tr, self._remote_full)
            if self._remote_weights is not None:  # the newest weights (may be newer than the full state)
                tr.model.load_state_dict(from_plain(self._remote_weights))
                tr.steps, tr.chars_seen = self._remote_step, self._remote_chars
            self.crashes += 1
            how = (Msg("errors.exit_none") if code is None else Msg("errors.exit_code", code=code) if code >= 0
                   else Msg("errors.exit_signal", signal=-code))
            self.error = Msg("errors.worker_died", how=how, step=f"{tr.steps:,}")
            self._worker = None
            self._state = "paused"
            self._paused.notify_all()

    # -- reading ----------------------------------------------------------------------------------------------

    def drop_copies(self) -> None:
        """Forget the frozen model (remade on the next snapshot()): a released run keeps only what cannot be
        remade (as TrainingRun.drop_copies)."""
        with self.lock:
            self._frozen = None

    def snapshot(self, wait: bool = False) -> Snapshot:
        """Copies of metrics and a frozen model (remade only when the step changed). Never waits for training."""
        with self.lock:
            tr = self.trainer
            remote = self._state in ("running", "pausing")
            remote_cfg = remote and self._remote_config is not None
            config = TrainConfig.from_dict(self._remote_config) if remote_cfg else replace(tr.config)
            if remote and self._remote_weights is not None:
                key = ("worker", self._remote_step)
            else:  # here, or the state a worker started from (it has sent no weights yet)
                key = ("here", tr.steps)
            if self._frozen is None or self._frozen[0] != key:
                if key[0] == "worker":
                    self._frozen = (key, model_from_weights(len(tr.vocab), config, self._remote_weights))
                else:
                    self._frozen = (key, tr.frozen_model())
            model, step = self._frozen[1], key[1]  # the numbers shown belong to the model shown
            seen = self._remote_chars if key[0] == "worker" else tr.chars_seen
            hist, val, last = self.history.copy(), self.val_history.copy(), self.last
            state, error = self.state, self.error
            guard = self._guard_fields()
        val_bits = val[-1]["val_bits"] if val else None
        return Snapshot(
            state=state,
            step=step,
            chars_seen=seen,
            history=hist,
            val_history=val,
            last=last,
            model=model,
            vocab=tr.vocab,
            config=config,
            error=error,
            chars_per_sec=self._cps if state == "running" else 0.0,
            val_bits=val_bits,
            **guard,
        )


@contextlib.contextmanager
def held_trainer(run):
    """A run's Trainer, up to date and unchanged while the block runs (either kind of run)."""
    if isinstance(run, ProcessRun):
        with run.held() as tr:
            yield tr
    else:
        with run.lock:
            yield run.trainer
