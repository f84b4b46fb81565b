"""Text in, integers out: the vocabulary, the built-in corpora, and truncated-BPTT batches."""

from __future__ import annotations

import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch

from charviz.errors import KeyedError


class TextError(KeyedError):
    """A text that cannot be trained on (empty, one distinct character, not UTF-8)."""


# ---------------------------------------------------------------------------------------------------------
# vocabulary


@dataclass(frozen=True)
class Vocab:
    """The set of unique characters of a text, sorted; index i <-> character itos[i]."""

    itos: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls(tuple(sorted(set(text))))

    @property
    def stoi(self) -> dict[str, int]:
        return self._stoi

    def __post_init__(self):
        object.__setattr__(self, "_stoi", {c: i for i, c in enumerate(self.itos)})
        if len(self._stoi) != len(self.itos):
            raise ValueError("vocabulary characters must be unique")

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, ch: str) -> bool:
        return ch in self._stoi

    def unknown(self, text: str) -> list[str]:
        """Characters of `text` that are not in the vocabulary, each once, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._stoi))

    def drop_unknown(self, text: str) -> tuple[str, list[int]]:
        """Split `text` into the characters the model can read and the positions of those it cannot.

        -> (text without the unknown characters, sorted positions in `text` of the dropped characters).
        """
        stoi = self._stoi
        dropped = [i for i, c in enumerate(text) if c not in stoi]
        if not dropped:
            return text, []
        return "".join(c for c in text if c in stoi), dropped

    def encode(self, text: str) -> list[int]:
        """Characters -> indices. Raises TextError (a ValueError, errors.not_in_vocab) naming every character not
        in the vocabulary."""
        try:
            return [self._stoi[c] for c in text]
        except KeyError:
            bad = ", ".join(repr(c) for c in self.unknown(text))
            raise TextError("errors.not_in_vocab", chars=bad) from None

    def decode(self, ids) -> str:
        return "".join(self.itos[int(i)] for i in ids)


# characters that are invisible on screen get a visible stand-in wherever they are drawn
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def show_char(ch: str) -> str:
    """A printable label for one character (space -> ␣, newline -> ⏎, tab -> ⇥, other controls -> U+XXXX)."""
    if ch in VISIBLE:
        return VISIBLE[ch]
    if not ch.isprintable():
        return f"U+{ord(ch):04X}"
    return ch


def step_labels(chars, offset: int = 0) -> list[str]:
    """Labels of time steps, 'time step: input character' (characters visible), the first step being `offset`."""
    return [f"{offset + t}: {show_char(c)}" for t, c in enumerate(chars)]


def show_text(text: str) -> str:
    return "".join(show_char(c) for c in text)


def check_text(text: str) -> str:
    """Return `text` if a model can learn from it, else raise TextError with a message for the user."""
    if not isinstance(text, str):
        raise TextError("errors.text_not_str")
    if len(text) == 0:
        raise TextError("errors.text_empty")
    if len(set(text)) < 2:
        raise TextError("errors.text_one_char", char=repr(show_char(text[0])))
    if len(text) < 3:
        raise TextError("errors.text_short", n=3)
    if "\x00" in text:  # one rule for every source (pasted, uploaded): NUL marks a binary file, not text
        raise TextError("errors.text_nul")
    return text


def decode_upload(data: bytes, max_bytes: int | None = None) -> str:
    """Bytes of an uploaded file -> checked text. Raises TextError for too large, non-UTF-8 or unusable text."""
    if max_bytes is not None and len(data) > max_bytes:
        raise TextError("errors.file_too_large", mb=f"{len(data) / 1e6:.1f}", max=f"{max_bytes / 1e6:.0f}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TextError("errors.file_not_utf8", byte=e.start) from None
    return check_text(text.replace("\r\n", "\n"))


# ---------------------------------------------------------------------------------------------------------
# built-in corpora (none downloaded)


def hello_text(repeats: int = 200) -> str:
    """The classic toy: 'hello' over and over, vocabulary [e, h, l, o]."""
    return "hello" * repeats


def python_text(max_chars: int = 1_500_000) -> str:
    """Source of the Python standard library, read from the running interpreter's installation.

    Deterministic: top-level ASCII-only modules in sorted order, concatenated until max_chars.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(stdlib.glob("*.py")):
        try:
            src = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not src.isascii() or "\t" in src or "\r" in src:
            continue
        parts.append(f"# ---- {path.name}\n{src}\n")
        total += len(parts[-1])
        if total >= max_chars:
            break
    if not parts:
        raise TextError("errors.no_python_source", path=str(stdlib))
    return "".join(parts)[:max_chars]


