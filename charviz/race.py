"""The race: a vanilla RNN, an LSTM and a GRU trained side by side on the long-range memory task.

Same text, hidden size, window, batch, optimizer, learning rate, clipping and seed; only the cell differs.

Fair stepping: one background thread steps the three models round-robin, one update each per round, and
holds the race's lock for the whole round. It checks the pause flag only between rounds, so whenever the race
is paused (or read) every model has taken exactly the same number of steps. The three share one thread, so
together they train as fast as the same three trained one after another (no thread contention between them),
and the session never trains more than one thing at once.

Every EVAL_EVERY_S the thread also measures each model on the held-out lines (the loop pays for it, at most
~10% of its time): validation bits/char, the accuracy of the recall step against chance (1 / number of keys),
and ||dL_T/dh_t|| for one probe line (the loss at the recall step, backpropagated to every earlier step). The
UI reads `snapshot()`: plain copies published at the end of a round, so reading never waits for training.

`Sweep` trains fresh races for a fixed number of rounds at several distances k and records the final recall
of each cell against k.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from charviz import limits
from charviz.config import TrainConfig
from charviz.data import LONG_RANGE_KEYS, long_range_text
from charviz.errors import KeyedError, Msg, reason
from charviz.i18n import t
from charviz.inspect import gradient_flow, long_range_recall
from charviz.run import ThreadState
from charviz.train import Trainer
from charviz.units import to_bits

CELLS = ("rnn", "lstm", "gru")
CHANCE = 1.0 / len(LONG_RANGE_KEYS)  # argmax accuracy of a model that forgot the key (it picks one key)
RECALLS = 0.6  # accuracy at or above this: "recalls the key" (chance is 0.25)
NEAR_CHANCE = 0.4  # below this: "near chance"
EVAL_EVERY_S = 1.0
EVAL_LINES = 100  # held-out lines scored for recall
EVAL_CHARS = 4000  # held-out characters scored for the validation loss


@dataclass
class RaceSettings:
    """What the three models share. The defaults are the README's measured race (k = 30, window 64)."""

    k: int = 30  # filler characters between the key and its recall
    seq_len: int = 64  # truncation window
    hidden_size: int = 64
    batch_size: int = 32
    lr: float = 1e-2
    optimizer: str = "adam"
    clip: float | None = 1.0
    seed: int = 0
    lines: int = 4000  # lines of the generated task text

    def config(self, cell: str) -> TrainConfig:
        return TrainConfig(cell=cell, hidden_size=self.hidden_size, seq_len=self.seq_len,
                           batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer, clip=self.clip,
                           seed=self.seed)

    def text(self) -> str:
        return long_range_text(self.k, self.lines, seed=self.seed)


@functools.lru_cache(maxsize=32)
def _text_shape(k: int, lines: int, seed: int) -> tuple[int, int]:
    text = long_range_text(k, lines, seed=seed)
    return len(text), len(set(text))


def check_budget(settings: RaceSettings, budget: limits.Budget | None = None) -> limits.Estimate:
    """The race's three models together (memory adds up; a round is one step of each) against the session's
    budget (charviz.limits): the estimate, or BudgetError with it. Nothing is built."""
    chars, vocab = _text_shape(settings.k, settings.lines, settings.seed)
    est = limits.combine([limits.estimate(settings.config(c), vocab, chars, snapshots=False) for c in CELLS])
    over = limits.over_budget(est, budget or limits.Budget.from_env())
    if over:
        raise limits.BudgetError("errors.race_over_budget", hidden=settings.hidden_size, window=settings.seq_len,
                                 batch=settings.batch_size, k=settings.k, over=over)
    return est


@dataclass
class RaceSnapshot:
    """What the UI draws: per cell, the metric rows recorded so far (copies)."""

    state: str  # idle | running | paused | stopped
    steps: int  # completed rounds: every model has taken exactly this many steps
    settings: RaceSettings
    vocab_size: int
    history: dict[str, list[dict]]  # cell -> [{"step", "bits"}] train loss per step (decimated)
    evals: dict[str, list[dict]]  # cell -> [{"step", "val_bits", "recall", "recall_bits"}]
    probe: dict[str, np.ndarray]  # cell -> ||dL_T/dh_t|| for t = 0..T-1 on the probe line (latest eval)
    probe_text: str
    chars_per_sec: float  # the three models together
    error: Msg | str = ""  # why it stopped by itself (a Msg: rendered in the reader's language)
    seconds: float = 0.0  # time spent training and measuring so far (wall time, excluding pauses)

    def latest_recall(self) -> dict[str, float]:
        return {c: rows[-1]["recall"] for c, rows in self.evals.items() if rows}


