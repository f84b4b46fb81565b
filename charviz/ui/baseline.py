"""The n-gram baseline of the session's text, fitted once per text in a background thread (never in a redraw).

`ngram_for(trainer)` returns the fitted charviz.ngram.Baseline, or None while it is still being computed (the
Python corpus takes a few seconds); the loss chart draws it as soon as it is there. Fits are shared by every
session of the server (the same text gives the same numbers) and at most MAX_TEXTS are kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import streamlit as st

from charviz.i18n import t
from charviz.ngram import Baseline, ngram_baseline

MAX_TEXTS = 16
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charviz-ngram")
_fits: OrderedDict[tuple, Future] = OrderedDict()
_lock = threading.Lock()


def _key(trainer) -> tuple:
    h = hashlib.sha1()
    for part in (trainer.train_text, "\x00", trainer.val_text, "\x00", "".join(trainer.vocab.itos)):
        h.update(part.encode("utf-8", "surrogatepass"))
    return (h.hexdigest(),)


def ngram_future(trainer) -> Future:
    """The (possibly still running) fit for the trainer's training/validation split."""
    key = _key(trainer)
    with _lock:
        fut = _fits.get(key)
        if fut is None:
            fut = _pool.submit(ngram_baseline, trainer.train_text, trainer.val_text, trainer.vocab)
            _fits[key] = fut
            while len(_fits) > MAX_TEXTS:
                _fits.popitem(last=False)
        else:
            _fits.move_to_end(key)
    return fut


def ngram_for(trainer, wait_s: float = 0.0) -> Baseline | None:
    """The fitted baseline, or None while it is computed (or when the fit failed: no line is better than a
    wrong one)."""
    fut = ngram_future(trainer)
    try:
        return fut.result(timeout=wait_s) if wait_s else (fut.result() if fut.done() else None)
    except Exception:
        return None


def ngram_caption(ngram: Baseline | None) -> None:
    """One line under the loss chart: what the n-gram line is, or that it is still being fitted."""
    if ngram is None:
        st.caption(t("baseline.computing"))
        return
    split = t("baseline.validation") if ngram.scored_on == "validation" else t("baseline.training")
    st.caption(t("baseline.caption", n=ngram.n, context=ngram.n - 1, k=f"{ngram.k:g}", bits=f"{ngram.bits:.2f}",
                 split=split))
