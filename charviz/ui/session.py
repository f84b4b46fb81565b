"""This browser session's training run: made on first use, its thread stopped when the tab goes away.

Every page calls `get_workspace()` (the run plus the text it trains on) and reads
`get_workspace().run.snapshot()`. Nothing here trains inside a script run: the TrainingRun owns a daemon
thread.

Lifetime: the Workspace is a session-scoped `st.cache_resource`, so a closed tab fires `on_release`, which
stops the thread. Streamlit also releases it on a network blip while keeping the session (and its
session_state) for a reconnect; the Workspace is therefore also kept in session_state, and the next script
run wraps the same Trainer (weights, optimizer, history) in a fresh, paused TrainingRun. Nothing is lost.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field

import streamlit as st
import torch
from streamlit.runtime.scriptrunner import get_script_run_ctx

from charviz import memory, serving
from charviz.cap import default_cap
from charviz.config import DEFAULT_CORPUS, TrainConfig
from charviz.data import CORPORA, check_text, load_corpus
from charviz.errors import Msg, from_plain, render
from charviz.limits import Budget
from charviz.run import TrainingRun
from charviz.train import Trainer
from charviz.ui import classroom, reaper

DROP_ON_RESET = ("_predict_snapshot", "_rewind_models")  # session_state keys holding copies of a model
DEFAULT_K = 8  # distance of the long-range task
TORCH_THREADS = 1  # intra-op threads, shared by every session of the server process
EVAL_EVERY_S = 1.0  # validation loss cadence of a live run
_STATE_KEY = "charviz_workspace"


def configure_torch(threads: int = TORCH_THREADS) -> None:
    """Cap torch's thread pools so that training sessions leave the server (and each other) responsive."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # only settable once per process, before any inter-op work: already done


configure_torch()
# several sessions' training threads share one GIL with the server's script and event-loop threads: hand it
# over every 1 ms instead of 5 ms, so that a click waits less behind a training step's Python code
sys.setswitchinterval(0.001)


@dataclass(frozen=True)
class Source:
    """Which text a run trains on. Two Sources are equal when they would give the same text."""

    kind: str = "corpus"  # corpus | pasted | upload | checkpoint | shared (a watched run's: name is its code)
    name: str = DEFAULT_CORPUS  # corpus name, or the uploaded file's name
    k: int | None = None  # long-range distance (corpus 'long-range' only)
    digest: str = ""  # hash of a pasted / uploaded text
    # a shared run's label as its owner made it (label_msg's plain data, charviz.errors.to_plain): rendered in the
    # watcher's language
    shared_label: object = field(default=None, compare=False, hash=False)

    @property
    def label_msg(self) -> Msg | str:
        """What the run trains on, kept as key and parameters: rendered in any language (a watcher's too)."""
        if self.kind == "corpus":
            return f"{self.name} (k={self.k})" if self.name == "long-range" else self.name
        if self.kind == "pasted":
            return Msg("settings.pasted_label")
        if self.kind in ("upload", "checkpoint"):
            return Msg(f"settings.source_{self.kind}", name=self.name)
        if self.kind == "shared":
            return Msg("settings.source_shared", label=from_plain(self.shared_label), code=self.name)
        return f"{self.kind}: {self.name}"

    @property
    def label(self) -> str:
        """label_msg in the session's language."""
        return render(self.label_msg)


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def corpus_source(name: str, k: int | None = None) -> Source:
    if name not in CORPORA:
        raise KeyError(f"unknown corpus {name!r}")
    return Source("corpus", name, (k if k is not None else DEFAULT_K) if name == "long-range" else None)


@st.cache_resource(show_spinner=False, max_entries=16)
def corpus_text(name: str, k: int | None = None) -> str:
    """A built-in corpus (read-only, shared by all sessions)."""
    return load_corpus(name, k=k) if name == "long-range" else load_corpus(name)


