"""The classic toy from the char-RNN blog post: learn "hello" (h->e, e->l, l->l, l->o) from a zero state.

A tiny Trainer whose every window is exactly one "hello" read from the initial hidden state, so what the
model learns is what `forward_trace(model, vocab, "hello")` shows: after training, the prediction at each
of the four steps of "hell" is the next letter of "ello".
"""

from __future__ import annotations

from dataclasses import dataclass

from charviz.data import hello_text
from charviz.inspect import Trace, forward_trace
from charviz.model import CharRNN
from charviz.train import TrainConfig, Trainer

WORD = "hello"
INPUT, TARGET = WORD[:-1], WORD[1:]  # "hell", "ello"
BLOG_ORDER = ("h", "e", "l", "o")  # the blog's order; the Vocab (sorted) indexes them e=0, h=1, l=2, o=3
HIDDEN_SIZES = range(3, 9)
# The Hello page's defaults, chosen so that the class can watch it learn: at HELLO_LR the four predictions
# are first all right after about 120 updates from HELLO_SEED (77-256 for seeds 3-10; at the old 0.05 it was
# 6-31), and the page paces its training at a few updates a second (charviz.ui.hello), so tens of seconds.
HELLO_LR = 0.003
HELLO_SEED = 3  # first weights: at hidden size 4 this untrained model guesses 'hhhh', all wrong (any seed learns)


def hello_config(hidden_size: int = 4, seed: int = 0, lr: float = HELLO_LR) -> TrainConfig:
    """Windows of 5 characters that all start at 'h', the state reset before each (carry_hidden=False)."""
    return TrainConfig(cell="rnn", hidden_size=hidden_size, seq_len=len(WORD), batch_size=4, lr=lr,
                       optimizer="adam", clip=5.0, carry_hidden=False, seed=seed, val_fraction=0.0)


def hello_trainer(hidden_size: int = 4, seed: int = 0, lr: float = HELLO_LR) -> Trainer:
    """A fresh, untrained Trainer on "hello" * 40 (4 streams of 10 words: every window is one "hello")."""
    if hidden_size not in HIDDEN_SIZES:
        raise ValueError(f"hidden size must be in {HIDDEN_SIZES.start}..{HIDDEN_SIZES.stop - 1}")
    return Trainer(hello_text(40), hello_config(hidden_size, seed, lr))


def hello_trace(model: CharRNN, trainer_or_vocab) -> Trace:
    """The four steps of "hell" with their targets "ello" (a trace of "hello" without its last row)."""
    vocab = getattr(trainer_or_vocab, "vocab", trainer_or_vocab)
    return forward_trace(model, vocab, WORD).window(0, len(INPUT))


def predictions(trace: Trace) -> str:
    """The most likely next character at every step, e.g. 'ello' once trained."""
    return "".join(trace.itos[int(i)] for i in trace.predicted_ids)


@dataclass
class Score:
    """How the model does on "hell" -> "ello"."""

    predicted: str  # the most likely next character at each of the four steps
    right: int  # how many of them are the target's
    mean_bits: float  # mean -log2 p(target character), bits


def score(trace: Trace) -> Score:
    """The score of a `hello_trace`: predictions, how many are right, and the mean loss in bits."""
    pred = predictions(trace)
    return Score(pred, sum(a == b for a, b in zip(pred, TARGET, strict=True)), float(trace.bits.mean()))


def learned_at(trainer: Trainer, max_steps: int) -> int | None:
    """Step the trainer until its four predictions are all right: -> the step at which they first are (0: they
    already were), or None when they are not after max_steps more updates (the trainer is left there)."""
    def all_right() -> bool:
        return score(hello_trace(trainer.model, trainer)).right == len(TARGET)

    for _ in range(max_steps):
        if all_right():
            return trainer.steps
        trainer.step()
    return trainer.steps if all_right() else None
