"""The Train page's settings widgets, and which of them apply live and which need a reset.

Learning rate, clipping and carrying the hidden state apply to the running model at once. Everything that
changes the model's shape or its data stream (the text, cell, hidden size, window, batch, optimizer, seed)
needs a new model: the page says so and asks before throwing a trained model away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from charviz import limits
from charviz.data import CORPORA, TextError, check_text, decode_upload
from charviz.errors import message
from charviz.escape import md
from charviz.i18n import t
from charviz.model import CELLS
from charviz.train import OPTIMIZERS, TrainConfig
from charviz.ui.session import Source, Workspace, corpus_source, corpus_text, text_digest

MAX_UPLOAD_MB = 5
# the uploader itself takes files up to this size, so that a file over MAX_UPLOAD_MB reaches the server and
# gets a message saying why it was not taken (the uploader's own refusal is easy to miss)
UPLOADER_MB = 4 * MAX_UPLOAD_MB
MAX_PASTE_CHARS = 200_000
PASTE_BOX_CHARS = 5 * MAX_PASTE_CHARS  # the box takes this much; the text is cut to MAX_PASTE_CHARS, with a note
PASTE_TYPED = "_paste_typed"  # set once the paste box held text: before that, an empty box is no error
SOURCE_KINDS = ("corpus", "pasted", "upload")  # the catalogue's settings.kind_<kind>
LR_CHOICES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
CLIP_CHOICES = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0)
HIDDEN_CHOICES = limits.HIDDEN_CHOICES
RESET_KEYS = ("cell", "hidden_size", "seq_len", "batch_size", "optimizer", "seed")  # + the text
KEY = {  # widget keys in st.session_state
    "kind": "set_kind", "corpus": "set_corpus", "k": "set_k", "paste": "set_paste", "upload": "set_upload",
    "cell": "set_cell", "hidden_size": "set_hidden", "seq_len": "set_seq_len", "batch_size": "set_batch",
    "optimizer": "set_optimizer", "seed": "set_seed", "lr": "set_lr", "clip_on": "set_clip_on",
    "clip": "set_clip", "carry_hidden": "set_carry",
}


@dataclass
class Wanted:
    """What the widgets ask for. text is None when it cannot be used (error says why) or is not given yet."""

    source: Source | None
    text: str | None
    config: TrainConfig
    error: str = ""
    note: str = ""  # something the user should know about the text (e.g. it was cut), not an error


def widget_values(ws: Workspace) -> dict:
    """Widget values that show the workspace as it is (its text source and its config)."""
    cfg, src = ws.config, ws.source
    return {
        KEY["kind"]: src.kind if src.kind in SOURCE_KINDS else "corpus",
        KEY["corpus"]: src.name if src.kind == "corpus" else st.session_state.get(KEY["corpus"], "hello"),
        KEY["k"]: src.k if src.k is not None else st.session_state.get(KEY["k"], 8),
        KEY["cell"]: cfg.cell, KEY["hidden_size"]: cfg.hidden_size, KEY["seq_len"]: cfg.seq_len,
        KEY["batch_size"]: cfg.batch_size, KEY["optimizer"]: cfg.optimizer, KEY["seed"]: cfg.seed,
        KEY["lr"]: cfg.lr, KEY["clip_on"]: cfg.clip is not None,
        KEY["clip"]: cfg.clip if cfg.clip is not None else st.session_state.get(KEY["clip"], 5.0),
        KEY["carry_hidden"]: cfg.carry_hidden,
    }


def sync_widgets(ws: Workspace, only_missing: bool = False) -> None:
    """Make the widgets show the workspace. Call before the widgets are drawn (or from a callback)."""
    for k, v in widget_values(ws).items():
        if not only_missing or k not in st.session_state:
            st.session_state[k] = v


def corpus_description(name: str) -> str:
    """A built-in text in one line, in the page's language."""
    return t(f"settings.corpus_{name.replace('-', '_')}") if name in CORPORA else name


def _with(choices: tuple, *values) -> list:
    """choices plus values, sorted (a checkpoint may bring a learning rate that is not on the scale)."""
    return sorted(set(choices) | {v for v in values if v is not None})


def _apply_lr(ws: Workspace) -> None:
    ws.run.set_lr(float(st.session_state[KEY["lr"]]))


def _apply_clip(ws: Workspace) -> None:
    on = st.session_state[KEY["clip_on"]]
    ws.run.set_clip(float(st.session_state[KEY["clip"]]) if on else None)


def _apply_carry(ws: Workspace) -> None:
    ws.run.set_carry_hidden(bool(st.session_state[KEY["carry_hidden"]]))


def live_controls(ws: Workspace) -> None:
    """Learning rate, clipping, carry-hidden: they change the running model at once."""
    cfg = ws.config
    # the two switches one above the other, in a column wide enough for their labels (at 1280 px, projector too)
    c1, c2, c3 = st.columns([2.4, 2, 2.4], vertical_alignment="center")
    c4 = c2
    lr_opts = _with(LR_CHOICES, cfg.lr, st.session_state.get(KEY["lr"]))
    c1.select_slider(t("settings.lr"), lr_opts, key=KEY["lr"],
                     format_func=lambda v: f"{v:g}", on_change=_apply_lr, args=(ws,), persist_state="session",
                     help=t("settings.lr_help"))
    c2.toggle(t("settings.clip_on"), key=KEY["clip_on"], on_change=_apply_clip, args=(ws,), persist_state="session",
              help=t("settings.clip_on_help"))
    clip_opts = _with(CLIP_CHOICES, st.session_state.get(KEY["clip"], 5.0))
    c3.select_slider(t("settings.clip"), clip_opts, key=KEY["clip"],
                     format_func=lambda v: f"{v:g}", on_change=_apply_clip, args=(ws,), persist_state="session",
                     disabled=not st.session_state.get(KEY["clip_on"], True))
    c4.toggle(t("settings.carry"), key=KEY["carry_hidden"], on_change=_apply_carry, args=(ws,),
              persist_state="session", help=t("settings.carry_help"))


