"""Download the session's model as a checkpoint; upload one to continue training it (safe loading)."""

from __future__ import annotations

import functools
import weakref

import streamlit as st

from charviz.checkpoint import MAX_FILE_BYTES, CheckpointError, load, to_bytes, trainer_from_checkpoint
from charviz.errors import message
from charviz.escape import md
from charviz.i18n import t
from charviz.limits import Budget
from charviz.run import TrainingRun
from charviz.ui.session import Workspace, reset
from charviz.ui.settings import sync_widgets

MAX_CHECKPOINT_MB = MAX_FILE_BYTES // 1_000_000
_MSG = "ckpt_message"


def checkpoint_bytes(run: TrainingRun | weakref.ref) -> bytes:
    """The run's model, optimizer, config, vocabulary and step, serialised under the run's lock.

    The download button keeps this callable in Streamlit's media manager, which drops it only when the session
    shuts down, and a closed tab's session is never shut down (it expires from the reconnect store): so the
    button gets a weak reference, never the run (its model, optimizer and snapshots) itself."""
    if isinstance(run, weakref.ref):
        run = run()
        if run is None:
            return b""
    from charviz.worker import held_trainer  # (a worker-process run pauses for it, then goes on)

    with held_trainer(run) as trainer:
        return to_bytes(trainer)


def _load_uploaded(ws: Workspace) -> None:
    """Callback of the Load button: replace the model by the uploaded checkpoint's, or say why not."""
    up = st.session_state.get("ckpt_upload")
    if up is None:
        st.session_state[_MSG] = ("error", t("settings.ckpt_choose"))
        return
    try:
        ckpt = load(up.getvalue(), budget=Budget.from_env())
        trainer = trainer_from_checkpoint(ckpt, ws.text, budget=Budget.from_env())
    except CheckpointError as e:
        st.session_state[_MSG] = ("error", t("settings.ckpt_cannot", name=md(up.name), error=md(message(e))))
        return
    reset(ws.text, ckpt.config, ws.source, trainer=trainer)
    sync_widgets(ws)
    st.session_state[_MSG] = ("success", t("settings.ckpt_loaded", name=md(up.name), cell=ckpt.config.cell.upper(),
                                           hidden=ckpt.config.hidden_size, step=f"{ckpt.step:,}"))


def checkpoint_file_name(cell: str, hidden_size: int, step: int, running: bool) -> str:
    """The download's file name. The file is made when the button is clicked, not when the page was drawn: while
    the run trains, the step at the click is unknown here, so the name carries the step only when the run is
    not training (then the file holds exactly that step; the checkpoint always records its step inside)."""
    return f"charviz-{cell}{hidden_size}.pt" if running else f"charviz-{cell}{hidden_size}-step{step}.pt"


def checkpoint_panel(ws: Workspace, step: int) -> None:
    c1, c2 = st.columns(2)
    with c1:
        cfg = ws.config
        st.download_button(
            t("settings.ckpt_download"), data=functools.partial(checkpoint_bytes, weakref.ref(ws.run)),
            file_name=checkpoint_file_name(cfg.cell, cfg.hidden_size, step, ws.run.running),
            mime="application/octet-stream",
            on_click="ignore", help=t("settings.ckpt_download_help"))
        st.caption(t("settings.ckpt_safe"))
        st.caption(t("rewind.checkpoint_note"))
    with c2:
        st.file_uploader(t("settings.ckpt_upload", mb=MAX_CHECKPOINT_MB), type=["pt"],
                         key="ckpt_upload", max_upload_size=MAX_CHECKPOINT_MB)
        st.button(t("settings.ckpt_load", step=f"{step:,}"),
                  key="ckpt_load", on_click=_load_uploaded, args=(ws,))
    msg = st.session_state.pop(_MSG, None)
    if msg is not None:
        (st.error if msg[0] == "error" else st.success)(msg[1])
