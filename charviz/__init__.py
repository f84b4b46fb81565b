"""charviz: watch a character-level RNN learn.

The library under the Streamlit app. Importable from a notebook; never imports streamlit (except
charviz.ui) and never prints.
"""

from charviz.data import CORPORA, TextError, Vocab, load_corpus, show_char, show_text
from charviz.inspect import forward_trace, generate, gradient_flow, predict_next, scalar_bptt
from charviz.model import CharRNN
from charviz.train import StepStats, TrainConfig, Trainer, TrainingRun

__all__ = [
    "CORPORA",
    "CharRNN",
    "StepStats",
    "TextError",
    "TrainConfig",
    "Trainer",
    "TrainingRun",
    "Vocab",
    "forward_trace",
    "generate",
    "gradient_flow",
    "load_corpus",
    "predict_next",
    "scalar_bptt",
    "show_char",
    "show_text",
]
