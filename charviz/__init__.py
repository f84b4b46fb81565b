"""charviz: watch a character-level RNN learn.

The library under the Streamlit app. Importable from a notebook; never imports streamlit (except
charviz.ui) and never prints. The names below load on first use (PEP 562), so that importing a torch-free
part (charviz.config, charviz.ui.boot) does not import torch: the app draws its first page while torch loads.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "CORPORA": "charviz.data",
    "TextError": "charviz.data",
    "Vocab": "charviz.data",
    "load_corpus": "charviz.data",
    "show_char": "charviz.data",
    "show_text": "charviz.data",
    "forward_trace": "charviz.inspect",
    "generate": "charviz.inspect",
    "gradient_flow": "charviz.inspect",
    "predict_next": "charviz.inspect",
    "scalar_bptt": "charviz.inspect",
    "CharRNN": "charviz.model",
    "StepStats": "charviz.train",
    "TrainConfig": "charviz.config",
    "Trainer": "charviz.train",
    "TrainingRun": "charviz.run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'charviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