LONG_RANGE_KEYS = "ABCD"
LONG_RANGE_FILLER = "xyz"


def long_range_text(k: int = 8, lines: int = 4000, seed: int = 0) -> str:
    """A long-range dependency task: each line is PAD KEY, k random filler chars, ':', KEY, newline.

    The character after ':' can only be predicted by remembering KEY across k+1 steps. A model that forgot it
    can do no better than a uniform guess over the 4 keys there (2 bits); a model that remembers gets ~0.
    PAD is 0-3 dots, so lines have varying lengths and a model cannot get by on counting characters since the
    start of the text: it has to notice the key.
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        pad = "." * rng.randint(0, 3)
        key = rng.choice(LONG_RANGE_KEYS)
        filler = "".join(rng.choice(LONG_RANGE_FILLER) for _ in range(k))
        out.append(f"{pad}{key}{filler}:{key}\n")
    return "".join(out)


CORPORA = {
    "hello": "'hello' repeated: the four-letter toy from the char-RNN blog post",
    "python": "Python standard library source, read from this interpreter's installation (~1.5 MB)",
    "long-range": "generated: remember a key across k filler characters (vanilla RNN vs LSTM)",
}


def load_corpus(name: str, **kwargs) -> str:
    """Text of a built-in corpus by name ('hello', 'python', 'long-range'); kwargs go to its generator."""
    if name == "hello":
        return hello_text(**kwargs)
    if name == "python":
        return python_text(**kwargs)
    if name == "long-range":
        return long_range_text(**kwargs)
    raise KeyError(f"unknown corpus {name!r}; choose from {sorted(CORPORA)}")


# ---------------------------------------------------------------------------------------------------------
# train/validation split and truncated-BPTT batches


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The first (1 - val_fraction) of the text for training, the rest held out. Both keep >= 2 chars."""
    n = len(text)
    n_val = int(n * val_fraction)
    if val_fraction > 0 and n >= 20:
        n_val = max(n_val, 2)
    else:
        n_val = 0
    if n_val == 0:
        return text, ""
    return text[: n - n_val], text[n - n_val :]


class BatchStream:
    """Truncated-BPTT windows over one long sequence.

    The data is cut into `batch_size` contiguous streams; window i gives x, y of shape (B, T) with
    y = x shifted by one, and window i+1 continues every stream exactly where window i ended, so a hidden
    state can be carried from one window to the next. At the end of the streams it wraps to the start and
    says so (`reset=True`: the carried state no longer belongs to the text and must be dropped).
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_len: int):
        ids = torch.as_tensor(ids, dtype=torch.long)
        n = ids.numel()
        if n < 2:
            raise TextError("errors.train_text_short", n=2)
        # shrink the batch for tiny texts so every stream has at least one (x, y) pair
        batch_size = max(1, min(batch_size, (n - 1) // 2 or 1))
        stream_len = n // batch_size  # each stream holds stream_len chars -> stream_len - 1 pairs
        self.batch_size = batch_size
        self.seq_len = max(1, min(seq_len, stream_len - 1))
        self.streams = ids[: batch_size * stream_len].view(batch_size, stream_len)  # (B, L)
        self.pos = 0

    @property
    def windows_per_epoch(self) -> int:
        return max(1, (self.streams.shape[1] - 1) // self.seq_len)

    def next(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """-> x (B, T), y (B, T), reset. `reset` is True when this window starts the streams over."""
        L, T = self.streams.shape[1], self.seq_len
        reset = self.pos == 0
        if self.pos + T + 1 > L:
            self.pos, reset = 0, True
        x = self.streams[:, self.pos : self.pos + T]  # (B, T)
        y = self.streams[:, self.pos + 1 : self.pos + T + 1]  # (B, T)
        self.pos += T
        return x, y, reset