@dataclass
class Workspace:
    """One browser session's training: the run, the text it trains on, and where that text came from."""

    run: TrainingRun
    source: Source
    text: str = field(repr=False)
    generation: int = 0  # bumped by every reset, so pages can tell a new model from the old one
    session_id: str = ""  # the Streamlit session it belongs to

    @property
    def config(self) -> TrainConfig:
        return self.run.trainer.config


def new_run(trainer: Trainer) -> TrainingRun:
    """A run of the kind CHARVIZ_TRAINING asks for (a worker process, or a thread where processes cannot
    start), counted by the cap."""
    from charviz import worker

    if serving.training_mode() == "process" and worker.processes_available():  # (tops up the spare worker)
        run = worker.ProcessRun(trainer, eval_every_s=EVAL_EVERY_S)
    else:
        run = TrainingRun(trainer, eval_every_s=EVAL_EVERY_S)
    default_cap().register(run)
    return run


def _default_workspace() -> Workspace:
    source = corpus_source(DEFAULT_CORPUS)
    text = corpus_text(source.name, source.k)
    return Workspace(new_run(Trainer(text, TrainConfig())), source, text)


def _revive(ws: Workspace) -> Workspace:
    """After a release (network blip), wrap the same trainer and history in a new, paused run."""
    old = ws.run
    if old.state == "stopped":  # (a worker-process run brought its model back here when it stopped)
        old.stop(timeout=5.0)  # its thread must be gone before a new one steps the same trainer
        run = new_run(old.trainer)
        run.history, run.val_history, run.last = old.history, old.val_history, old.last
        run.snapshots, run.guard, run.restores = old.snapshots, old.guard, old.restores
        ws.run = run
    return ws


def _release(ws: Workspace) -> None:
    """on_release: the session went away (tab closed or connection lost). Stop the thread, keep the state
    (weights, optimizer, history) for a reconnect, drop the copies that are remade on demand, give freed
    memory back, and have the session's leftovers in Streamlit collected once it can no longer come back."""
    if classroom.owner_left(ws.run):
        return  # shared with the class: it trains on for the watchers, for a grace period (charviz.share)
    ws.run.stop(timeout=1.0)
    ws.run.drop_copies()
    memory.trim()
    if ws.session_id:
        reaper.watch(ws.session_id)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_workspace() -> Workspace:
    prev = st.session_state.get(_STATE_KEY)
    ws = _revive(prev) if isinstance(prev, Workspace) else _default_workspace()
    ctx = get_script_run_ctx()
    ws.session_id = ctx.session_id if ctx is not None else ""
    st.session_state[_STATE_KEY] = ws
    return ws


def own_workspace() -> Workspace:
    """This browser session's own Workspace (created on first use), also while it watches a shared run."""
    return _session_workspace()


def get_workspace() -> Workspace:
    """The Workspace the pages show: this session's own, or the shared run it watches (read-only)."""
    return classroom.watching() or _session_workspace()


def reset(text: str, config: TrainConfig, source: Source, trainer: Trainer | None = None) -> Workspace:
    """Throw the current model away and start a new, idle run on `text` with `config`.

    Raises TextError / ValueError / BudgetError (nothing changed) when the text or the config cannot be
    trained or is over the session's budget (charviz.limits). Never waits for a step in progress: the old
    run's thread finishes it on the old model and ends; the old model's memory is freed with it.
    `trainer` (e.g. one restored from a checkpoint) replaces the fresh Trainer when given.
    """
    check_text(text)
    trainer = trainer or Trainer(text, config, budget=Budget.from_env())  # BudgetError: nothing built
    ws = own_workspace()
    old = ws.run
    old.stop(timeout=0)
    ws.run, ws.source, ws.text = new_run(trainer), source, text
    ws.generation += 1
    for key in DROP_ON_RESET:  # the pages' copies of the old model
        st.session_state.pop(key, None)
    memory.trim(collect=False)
    classroom.follow_reset(old, ws)  # if it was shared, the watchers follow the new model
    return ws
