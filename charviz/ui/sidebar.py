"""The sidebar every page shows: live training status, Start/Pause, Step and Reset.

It is a fragment that reruns itself every REFRESH_S seconds while the run trains (and not at all while it
is paused, so an idle tab costs nothing). When the run's state changes under it (a click here, or the run
pausing itself on a non-finite loss) it reruns the whole app, so every page's own live fragments switch
their timers on or off too.
"""

from __future__ import annotations

import time

import streamlit as st

from charviz import guard
from charviz.errors import message
from charviz.i18n import t
from charviz.run import Snapshot
from charviz.ui import classroom
from charviz.ui.alerts import alert
from charviz.ui.race_session import pause_race
from charviz.ui.session import Workspace, get_workspace, reset
from charviz.ui.status import draw_head, draw_metrics
from charviz.units import uniform_bits

REFRESH_S = 1.0  # seconds between live redraws while training
PAUSE_SETTLE_S = 0.5  # a Pause click waits at most this long for the run's last step to be drawn

def live_every(ws: Workspace | None = None, every: float = REFRESH_S) -> float | None:
    """run_every for a live fragment: `every` while training (or finishing the step in progress after a Pause or
    Step, so that the last numbers are drawn), None (no timer) otherwise. A watcher of a shared run redraws
    `classroom.slowdown()` times slower when more watch on this server than it serves at the full rate."""
    ws = ws or get_workspace()
    if not ws.run.busy:
        return None
    return every * classroom.slowdown() if classroom.read_only(ws) else every


def _first_time(token: str) -> bool:
    """True the first time a click token is seen. A click's callback can be replayed when the fragment it ran
    in asks for a full rerun; the controls act once per click."""
    done = st.session_state.setdefault("_sidebar_clicks", [])
    if token in done:
        return False
    done.append(token)
    del done[:-20]
    return True


def start_or_pause(ws: Workspace, action: str, token: str) -> None:
    """The button says what it will do ("start" or "pause"); doing it twice is the same as once."""
    if not _first_time(token):
        return
    if action == "pause":
        ws.run.pause(wait=False)  # does not wait for the step in progress ...
        # ... but for a moment for the model to be back (a worker answers in a few ms): the sidebar that then says
        # Resume shows the step training stopped at, not the worker's last report before it
        ws.run.wait_settled(PAUSE_SETTLE_S)
    else:
        pause_race()  # a session trains one thing at a time
        classroom.start(ws)  # within the server's cap on runs training at once


STEP_CLICKS = "_sb_step_clicks"  # Step clicks acted on in this session: the Step button's key


def step_once(ws: Workspace, token: str) -> None:
    if _first_time(token):
        st.session_state[STEP_CLICKS] = st.session_state.get(STEP_CLICKS, 0) + 1
        pause_race()
        ws.run.step_once(wait=False)  # now, or right after the step in progress
        st.rerun()  # the whole app: a paused page (no live timer) must show the step too


def reset_same(ws: Workspace, token: str) -> None:
    """New random weights, same text and settings (the sidebar's Reset)."""
    if _first_time(token):
        reset(ws.text, ws.config, ws.source)
        st.rerun()  # the whole app: a paused Train page (no live timer) must show the new model at once


def restore_good(ws: Workspace) -> None:
    """The Restore button: put back the last good weights (charviz.guard), pause, and say so once."""
    good = ws.run.restore_last_good()
    if good is not None:
        at = ws.run.restores[-1][0]  # (the step it paused at: a worker may have gone on past the last snapshot)
        st.session_state["_restored_msg"] = t("guard.restored", step=f"{good.step:,}", at=f"{at:,}")
    st.rerun()  # the whole app: every page shows the restored model, the live timers stop (paused)


