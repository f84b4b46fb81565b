"""Save and load a model with its config and vocabulary. Loading never runs code from the file."""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from charviz.data import Vocab
from charviz.model import CharRNN
from charviz.train import TrainConfig, Trainer

FORMAT = "charviz-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable charviz checkpoint; the message says why, for the user."""


@dataclass
class Checkpoint:
    model: CharRNN
    vocab: Vocab
    config: TrainConfig
    step: int = 0
    optimizer_state: dict | None = None


def save(obj: Trainer | CharRNN, f: str | Path | BinaryIO, vocab: Vocab | None = None) -> None:
    """Write a Trainer (model + optimizer + config + vocab + step) or a bare CharRNN (+ vocab) to f."""
    if isinstance(obj, Trainer):
        model, vocab, config = obj.model, obj.vocab, obj.config
        step, opt = obj.steps, obj.optimizer.state_dict()
    elif isinstance(obj, CharRNN):
        if vocab is None:
            raise ValueError("saving a bare model needs its vocab")
        model, step, opt = obj, 0, None
        config = TrainConfig(cell=obj.cell, hidden_size=obj.hidden_size)
    else:
        raise TypeError("save() takes a Trainer or a CharRNN")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "vocab": list(vocab.itos),
        "config": config.to_dict(),
        "step": int(step),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": opt,
    }
    torch.save(payload, f)


def to_bytes(obj: Trainer | CharRNN, vocab: Vocab | None = None) -> bytes:
    buf = io.BytesIO()
    save(obj, buf, vocab)
    return buf.getvalue()


def load(f: str | Path | BinaryIO | bytes) -> Checkpoint:
    """Read a checkpoint safely (weights_only=True, CPU). Raises CheckpointError with a clear reason."""
    if isinstance(f, bytes | bytearray):
        f = io.BytesIO(f)
    try:
        payload = torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            "refused: the file holds Python objects other than weights (possibly code), "
            f"and was not loaded ({_first_line(e)})"
        ) from None
    except Exception as e:  # zip/format errors, truncated files, random bytes
        raise CheckpointError(f"not a readable checkpoint file ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("this file is a PyTorch file but not a charviz checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"unsupported checkpoint version {payload.get('version')!r}")
    try:
        vocab = Vocab(tuple(payload["vocab"]))
        config = TrainConfig.from_dict(payload["config"])
        model = CharRNN(len(vocab), config.hidden_size, config.cell)
        state = payload["state_dict"]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the checkpoint is incomplete or malformed ({_first_line(e)})") from None
    expected = model.state_dict()
    if set(state) != set(expected):
        raise CheckpointError(
            f"the checkpoint's weights do not fit a {config.cell} model: "
            f"missing {sorted(set(expected) - set(state))}, unexpected {sorted(set(state) - set(expected))}"
        )
    for k, v in expected.items():
        if not isinstance(state[k], torch.Tensor) or tuple(state[k].shape) != tuple(v.shape):
            got = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__
            raise CheckpointError(
                f"the checkpoint's weights do not fit: {k} has shape {got}, expected {tuple(v.shape)} "
                f"(vocabulary {len(vocab)}, hidden size {config.hidden_size})"
            )
        if not torch.isfinite(state[k]).all():
            raise CheckpointError(f"the checkpoint's weight {k} holds NaN or infinite values")
    model.load_state_dict(state)
    return Checkpoint(model, vocab, config, int(payload.get("step", 0)), payload.get("optimizer"))


def trainer_from_checkpoint(ckpt: Checkpoint, text: str) -> Trainer:
    """A Trainer that continues from `ckpt` on `text` (which must use only the checkpoint's characters)."""
    unknown = ckpt.vocab.unknown(text)
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10])
        raise CheckpointError(f"the text has characters the checkpoint's model has never seen: {shown}")
    trainer = Trainer(text, ckpt.config, vocab=ckpt.vocab)
    trainer.model.load_state_dict(ckpt.model.state_dict())
    if ckpt.optimizer_state is not None:
        try:
            trainer.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError):
            pass  # a different optimizer: start it fresh, keep the weights
    trainer.steps = ckpt.step
    return trainer


def _first_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0][:200] if s else type(e).__name__