def recall_accuracy(probs: np.ndarray, targets: np.ndarray) -> float:
    """Fraction of recall positions whose most likely character is the key.  probs (N, V), targets (N,)."""
    if len(targets) == 0:
        raise ValueError("no recall positions")
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(targets)))


def verdict(recall: dict[str, float], chance: float = CHANCE) -> str:
    """One line computed from the latest recall accuracies: who recalls the key, who stays near chance."""
    if not recall:
        return t("race.verdict_none")
    pct = {c: f"{100 * a:.0f}%" for c, a in recall.items()}
    up = [c for c in CELLS if c in recall and recall[c] >= RECALLS]
    down = [c for c in CELLS if c in recall and recall[c] < NEAR_CHANCE]
    mid = [c for c in CELLS if c in recall and c not in up and c not in down]

    def names(cells):
        return ", ".join(f"{c.upper()} {pct[c]}" for c in cells)

    parts = []
    if up:
        parts.append(t("race.verdict_up", who=names(up)))
    if mid:
        parts.append(t("race.verdict_mid", who=names(mid)))
    if down:
        parts.append(t("race.verdict_down", who=names(down)))
    return t("race.verdict", parts="; ".join(parts), chance=f"{100 * chance:.0f}%")


class _Background(ThreadState):
    """A daemon thread that calls `_unit()` while running; start / pause / resume / stop like TrainingRun.

    `pause()` returns when the unit in progress is done; no unit starts until the next start(): the loop
    re-checks the run flag under the lock before every unit.
    """

    KIND = "race"

    def __init__(self):
        self._init_thread()
        self._seconds = 0.0

    def pause(self, wait: bool = True) -> None:
        """Stop after the round in progress. wait=True returns once it is done (then every model has taken the
        same number of steps); wait=False returns at once (the UI: a click never waits for a round; what it
        reads, snapshot(), is published only between rounds)."""
        super().pause(wait)

    def revive(self) -> None:
        """After stop() (the tab's connection was lost): a fresh, paused thread may be started again."""
        if self._stop.is_set() and not (self._thread is not None and self._thread.is_alive()):
            self._stop.clear()
            self._run.clear()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._run.is_set():
                self._run.wait(timeout=0.2)
                continue
            try:
                with self.lock:
                    if self._stop.is_set() or not self._run.is_set():
                        continue
                    done = self._unit()
                if done:
                    self._run.clear()
            except Exception as e:  # a failing step must not kill the thread silently
                self.error = reason(e)  # (race.error says "the race stopped: ...")
                self._run.clear()
            time.sleep(0)  # let the UI's threads take the GIL between rounds

    def _unit(self) -> bool:  # one unit of work; True when there is nothing left to do
        raise NotImplementedError


