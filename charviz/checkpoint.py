"""Save and load a model with its config and vocabulary. Loading never runs code from the file."""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

from charviz import limits
from charviz.data import Vocab
from charviz.limits import Budget
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


def load(f: str | Path | BinaryIO | bytes, budget: Budget | None = None) -> Checkpoint:
    """Read a checkpoint safely. Raises CheckpointError saying what the file is when it is not usable.

    Everything is checked before anything is allocated for it: the file is a zip archive as torch.save
    writes it (stored entries, a CRC-valid directory), whose unpacked size is bounded by the file's own size
    and MAX_UNPACKED_BYTES; only then torch.load(weights_only=True) reads it (never code). Then every setting
    must lie within the app's limits (charviz.limits), the model within the session's budget, every weight's
    shape equal to what the settings and the vocabulary imply, and the optimizer's state fit the weights.
    Only then is a model built.
    """
    data = _read_bytes(f)
    _check_archive(data)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        what = _GLOBAL.search(str(e))
        raise CheckpointError(
            "the file holds Python objects other than numbers and weights"
            + (f" ({what.group(1)})" if what else "")
            + ": such objects can run code, so the file was not loaded"
        ) from None
    except Exception:  # a damaged archive that passed the directory check, wrong byte order, ...
        raise CheckpointError("the file is damaged: PyTorch could not read it") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("this is a PyTorch file, but not a charviz checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"unsupported checkpoint version {limits._show(payload.get('version'))}")
    vocab = _vocab(payload.get("vocab"))
    try:
        config = limits.config_from_untrusted(payload.get("config"))
    except limits.ConfigError as e:
        raise CheckpointError(f"its settings are outside this app's limits: {e}") from None
    try:
        limits.check(config, len(vocab), budget=budget)
    except limits.BudgetError as e:
        raise CheckpointError(f"its model is too large for this server: {e}") from None
    step = payload.get("step", 0)
    if type(step) is not int or not 0 <= step <= limits.STEP_MAX:
        raise CheckpointError(f"its step count {limits._show(step)} is not a valid number of steps")
    shapes = expected_shapes(config.cell, len(vocab), config.hidden_size)
    state = _check_weights(payload.get("state_dict"), shapes, config, len(vocab))
    opt = _check_optimizer(payload.get("optimizer"), list(shapes.values()))
    model = CharRNN(len(vocab), config.hidden_size, config.cell)  # now that its size is known to be fine
    model.load_state_dict(state)
    return Checkpoint(model, vocab, config, step, opt)


MAX_FILE_BYTES = 64 * 1_000_000  # more than any checkpoint of a model within the limits
MAX_UNPACKED_BYTES = MAX_FILE_BYTES
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _read_bytes(f) -> bytes:
    if isinstance(f, bytes | bytearray):
        data = bytes(f)
    elif isinstance(f, str | Path):
        if Path(f).stat().st_size > MAX_FILE_BYTES:
            raise CheckpointError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB: not a checkpoint "
                                  "of a model this app can train")
        data = Path(f).read_bytes()
    else:
        data = f.read(MAX_FILE_BYTES + 1)
    if not data:
        raise CheckpointError("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB: not a checkpoint of "
                              "a model this app can train")
    return data


def _check_archive(data: bytes) -> None:
    """The file must be a torch.save zip archive whose unpacked size is bounded; say what it is if not."""
    if not data.startswith(b"PK"):
        if data[:1] == b"\x80":
            raise CheckpointError("the file is a bare Python pickle, not a charviz checkpoint; a pickle can "
                                  "carry code, so it was not opened")
        raise CheckpointError("this is not a charviz checkpoint (a checkpoint is the zip archive that "
                              "'Download the current model' gives)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise CheckpointError("the file is a zip archive, but not a PyTorch checkpoint")
            total = 0
            for i in infos:
                if i.compress_type != zipfile.ZIP_STORED or i.file_size != i.compress_size:
                    raise CheckpointError("the file is a compressed zip archive, which torch.save never "
                                          "writes: not a checkpoint of this app; it was not unpacked")
                total += i.file_size
            if total > min(MAX_UNPACKED_BYTES, len(data)):
                raise CheckpointError(f"the archive claims to unpack to {total / 1e6:,.0f} MB, more than "
                                      "the file holds: it was not unpacked")
            bad = z.testzip()  # reads every entry once (bounded above) and checks its CRC
            if bad is not None:
                raise CheckpointError("the file is damaged (a part of it fails its checksum)")
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError):
        raise CheckpointError("the file is truncated or damaged (an interrupted download?): its zip directory "
                              "cannot be read") from None


