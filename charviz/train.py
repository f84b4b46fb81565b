"""Training: a steppable Trainer (one truncated-BPTT update per call) and a background TrainingRun."""

from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from charviz.config import CELLS, OPTIMIZERS, TrainConfig  # noqa: F401 (re-exported: the library's names)
from charviz.data import BatchStream, Vocab, check_text, split_text
from charviz.inspect import generate
from charviz.model import CharRNN

LN2 = math.log(2.0)


@dataclass
class StepStats:
    """What one call of Trainer.step() did."""

    step: int  # number of updates applied so far (after this one)
    loss: float  # mean train cross-entropy of this window, nats per char
    bits: float  # the same in bits per char
    grad_norm: float  # global gradient norm before clipping
    grad_norm_clipped: float  # after clipping (equal to grad_norm when clipping did not fire)
    clipped: bool  # whether clipping fired
    chars_per_sec: float  # characters processed per second in this step
    applied: bool = True  # False when the update was refused (non-finite loss, gradient or weights)
    reason: str = ""  # why it was refused
    lr: float = 0.0
    reset_hidden: bool = False  # the hidden state was reset before this window

    @property
    def finite(self) -> bool:
        return self.applied


def _make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adagrad(params, lr=lr)


def warm_up() -> None:
    """Do once, in advance, what torch does on the first optimizer of a process (it imports torch._dynamo:
    about 1.5 s), so that a Trainer's first step does not wait for it. Safe in a background thread."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1e-3)
    p.sum().backward()
    opt.step()


class Trainer:
    """Owns a CharRNN, its optimizer and the batch stream. `step()` performs one truncated-BPTT update."""

    def __init__(self, text: str, config: TrainConfig | None = None, vocab: Vocab | None = None):
        self.config = config = copy.copy(config or TrainConfig())
        check_text(text)
        self.text = text
        self.vocab = vocab or Vocab.from_text(text)
        self.train_text, self.val_text = split_text(text, config.val_fraction)
        train_ids = torch.tensor(self.vocab.encode(self.train_text), dtype=torch.long)  # (N,)
        self.val_ids = torch.tensor(self.vocab.encode(self.val_text), dtype=torch.long)  # (N_val,)
        torch.manual_seed(config.seed)
        self.model = CharRNN(len(self.vocab), config.hidden_size, config.cell)
        self._optimizer: torch.optim.Optimizer | None = None  # made on first use (see `optimizer`)
        self.batches = BatchStream(train_ids, config.batch_size, config.seq_len)
        self.h = None  # hidden state carried across windows
        self.steps = 0
        self.chars_seen = 0

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The optimizer, made on first use: torch's first optimizer imports torch._dynamo (about 1.5 s), which
        a new Trainer should not cost the app's first page. `warm_up()` can do that import in advance."""
        if self._optimizer is None:
            self._optimizer = _make_optimizer(self.config.optimizer, self.model.parameters(), self.config.lr)
        return self._optimizer

    # -- live settings ------------------------------------------------------------------------------------

    def set_lr(self, lr: float) -> None:
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError("the learning rate must be a positive number")
        self.config.lr = lr
        if self._optimizer is not None:  # else the optimizer is made with config.lr
            for group in self._optimizer.param_groups:
                group["lr"] = lr

    def set_clip(self, clip: float | None) -> None:
        if clip is not None and not clip > 0:
            raise ValueError("clip must be a positive number or None")
        self.config.clip = clip

    def set_carry_hidden(self, carry: bool) -> None:
        """True: carry the hidden state across windows (truncated BPTT); False: start every window from zero."""
        self.config.carry_hidden = bool(carry)
        if not carry:
            self.h = None

    # -- one update ---------------------------------------------------------------------------------------

    def step(self) -> StepStats:
        """One truncated-BPTT update on the next window of every stream.

        A step whose loss or gradient is not finite, or whose update would make a weight non-finite, changes
        nothing (weights, optimizer state and carried hidden state stay as they were) and says so.
        """
        t0 = time.perf_counter()
        cfg = self.config
        x, y, reset = self.batches.next()  # (B, T), (B, T)
        reset_hidden = reset or not cfg.carry_hidden or self.h is None
        if reset_hidden:
            self.h = None
        self.model.train()
        logits, loss, h_last = self.model(x, y, self.h)  # (B, T, V)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        max_norm = cfg.clip if cfg.clip is not None else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        loss_v = float(loss.detach())
        applied, reason = True, ""
        if not math.isfinite(loss_v):
            applied, reason = False, "the loss is not finite"
        elif not math.isfinite(grad_norm):
            applied, reason = False, "the gradient is not finite (it exploded)"
        else:
            backup = _flat(params)  # one copy of every weight (one op, not one per tensor)
            opt_backup = copy.deepcopy(self.optimizer.state_dict()) if cfg.lr > 1.0 else None  # rare, costly
            try:
                self.optimizer.step()
                overflowed = not _all_finite(params)
            except RuntimeError:  # e.g. Adam with an lr beyond float range: "cannot be converted ... overflow"
                overflowed = True
            if overflowed:
                # the update itself overflowed: put the weights (and optimizer state) back
                with torch.no_grad():
                    for p, b in zip(params, backup.split([p.numel() for p in params]), strict=True):
                        p.copy_(b.view_as(p))
                if opt_backup is not None:
                    self.optimizer.load_state_dict(opt_backup)
                applied, reason = False, "the update made a weight non-finite (the step was too large)"
        self.optimizer.zero_grad(set_to_none=True)
        if applied:
            self.h = _detach(h_last)  # carry the state forward, cut the gradient at the window edge
            self.steps += 1
        n_chars = x.numel()
        self.chars_seen += n_chars
        clipped = applied and cfg.clip is not None and grad_norm > cfg.clip
        dt = max(time.perf_counter() - t0, 1e-9)
        return StepStats(
            step=self.steps,
            loss=loss_v,
            bits=loss_v / LN2,
            grad_norm=grad_norm,
            grad_norm_clipped=min(grad_norm, cfg.clip) if clipped else grad_norm,
            clipped=clipped,
            chars_per_sec=n_chars / dt,
            applied=applied,
            reason=reason,
            lr=cfg.lr,
            reset_hidden=reset_hidden,
        )

    # -- evaluation and sampling --------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, max_chars: int = 20_000) -> float:
        """Mean cross-entropy (nats/char) on the held-out text, carrying the state through it.

        Falls back to the training text when the text is too short to hold anything out.
        """
        ids = self.val_ids if self.val_ids.numel() >= 2 else torch.tensor(self.vocab.encode(self.train_text))
        ids = ids[: max_chars + 1]
        n_streams = max(1, min(16, (ids.numel() - 1) // 64))
        L = (ids.numel() - 1) // n_streams
        x = ids[: n_streams * L].view(n_streams, L)  # (S, L)
        y = ids[1 : n_streams * L + 1].view(n_streams, L)  # (S, L)
        was_training = self.model.training
        self.model.eval()
        logits, _, _ = self.model(x)  # (S, L, V)
        self.model.train(was_training)
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)))

    def sample(self, prefix: str = "", n: int = 200, temperature: float = 1.0, seed: int | None = None) -> str:
        """Continue `prefix` by n characters (temperature 0 = argmax)."""
        return "".join(c for c, _ in generate(self.model, self.vocab, prefix, n, temperature, seed))

    def frozen_model(self) -> CharRNN:
        """A copy of the current model for inference, detached from training."""
        m = CharRNN(len(self.vocab), self.config.hidden_size, self.config.cell)
        m.load_state_dict(self.model.state_dict())
        m.eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """All elements of `tensors` in one new 1-D tensor (a copy)."""
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    """True when no element is nan or +-inf. One pass: min and max are nan when any element is nan."""
    lo, hi = torch.aminmax(_flat(tensors))
    return math.isfinite(float(lo)) and math.isfinite(float(hi))