class Race(_Background):
    """Three Trainers (rnn, lstm, gru) stepped round-robin by one background thread (see the module doc)."""

    def __init__(self, settings: RaceSettings | None = None, history_capacity: int = 2000,
                 budget: limits.Budget | None = None):
        super().__init__()
        self.settings = s = replace(settings or RaceSettings())
        check_budget(s, budget)  # BudgetError: nothing built
        self.text = s.text()
        self.trainers = {c: Trainer(self.text, s.config(c)) for c in CELLS}
        first = self.trainers[CELLS[0]]
        self.vocab = first.vocab
        self.val_text = first.val_text or self.text
        lines = [ln for ln in self.val_text.split("\n") if len(ln) >= 3 and ln[-2] == ":"]
        self.probe_text = lines[0].lstrip(".") if lines else ""  # KEY fillers : KEY
        self.steps = 0
        self.chars = 0
        self._capacity = history_capacity
        self._history = {c: [] for c in CELLS}
        self._stride = 1
        self._evals = {c: [] for c in CELLS}
        self._probe = {c: np.zeros(0, dtype=np.float32) for c in CELLS}
        self._last_eval = -math.inf
        self._eval_cost = 0.0
        self._pub_lock = threading.Lock()
        self._published: RaceSnapshot | None = None
        self._evaluate()
        self._publish()

    # -- stepping -------------------------------------------------------------------------------------------

    def _unit(self) -> bool:
        self._round()
        now = time.monotonic()
        if now - self._last_eval >= max(EVAL_EVERY_S, 9 * self._eval_cost):
            self._evaluate()
        self._publish()
        return False

    def _round(self) -> None:
        """One update of every model, in a fixed order."""
        t0 = time.perf_counter()
        record = self.steps % self._stride == 0
        for c in CELLS:
            tr = self.trainers[c]
            st = tr.step()
            self.chars += tr.batches.batch_size * tr.batches.seq_len
            if record:
                self._history[c].append({"step": self.steps + 1, "bits": st.bits if st.applied else float("nan")})
        self.steps += 1
        self._seconds += time.perf_counter() - t0
        if len(self._history[CELLS[0]]) >= self._capacity:  # keep the whole run's shape in bounded memory
            for c in CELLS:
                self._history[c] = self._history[c][::2]
            self._stride *= 2

    def step_once(self) -> None:
        """One round now, in the caller's thread (pauses a running race first)."""
        self.pause()
        with self.lock:
            self._round()
            self._evaluate()
            self._publish()

    def run_rounds(self, n: int) -> None:
        """n rounds in the caller's thread, evaluated at the end (headless use, tests, the sweep)."""
        with self.lock:
            for _ in range(n):
                self._round()
            self._evaluate()
            self._publish()

    # -- measuring ------------------------------------------------------------------------------------------

    def _evaluate(self) -> None:
        t0 = time.perf_counter()
        for c in CELLS:
            tr = self.trainers[c]
            model = tr.model
            was = model.training
            model.eval()
            try:
                val = to_bits(tr.evaluate(max_chars=EVAL_CHARS))
                r = long_range_recall(model, self.vocab, self.val_text, max_lines=EVAL_LINES)
                probe = (gradient_flow(model, self.vocab, self.probe_text).grad_norm_last
                         if len(self.probe_text) >= 2 else np.zeros(0))
            finally:
                model.train(was)
            self._evals[c].append({"step": self.steps, "val_bits": val, "recall": r.accuracy,
                                   "recall_bits": r.bits})
            self._probe[c] = np.asarray(probe, dtype=np.float32)
        self._eval_cost = time.perf_counter() - t0
        self._seconds += self._eval_cost
        self._last_eval = time.monotonic()

    def _publish(self) -> None:
        s = self.settings
        chars_per_sec = self.chars / self._seconds if self._seconds > 0 else 0.0
        snap = RaceSnapshot(
            state="", steps=self.steps, settings=replace(s), vocab_size=len(self.vocab),
            history={c: list(v) for c, v in self._history.items()},
            evals={c: list(v) for c, v in self._evals.items()},
            probe=dict(self._probe), probe_text=self.probe_text, chars_per_sec=chars_per_sec,
            seconds=self._seconds,
        )
        with self._pub_lock:
            self._published = snap

    def snapshot(self) -> RaceSnapshot:
        """The latest published copy (end of the last round): never waits for training."""
        with self._pub_lock:
            snap = self._published
        return replace(snap, state=self.state, error=self.error)

    @property
    def step_counts(self) -> dict[str, int]:
        """Each model's own step count (equal between rounds; a refused update does not count)."""
        return {c: tr.steps for c, tr in self.trainers.items()}


@dataclass
class SweepSnapshot:
    state: str
    ks: list[int]
    budget: int  # rounds per distance
    done: dict[int, dict[str, float]]  # k -> cell -> final recall accuracy
    current_k: int | None
    current_steps: int
    error: Msg | str = ""  # why it stopped by itself (a Msg: rendered in the reader's language)


class Sweep(_Background):
    """Fresh races at several distances k, each trained for `budget` rounds; recall against k."""

    def __init__(self, settings: RaceSettings, ks: list[int], budget: int, chunk: int = 5):
        super().__init__()
        if not ks:
            raise KeyedError("errors.sweep_no_k")
        if budget < 1:
            raise KeyedError("errors.sweep_budget")
        self.settings = replace(settings)
        self.ks = sorted(set(int(k) for k in ks))
        check_budget(replace(settings, k=self.ks[-1]))  # the longest text: BudgetError before anything trains
        self.budget = budget
        self.chunk = chunk
        self.done: dict[int, dict[str, float]] = {}
        self._race: Race | None = None
        self._i = 0

    def _unit(self) -> bool:
        if self._i >= len(self.ks):
            return True
        if self._race is None:
            self._race = Race(replace(self.settings, k=self.ks[self._i]), history_capacity=64)
        race = self._race
        n = min(self.chunk, self.budget - race.steps)
        with race.lock:
            for _ in range(n):
                race._round()
        if race.steps >= self.budget:
            race.run_rounds(0)  # evaluate at the end of the budget
            self.done[self.ks[self._i]] = race.snapshot().latest_recall()
            self._race, self._i = None, self._i + 1
        return self._i >= len(self.ks)

    def snapshot(self) -> SweepSnapshot:
        """A copy of the results so far (never waits for training)."""
        race = self._race
        return SweepSnapshot(self.state, list(self.ks), self.budget, dict(self.done),
                             race.settings.k if race is not None else None,
                             race.steps if race is not None else 0, self.error)
