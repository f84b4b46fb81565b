"""Training: a steppable Trainer (one truncated-BPTT update per call). The background TrainingRun, its History
and Snapshot live in charviz.run (still importable from here)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from charviz import limits
from charviz.config import CELLS, OPTIMIZERS, TrainConfig, check_clip, check_lr  # noqa: F401 (re-exported)
from charviz.data import BatchStream, Vocab, check_text, split_text
from charviz.i18n import t
from charviz.limits import Budget
from charviz.model import CharRNN
from charviz.units import to_bits


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
    reason: str = ""  # why it was refused (English; `refusal` is its catalogue key)
    refusal: str = ""  # errors.refused_*: the same reason, for the reader's language (charviz.errors)
    lr: float = 0.0
    reset_hidden: bool = False  # the hidden state was reset before this window


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

    def __init__(self, text: str, config: TrainConfig | None = None, vocab: Vocab | None = None,
                 budget: Budget | None = None):
        """`budget`: refuse (BudgetError, nothing allocated) a config whose estimated memory or step time
        exceeds it (charviz.limits); None: no limit (a notebook's own choice)."""
        self.config = config = copy.copy(config or TrainConfig())
        check_text(text)
        self.text = text
        self.vocab = vocab or Vocab.from_text(text)
        if budget is not None:
            limits.check(config, len(self.vocab), len(text), budget)
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
        self.config.lr = check_lr(lr)
        if self._optimizer is not None:  # else the optimizer is made with config.lr
            for group in self._optimizer.param_groups:
                group["lr"] = lr

    def set_clip(self, clip: float | None) -> None:
        self.config.clip = check_clip(clip)

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
        applied, refusal = True, ""
        if not math.isfinite(loss_v):
            applied, refusal = False, "errors.refused_loss"
        elif not math.isfinite(grad_norm):
            applied, refusal = False, "errors.refused_grad"
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
                applied, refusal = False, "errors.refused_weight"
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
            bits=to_bits(loss_v),
            grad_norm=grad_norm,
            grad_norm_clipped=min(grad_norm, cfg.clip) if clipped else grad_norm,
            clipped=clipped,
            chars_per_sec=n_chars / dt,
            applied=applied,
            reason=t(refusal, lang="en") if refusal else "",
            refusal=refusal,
            lr=cfg.lr,
            reset_hidden=reset_hidden,
        )

    # -- evaluation ---------------------------------------------------------------------------------------

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


def __getattr__(name: str):
    """TrainingRun, History and Snapshot moved to charviz.run; `from charviz.train import TrainingRun` still works."""
    if name in ("TrainingRun", "History", "Snapshot"):
        from charviz import run

        return getattr(run, name)
    raise AttributeError(f"module 'charviz.train' has no attribute {name!r}")
