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
from charviz.errors import KeyedError
from charviz.limits import Budget
from charviz.model import CharRNN
from charviz.train import TrainConfig, Trainer

FORMAT = "charviz-checkpoint"
VERSION = 1


class CheckpointError(KeyedError):
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
            "errors.ckpt_objects_named" if what else "errors.ckpt_objects", what=what.group(1) if what else ""
        ) from None
    except Exception:  # a damaged archive that passed the directory check, wrong byte order, ...
        raise CheckpointError("errors.ckpt_damaged") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("errors.ckpt_not_charviz")
    if payload.get("version") != VERSION:
        raise CheckpointError("errors.ckpt_version", version=limits._show(payload.get("version")))
    vocab = _vocab(payload.get("vocab"))
    try:
        config = limits.config_from_untrusted(payload.get("config"))
    except limits.ConfigError as e:
        raise CheckpointError("errors.ckpt_settings", error=e) from None
    try:
        limits.check(config, len(vocab), budget=budget)
    except limits.BudgetError as e:
        raise CheckpointError("errors.ckpt_too_large", error=e) from None
    step = payload.get("step", 0)
    if type(step) is not int or not 0 <= step <= limits.STEP_MAX:
        raise CheckpointError("errors.ckpt_step", step=limits._show(step))
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
            raise CheckpointError("errors.ckpt_file_large", max=MAX_FILE_BYTES // 1_000_000)
        data = Path(f).read_bytes()
    else:
        data = f.read(MAX_FILE_BYTES + 1)
    if not data:
        raise CheckpointError("errors.ckpt_empty")
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError("errors.ckpt_file_large", max=MAX_FILE_BYTES // 1_000_000)
    return data


def _check_archive(data: bytes) -> None:
    """The file must be a torch.save zip archive whose unpacked size is bounded; say what it is if not."""
    if not data.startswith(b"PK"):
        if data[:1] == b"\x80":
            raise CheckpointError("errors.ckpt_pickle")
        raise CheckpointError("errors.ckpt_not_zip")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise CheckpointError("errors.ckpt_zip_not_torch")
            total = 0
            for i in infos:
                if i.compress_type != zipfile.ZIP_STORED or i.file_size != i.compress_size:
                    raise CheckpointError("errors.ckpt_compressed")
                total += i.file_size
            if total > min(MAX_UNPACKED_BYTES, len(data)):
                raise CheckpointError("errors.ckpt_bomb", mb=f"{total / 1e6:,.0f}")
            bad = z.testzip()  # reads every entry once (bounded above) and checks its CRC
            if bad is not None:
                raise CheckpointError("errors.ckpt_checksum")
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError):
        raise CheckpointError("errors.ckpt_truncated") from None


def expected_shapes(cell: str, vocab_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of every weight of CharRNN(vocab_size, hidden_size, cell), in parameter order, computed
    without building the model."""
    GH, V, H = limits.GATES[cell] * hidden_size, vocab_size, hidden_size
    return {"rnn.weight_ih_l0": (GH, V), "rnn.weight_hh_l0": (GH, H), "rnn.bias_ih_l0": (GH,),
            "rnn.bias_hh_l0": (GH,), "head.weight": (V, H), "head.bias": (V,)}


def _vocab(items) -> Vocab:
    if not isinstance(items, list | tuple) or not all(isinstance(c, str) and len(c) == 1 for c in items):
        raise CheckpointError("errors.ckpt_vocab_type")
    if not 2 <= len(items) <= limits.VOCAB_MAX:
        raise CheckpointError("errors.ckpt_vocab_size", n=f"{len(items):,}", max=f"{limits.VOCAB_MAX:,}")
    if len(set(items)) != len(items):
        raise CheckpointError("errors.ckpt_vocab_twice")
    return Vocab(tuple(items))


def _check_weights(state, shapes: dict, config: TrainConfig, V: int) -> dict:
    if not isinstance(state, dict):
        raise CheckpointError("errors.ckpt_no_weights")
    if set(state) != set(shapes):
        raise CheckpointError("errors.ckpt_weight_names", cell=config.cell,
                              missing=str(sorted(set(shapes) - set(state))),
                              unexpected=str(sorted(map(str, set(state) - set(shapes)))[:5]))
    for k, shape in shapes.items():
        v = state[k]
        got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        if got != shape:
            raise CheckpointError("errors.ckpt_weight_shape", name=k, got=str(got), expected=str(shape), vocab=V,
                                  hidden=config.hidden_size)
        if v.dtype != torch.float32:
            raise CheckpointError("errors.ckpt_weight_dtype", name=k, dtype=str(v.dtype))
        if not torch.isfinite(v).all():
            raise CheckpointError("errors.ckpt_weight_nan", name=k)
    return state


def _check_optimizer(opt, shapes: list[tuple[int, ...]]) -> dict | None:
    """The optimizer state if it fits the weights (one group over all of them, every state tensor a scalar
    or the shape of its weight), None if there is none; CheckpointError otherwise."""
    if opt is None:
        return None
    wrong = CheckpointError("errors.ckpt_optimizer")
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
        raise CheckpointError("errors.ckpt_unseen_chars", chars=shown)
    try:
        limits.check(ckpt.config, len(ckpt.vocab), len(text), budget)
    except limits.BudgetError as e:
        raise CheckpointError("errors.ckpt_too_large", error=e) from None
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