def _detach(h):
    if isinstance(h, tuple):
        return tuple(t.detach() for t in h)
    return h.detach()


# ---------------------------------------------------------------------------------------------------------
# bounded metric history


class History:
    """Bounded record of step metrics that keeps the whole run's shape.

    Holds at most `capacity` rows: when full it drops every other row and from then on records only every
    `stride`-th step, doubling the stride each time. Memory stays constant over hours of training.
    """

    def __init__(self, capacity: int = 4000):
        self.capacity = max(4, capacity)
        self.stride = 1
        self.rows: list[dict] = []
        self._count = 0

    def add(self, row: dict) -> None:
        self._count += 1
        if (self._count - 1) % self.stride:
            return
        self.rows.append(row)
        if len(self.rows) >= self.capacity:
            self.rows = self.rows[::2]
            self.stride *= 2

    def __len__(self) -> int:
        return len(self.rows)

    def copy(self) -> list[dict]:
        return list(self.rows)


# ---------------------------------------------------------------------------------------------------------
# background training


@dataclass
class Snapshot:
    """A consistent copy of a TrainingRun's state for the UI (never aliased with the live model)."""

    state: str  # idle | running | paused | stopped
    step: int
    chars_seen: int
    history: list[dict]  # step metrics (see TrainingRun._record), oldest first, possibly decimated
    val_history: list[dict]  # {"step", "val_loss", "val_bits"}
    last: StepStats | None
    model: CharRNN  # frozen copy, safe to use from any thread
    vocab: Vocab
    config: TrainConfig
    message: str  # what is happening, in words
    error: str = ""  # why training stopped by itself, if it did
    chars_per_sec: float = 0.0  # smoothed training throughput
    val_bits: float | None = None
    extra: dict = field(default_factory=dict)


