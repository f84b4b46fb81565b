"""TrainConfig: everything that defines a training run. Imports no torch, so the app can draw its first page
(and read the defaults) while torch is still loading."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

CELLS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")
DEFAULT_CORPUS = "hello"  # the built-in text a new session trains on


def check_lr(lr: float) -> float:
    """The learning rate if it is usable (a positive finite number), else ValueError."""
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError("the learning rate must be a positive number")
    return lr


def check_clip(clip: float | None) -> float | None:
    """The clipping threshold if it is usable (a positive number, or None for no clipping), else ValueError."""
    if clip is not None and not clip > 0:
        raise ValueError("clip must be a positive number or None")
    return clip


@dataclass
class TrainConfig:
    """Everything that defines a training run. The defaults make a good live demo on 2 CPU cores."""

    cell: str = "rnn"  # rnn | lstm | gru
    hidden_size: int = 128
    seq_len: int = 32  # truncation window: gradients flow back at most this many steps
    batch_size: int = 32  # parallel streams through the text
    lr: float = 3e-3
    optimizer: str = "adam"  # adam | sgd | rmsprop | adagrad
    clip: float | None = 5.0  # max global gradient norm; None = no clipping
    carry_hidden: bool = True  # True: carry h across windows (truncated BPTT); False: reset every window
    seed: int = 0
    val_fraction: float = 0.1

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}")
        if self.hidden_size < 1 or self.seq_len < 1 or self.batch_size < 1:
            raise ValueError("hidden_size, seq_len and batch_size must be >= 1")
        check_lr(self.lr)
        check_clip(self.clip)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    # settings that change the model's shape or the data stream: changing them needs a new Trainer
    SHAPE_KEYS = ("cell", "hidden_size", "seq_len", "batch_size", "seed", "val_fraction")