def text_controls() -> tuple[Source | None, str | None, str, str]:
    """The text widgets -> (source, text, error, note). text is None when there is none yet or it is unusable.
    Error and note are Markdown, with anything the user typed or named escaped."""
    kind = st.radio(t("settings.text"), SOURCE_KINDS, key=KEY["kind"], format_func=lambda k: t(f"settings.kind_{k}"),
                    horizontal=True, persist_state="session")
    if kind == "corpus":
        name = st.selectbox(t("settings.corpus"), list(CORPORA), key=KEY["corpus"], persist_state="session")
        st.caption(corpus_description(name))
        k = None
        if name == "long-range":
            k = st.number_input(t("settings.k"), 0, 64,
                                key=KEY["k"], persist_state="session")
        src = corpus_source(name, k)
        return src, corpus_text(src.name, src.k), "", ""
    if kind == "pasted":
        text = st.text_area(t("settings.paste"), key=KEY["paste"], height=150, max_chars=PASTE_BOX_CHARS,
                            placeholder=t("settings.paste_placeholder"), persist_state="session",
                            help=t("limits.paste_help", n=f"{MAX_PASTE_CHARS:,}"))
        text = text or ""
        if not text and not st.session_state.get(PASTE_TYPED):
            return None, None, "", ""  # nothing typed yet: wait for it, no error
        st.session_state[PASTE_TYPED] = True
        note = ""
        if len(text) > MAX_PASTE_CHARS:
            note = t("limits.paste_cut", n=f"{len(text):,}", max=f"{MAX_PASTE_CHARS:,}")
            text = text[:MAX_PASTE_CHARS]
        try:
            text = check_text(text)
        except TextError as e:
            return None, None, t("settings.cannot_train", error=md(message(e))), note
        return Source("pasted", "pasted text", digest=text_digest(text)), text, "", note
    up = st.file_uploader(t("settings.upload", mb=MAX_UPLOAD_MB), type=["txt"], key=KEY["upload"],
                          max_upload_size=UPLOADER_MB)
    if up is None:
        return None, None, "", ""
    try:
        text = decode_upload(up.getvalue(), max_bytes=MAX_UPLOAD_MB * 1_000_000)
    except TextError as e:
        return None, None, t("settings.cannot_train_file", name=md(up.name), error=md(message(e))), ""
    return Source("upload", up.name, digest=text_digest(text)), text, "", ""


def model_controls(ws: Workspace) -> TrainConfig:
    """Model and data-stream settings (they need a reset) -> the config they ask for (live keys as now)."""
    c1, c2 = st.columns(2)
    cell = c1.selectbox(t("settings.cell"), CELLS, key=KEY["cell"], persist_state="session",
                        format_func=lambda c: t(f"settings.cell_{c}"))
    hidden_opts = _with(HIDDEN_CHOICES, ws.config.hidden_size, st.session_state.get(KEY["hidden_size"]))
    hidden = c2.select_slider(t("settings.hidden_size"), hidden_opts, key=KEY["hidden_size"],
                              persist_state="session")
    seq_len = c1.number_input(t("settings.seq_len"), 1, limits.SEQ_LEN_MAX, key=KEY["seq_len"], persist_state="session",
                              help=t("settings.seq_len_help"))
    batch = c2.number_input(t("settings.batch"), 1, limits.BATCH_MAX, key=KEY["batch_size"],
                            persist_state="session")
    optimizer = c1.selectbox(t("settings.optimizer"), OPTIMIZERS, key=KEY["optimizer"], persist_state="session")
    seed = c2.number_input(t("settings.seed"), 0, limits.SEED_MAX, key=KEY["seed"], persist_state="session",
                           help=t("settings.seed_help"))
    return replace(ws.config, cell=cell, hidden_size=int(hidden), seq_len=int(seq_len), batch_size=int(batch),
                   optimizer=optimizer, seed=int(seed))


def pending_changes(ws: Workspace, wanted: Wanted) -> list[str]:
    """Names of the settings that differ from the current model's and need a reset to apply."""
    cur = ws.config
    changed = [t(f"settings.label_{k}") for k in RESET_KEYS if getattr(cur, k) != getattr(wanted.config, k)]
    if wanted.source is not None and wanted.source != ws.source:
        changed.insert(0, t("settings.label_text"))
    return changed


def budget_check(wanted: Wanted, ws: Workspace) -> tuple[limits.Estimate | None, str]:
    """The wanted configuration's estimated cost on the wanted (else the current) text, and an error message
    (Markdown) when it is over the session's budget."""
    text = wanted.text if wanted.text is not None else ws.text
    try:
        return limits.check(wanted.config, len(set(text)), len(text)), ""
    except limits.BudgetError as e:
        return None, t("limits.refused", reason=md(message(e)))


def budget_caption(estimate: limits.Estimate | None) -> None:
    """The session's limits next to the model widgets, and what the chosen settings are estimated to cost."""
    line = t("limits.budget", limits=limits.describe_budget(), max_h=limits.HIDDEN_MAX, max_t=limits.SEQ_LEN_MAX,
             max_b=limits.BATCH_MAX)
    if estimate is not None:
        line += " " + t("limits.estimate", cost=estimate.describe())
    st.caption(line)