class TrainingRun:
    """Runs Trainer.step() in a daemon thread with start / pause / resume / step_once / stop.

    All access to the trainer goes through `self.lock`. The UI reads `snapshot()`, which copies. A step that
    refuses its update (non-finite loss or gradient) pauses the run and records why.
    """

    def __init__(
        self,
        trainer: Trainer,
        history_capacity: int = 4000,
        eval_every_s: float = 2.0,
        pause_on_nonfinite: bool = True,
    ):
        self.trainer = trainer
        self.lock = threading.RLock()
        self.history = History(history_capacity)
        self.val_history = History(history_capacity // 4)
        self.eval_every_s = eval_every_s
        self.pause_on_nonfinite = pause_on_nonfinite
        self.last: StepStats | None = None
        self.error = ""
        self._run = threading.Event()  # set while training should proceed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_eval = 0.0
        self._eval_step = -1
        self._eval_cost = 0.0  # seconds the last evaluation took
        self._frozen: tuple[int, CharRNN] | None = None
        self._cps = 0.0

    # -- control -------------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        if self._stop.is_set():
            return "stopped"
        if self._thread is None:
            return "idle"
        return "running" if self._run.is_set() else "paused"

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self) -> None:
        """Start (or resume) training in the background."""
        if self._stop.is_set():
            raise RuntimeError("this run was stopped; make a new one")
        self.error = ""
        self._run.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="charviz-train", daemon=True)
            self._thread.start()

    resume = start

    def pause(self) -> None:
        self._run.clear()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (it finishes at most the step it is in)."""
        self._stop.set()
        self._run.set()  # wake it so it sees the stop
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._run.clear()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step_once(self) -> StepStats:
        """One update now, in the caller's thread (pauses a running run first)."""
        self.pause()
        with self.lock:
            stats = self._step_locked()
            self._maybe_evaluate(force=True)
        return stats

    def set_lr(self, lr: float) -> None:
        with self.lock:
            self.trainer.set_lr(lr)

    def set_clip(self, clip: float | None) -> None:
        with self.lock:
            self.trainer.set_clip(clip)

    def set_carry_hidden(self, carry: bool) -> None:
        with self.lock:
            self.trainer.set_carry_hidden(carry)

    # -- the loop --------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._run.wait(timeout=0.2):
                continue
            if self._stop.is_set():
                break
            try:
                with self.lock:
                    self._step_locked()
                    self._maybe_evaluate()
            except Exception as e:  # a failing step must not kill the thread silently
                self.error = f"training stopped: {type(e).__name__}: {e}"
                self._run.clear()
            time.sleep(0)  # let other threads (the UI) take the GIL between steps

    def _step_locked(self) -> StepStats:
        stats = self.trainer.step()
        self.last = stats
        self._cps = stats.chars_per_sec if self._cps == 0 else 0.9 * self._cps + 0.1 * stats.chars_per_sec
        self.history.add(self._record(stats))
        if not stats.applied and self.pause_on_nonfinite:
            self.error = f"step refused: {stats.reason}"
            self._run.clear()
        return stats

    @staticmethod
    def _record(s: StepStats) -> dict:
        return {
            "step": s.step,
            "loss": s.loss,
            "bits": s.bits,
            "grad_norm": s.grad_norm,
            "grad_norm_clipped": s.grad_norm_clipped,
            "clipped": s.clipped,
            "chars_per_sec": s.chars_per_sec,
            "applied": s.applied,
            "lr": s.lr,
        }

    def _maybe_evaluate(self, force: bool = False) -> None:
        now = time.monotonic()
        t = self.trainer
        if t.steps == self._eval_step:
            return
        # evaluate every eval_every_s, but never spend more than ~5% of the time on it (large held-out texts)
        if force or now - self._last_eval >= max(self.eval_every_s, 19 * self._eval_cost):
            t0 = time.perf_counter()
            v = t.evaluate()
            self._eval_cost = time.perf_counter() - t0
            self._last_eval, self._eval_step = now, t.steps
            self.val_history.add({"step": t.steps, "val_loss": v, "val_bits": v / LN2})

    # -- reading -------------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Copies of metrics and a frozen model (re-copied only when the step changed)."""
        with self.lock:
            t = self.trainer
            if self._frozen is None or self._frozen[0] != t.steps:
                self._frozen = (t.steps, t.frozen_model())
            hist, val = self.history.copy(), self.val_history.copy()
            last, step, seen = self.last, t.steps, t.chars_seen
            config = replace(t.config)
        val_bits = val[-1]["val_bits"] if val else None
        return Snapshot(
            state=self.state,
            step=step,
            chars_seen=seen,
            history=hist,
            val_history=val,
            last=last,
            model=self._frozen[1],
            vocab=t.vocab,
            config=config,
            message=self._describe(step, last, val_bits),
            error=self.error,
            chars_per_sec=self._cps if self.state == "running" else 0.0,
            val_bits=val_bits,
        )

    def _describe(self, step: int, last: StepStats | None, val_bits: float | None) -> str:
        state = self.state
        if self.error:
            return f"step {step:,} · paused: {self.error}"
        if last is None:
            return "not started yet · press Start"
        words = {"running": "training", "paused": "paused", "idle": "ready", "stopped": "stopped"}[state]
        parts = [f"step {step:,}", f"{last.bits:.2f} bits/char (train)"]
        if val_bits is not None:
            parts.append(f"{val_bits:.2f} (validation)")
        parts.append(words)
        return " · ".join(parts)