def divergence_panel(ws: Workspace, snap: Snapshot, key: str) -> None:
    """While the run diverges: say so, how it is detected, and offer the last good weights back."""
    msg = st.session_state.get("_restored_msg")
    if msg and snap.diverging_bits is None and snap.state != "running":
        st.success(msg, icon=":material/history:")
    if snap.diverging_bits is None:
        return
    st.warning(t("guard.sidebar_diverging", bits=f"{snap.diverging_bits:,.1f}",
                 uniform=f"{uniform_bits(len(snap.vocab)):.2f}", window=guard.WINDOW),
               icon=":material/warning:")
    if snap.good_step is not None:
        st.button(t("guard.restore", step=f"{snap.good_step:,}"), key=key, type="primary",
                  use_container_width=True, icon=":material/history:", on_click=restore_good, args=(ws,),
                  help=t("guard.restore_help", step=f"{snap.good_step:,}"))
    st.caption(t("guard.how", window=guard.WINDOW, margin=f"{guard.MARGIN_BITS:g}", every=guard.KEEP_EVERY))


def status_metrics(snap: Snapshot) -> None:
    """Step, train/validation bits per char and chars/s of a snapshot, as big numbers."""
    last_bits = snap.last.bits if snap.last is not None and snap.last.applied else None
    draw_metrics(snap.step, snap.chars_per_sec, last_bits, snap.val_bits)


def training_status() -> None:
    """The sidebar status + controls. Call it once, from the entry script, so every page shows it."""
    classroom.watch_from_url()  # ?watch=CODE
    if classroom.watch_sidebar(REFRESH_S):
        return  # watching a shared run: a read-only sidebar
    live = get_workspace().run.busy

    @st.fragment(run_every=REFRESH_S if live else None)
    def _status() -> None:
        ws = get_workspace()
        snap = ws.run.snapshot()
        draw_head(snap.state, ws.source.label, ws.config)
        status_metrics(snap)
        divergence_panel(ws, snap, "sb_restore")
        if snap.error:
            alert("error", t("sidebar.paused_itself", error=message(snap.error)), snap.error, icon=":material/warning:")
        b1, b2 = st.columns(2)
        running = snap.state == "running"
        label = t("sidebar.pause") if running else t("sidebar.resume") if snap.step else t("sidebar.start")
        token = f"{ws.generation}:{snap.step}:{time.monotonic_ns()}"  # one per drawing of the buttons
        # one key per action: Streamlit 1.67 can dispatch a click again within the same interaction (when the
        # fragment it ran in asks for a full rerun, below), and then calls what the newest drawing registered
        # for that key. With one key for both, a Pause click, once the button had turned into Resume, started
        # the run again (the lost Pause, issue 11); with one each, a replayed click repeats its own action,
        # which the token makes a no-op. (The container keeps the CSS class .st-key-sb_start_pause.)
        action = "pause" if running else "start"
        with b1.container(key="sb_start_pause"):
            st.button(label, key=f"sb_{action}", type="primary", use_container_width=True,
                      icon=":material/pause:" if running else ":material/play_arrow:", on_click=start_or_pause,
                      args=(ws, action, token + action))
        # Step is keyed by the Step clicks so far: a replayed Step click names no button of the newest drawing
        # (with one key, the replay called the newest drawing's step_once, whose token was new: two steps). Not
        # by the step shown: a worker may not have made the step yet when the sidebar redraws. (The container
        # keeps the CSS class .st-key-sb_step.)
        with b2.container(key="sb_step"):
            st.button(t("sidebar.step_button"), key=f"sb_step_{st.session_state.get(STEP_CLICKS, 0)}",
                      use_container_width=True, on_click=step_once, args=(ws, token + "step"),
                      icon=":material/skip_next:", help=t("sidebar.step_help"))
        classroom.notices(ws)
        classroom.share_panel(ws)
        classroom.watch_box()
        # keyed by the model's generation: after a reset the popover is a new, closed one
        with st.popover(t("sidebar.reset"), icon=":material/restart_alt:", use_container_width=True,
                        key=f"sb_reset_popover_{ws.generation}"):
            st.write(t("sidebar.reset_question", step=f"{snap.step:,}"))
            st.button(t("sidebar.reset_confirm"), key="sb_reset_confirm", type="primary",
                      on_click=reset_same, args=(ws, token + "reset"))
        if ws.run.busy != live:
            st.rerun()  # the state changed: rerun the app so every live fragment updates its timer

    with st.sidebar:
        _status()