def expected_shapes(cell: str, vocab_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of every weight of CharRNN(vocab_size, hidden_size, cell), in parameter order, computed
    without building the model."""
    GH, V, H = limits.GATES[cell] * hidden_size, vocab_size, hidden_size
    return {"rnn.weight_ih_l0": (GH, V), "rnn.weight_hh_l0": (GH, H), "rnn.bias_ih_l0": (GH,),
            "rnn.bias_hh_l0": (GH,), "head.weight": (V, H), "head.bias": (V,)}


def _vocab(items) -> Vocab:
    if not isinstance(items, list | tuple) or not all(isinstance(c, str) and len(c) == 1 for c in items):
        raise CheckpointError("its vocabulary is not a list of characters")
    if not 2 <= len(items) <= limits.VOCAB_MAX:
        raise CheckpointError(f"its vocabulary has {len(items):,} characters; this app allows 2 to "
                              f"{limits.VOCAB_MAX:,}")
    if len(set(items)) != len(items):
        raise CheckpointError("its vocabulary lists a character twice")
    return Vocab(tuple(items))


def _check_weights(state, shapes: dict, config: TrainConfig, V: int) -> dict:
    if not isinstance(state, dict):
        raise CheckpointError("its weights are missing")
    if set(state) != set(shapes):
        raise CheckpointError(
            f"its weights do not fit a {config.cell} model: missing {sorted(set(shapes) - set(state))}, "
            f"unexpected {sorted(map(str, set(state) - set(shapes)))[:5]}")
    for k, shape in shapes.items():
        v = state[k]
        got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        if got != shape:
            raise CheckpointError(f"its weights do not fit its settings: {k} has shape {got}, expected {shape} "
                                  f"(vocabulary {V}, hidden size {config.hidden_size})")
        if v.dtype != torch.float32:
            raise CheckpointError(f"its weight {k} holds {v.dtype} numbers, not float32")
        if not torch.isfinite(v).all():
            raise CheckpointError(f"its weight {k} holds NaN or infinite values")
    return state


def _check_optimizer(opt, shapes: list[tuple[int, ...]]) -> dict | None:
    """The optimizer state if it fits the weights (one group over all of them, every state tensor a scalar
    or the shape of its weight), None if there is none; CheckpointError otherwise."""
    if opt is None:
        return None
    wrong = CheckpointError("its optimizer state does not fit its weights")
    if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict):
        raise wrong
    groups = opt.get("param_groups")
    if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)
            and groups[0].get("params") == list(range(len(shapes)))):
        raise wrong
    for i, st in opt["state"].items():
        if type(i) is not int or not 0 <= i < len(shapes) or not isinstance(st, dict):
            raise wrong
        for v in st.values():
            if isinstance(v, torch.Tensor) and v.dim() and tuple(v.shape) != shapes[i]:
                raise wrong
    return opt


def trainer_from_checkpoint(ckpt: Checkpoint, text: str, budget: Budget | None = None) -> Trainer:
    """A Trainer that continues from `ckpt` on `text` (which must use only the checkpoint's characters)."""
    unknown = ckpt.vocab.unknown(text)
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10])
        raise CheckpointError(f"the text has characters the checkpoint's model has never seen: {shown}")
    try:
        limits.check(ckpt.config, len(ckpt.vocab), len(text), budget)
    except limits.BudgetError as e:
        raise CheckpointError(f"its model is too large for this server: {e}") from None
    trainer = Trainer(text, ckpt.config, vocab=ckpt.vocab)
    trainer.model.load_state_dict(ckpt.model.state_dict())
    if ckpt.optimizer_state is not None:
        try:
            trainer.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError, TypeError, RuntimeError):
            trainer._optimizer = None  # a different optimizer: start it fresh, keep the weights
        trainer.set_lr(ckpt.config.lr)  # the config's rate, not whatever the file's optimizer group says
    trainer.steps = ckpt.step
    return trainer
