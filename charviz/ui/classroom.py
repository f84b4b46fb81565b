"""The sidebar's classroom parts: Start under the server's training cap, and what to say when it is full.

Kept apart from sidebar.py so that the sidebar only calls `start(ws)` and `notices(ws)`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from dataclasses import replace
from types import SimpleNamespace

import streamlit as st

from charviz import serving
from charviz.cap import CapReached, default_cap
from charviz.errors import message, to_plain
from charviz.i18n import t
from charviz.snapshots import SnapshotStore
from charviz.ui.alerts import alert

_NOTICE = "_classroom_notice"


def start(ws) -> None:
    """Start (or resume) the session's run if the server has room for one more training run; else say so."""
    from charviz.worker import WorkerDied

    st.session_state.pop(_NOTICE, None)
    try:
        default_cap().start(ws.run, ws.run.start)
    except CapReached as e:
        st.session_state[_NOTICE] = ("cap", e.training, e.limit)
    except WorkerDied as e:
        st.session_state[_NOTICE] = ("worker", e)  # rendered when drawn, in the reader's language


def start_other(who, start_fn) -> None:
    """Start something else that trains for this session (a Race: `who` has `.running`) within the cap."""
    st.session_state.pop(_NOTICE, None)
    try:
        default_cap().start(who, start_fn)
    except CapReached as e:
        st.session_state[_NOTICE] = ("cap", e.training, e.limit)


def notices(ws) -> None:
    """What the last Start could not do (drawn under the sidebar's buttons until the next click)."""
    notice = st.session_state.get(_NOTICE)
    if notice is None:
        return
    if ws.run.running and notice[0] != "watch":
        st.session_state.pop(_NOTICE, None)
        return
    if notice[0] == "watch":
        st.warning(notice[1], icon=":material/visibility_off:")
        st.session_state.pop(_NOTICE, None)
        return
    if notice[0] == "cap":
        _, n, limit = notice
        st.warning(t("classroom.cap_full", n=n, limit=limit), icon=":material/group:")
    else:
        alert("error", t("classroom.start_failed", error=message(notice[1])), notice[1], icon=":material/error:")


# ---------------------------------------------------------------------------------------------------------
# sharing (the owner's side)

def _registry():
    from charviz.share import default_registry

    return default_registry()


def _meta(ws) -> dict:
    sample = ws.run.trainer.val_text[:400] or ws.text[:400]
    # the label as key and parameters (plain data, also through Redis): each watcher reads it in their language
    return {"label": to_plain(ws.source.label_msg), "sample": sample}


def _share(ws) -> None:
    _registry().share(ws.run, _meta(ws))


def _unshare(code: str) -> None:
    _registry().unshare(code)


def link(code: str) -> str:
    base = (st.context.url or "").split("?", 1)[0]
    return f"{base}?watch={code}"


def share_panel(ws) -> None:
    """Share with the class / the code, the link and Stop sharing (in the sidebar's status fragment)."""
    reg = _registry()
    code = reg.code_of(ws.run)
    if code is None:
        st.button(t("classroom.share"), key="sb_share", icon=":material/cast_for_education:",
                  use_container_width=True, on_click=_share, args=(ws,), help=t("classroom.share_help"))
        return
    reg.owner_here(ws.run)
    n = reg.watcher_count(code)
    st.markdown(t("classroom.shared", n=n))
    st.code(code, language=None)
    st.caption(f"[{link(code)}]({link(code)})  \n" + t("classroom.not_password"))
    if reg.redis_error:
        alert("warning", t("classroom.redis_down_owner", error=message(reg.redis_error)), reg.redis_error,
              icon=":material/cloud_off:")
    st.button(t("classroom.stop_sharing"), key="sb_unshare", icon=":material/cancel_presentation:",
              use_container_width=True, on_click=_unshare, args=(code,))


def follow_reset(old_run, ws) -> None:
    """The owner reset their model: the watchers follow the new one (same code)."""
    _registry().rebind(old_run, ws.run, _meta(ws))


def owner_left(run) -> bool:
    """The owner's tab went away: True if the run is shared (it then trains on for the grace period)."""
    return _registry().owner_left(run)


# ---------------------------------------------------------------------------------------------------------
# watching (the students' side)

WATCH_KEY = "charviz_watch"  # session_state: the Workspace of the watched run, while watching
_URL_SEEN = "_charviz_watch_url"
WATCH_ICON = ":blue[:material/visibility:]"
WATCH_PAUSED_POLL_S = 2.0  # a watcher of a paused run checks this often whether it goes on or ends
# a watcher's sidebar (step, loss, speed) redraws this often while the run trains; the page's charts every
# REFRESH_S. Every redraw is a script run on the server: a class of 30 watchers asks for 30 a second per
# fragment, and the charts are what a student looks at
WATCH_SIDEBAR_S = 2.0
# at most this many watchers' live redraws run at once on a server; the others wait their turn (a few ms). Every
# session's script runs in a thread of its own: 30 watchers redrawing at once are 30 threads taking turns at
# the interpreter lock with the server's event loop, which then gets too few turns to send anything (measured:
# 30 watchers at load 10, nothing reached any browser for 15 s, the owner's sidebar included)
WATCHER_TURNS = 2
TURN_WAIT_S = 5.0  # a watcher's redraw goes ahead anyway after waiting this long
_turns = threading.BoundedSemaphore(WATCHER_TURNS)


# the sessions watching on this server (any shared run): session id -> when it last read its run (monotonic). A
# watcher reads at every redraw, at least every WATCH_PAUSED_POLL_S while its run is paused
_here: dict[str, float] = {}
_here_lock = threading.Lock()
# a watcher counts until this long after its last read, times the slowdown in force (its sidebar redraws every
# WATCH_SIDEBAR_S x slowdown, its charts every REFRESH_S x slowdown); a closed tab stops counting after that
HERE_WITHIN_S = 10.0
_slow = [1.0]  # the slowdown last computed


def _seen_here(watcher: str) -> None:
    with _here_lock:
        _here[watcher] = time.monotonic()


def watchers_here() -> int:
    """How many sessions watch a shared run on this server (any run; those that read it within HERE_WITHIN_S times
    the slowdown in force)."""
    now, within = time.monotonic(), HERE_WITHIN_S * _slow[0]
    with _here_lock:
        for w in [w for w, seen in _here.items() if now - seen > within]:
            del _here[w]
        return len(_here)


def slowdown(n: int | None = None) -> float:
    """How many times slower than the full rate a watcher on this server redraws: 1 up to
    serving.watchers_full_rate() watchers, then n / that, rounded up to a half (so a class that arrives one by
    one changes the watchers' timers a few times, not with every newcomer). 30 watchers at the default 20: 1.5,
    the charts every 1.5 s."""
    if n is not None:
        return _slowdown(n)
    _slow[0] = _slowdown(watchers_here())
    return _slow[0]


def _slowdown(n: int) -> float:
    full = serving.watchers_full_rate()
    return 1.0 if n <= full else math.ceil(2 * n / full) / 2


@contextlib.contextmanager
def turn():
    """Around a live fragment's body: a watcher's redraw waits for one of the WATCHER_TURNS; the owner's (and
    anyone's own run's) never waits."""
    if watching() is None:
        yield
        return
    got = _turns.acquire(timeout=TURN_WAIT_S)
    try:
        yield
    finally:
        if got:
            _turns.release()


def taking_turns(fn):
    """A live fragment's body run within `turn()`: put it under @st.fragment (functools.wraps keeps the name,
    which Streamlit's fragment id is made from)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with turn():
            return fn(*args, **kwargs)

    return wrapped


class WatchedRun:
    """A shared run seen from a watcher's session: TrainingRun's reading interface, no controls."""

    def __init__(self, code: str, watcher: str):
        self.code, self.watcher = code, watcher
        self.lock = threading.RLock()  # (the pages may take it; nothing here trains)
        self.problem = ""  # why the run cannot be read now, in the user's words ("" when it can)
        self.ended = False
        self._last = None  # (snapshot, meta) last read
        self.snapshots = SnapshotStore()  # (rewind is the owner's: a watcher keeps no earlier weights)

    def read(self):
        """(Snapshot, meta), or the last one read if the share cannot be read now (self.problem says why)."""
        from charviz.share import ShareEnded, ShareError

        _seen_here(self.watcher)
        try:
            snap, meta = _registry().snapshot(self.code, self.watcher)
        except ShareError as e:
            self.problem, self.ended = reason_words(e), isinstance(e, ShareEnded)
            if self._last is None:
                raise
            snap, meta = self._last
            return replace(snap, state="stopped" if self.ended else snap.state, chars_per_sec=0.0), meta
        self.problem, self.ended = "", False
        self._last = (snap, meta)
        return snap, meta

    def snapshot(self):
        return self.read()[0]

    @property
    def state(self) -> str:
        return self.snapshot().state if self._last is None else self._last[0].state

    @property
    def running(self) -> bool:
        return self.state == "running" and not self.problem

    @property
    def busy(self) -> bool:
        return self.running

    @property
    def trainer(self):
        """What the pages read from a trainer: the text sample (for default inputs), config, vocabulary, step."""
        snap, meta = self._last if self._last is not None else self.read()
        return SimpleNamespace(val_text=meta["sample"], text=meta["sample"], config=snap.config,
                               vocab=snap.vocab, steps=snap.step)

    def _refuse(self, *args, **kwargs):
        raise PermissionError(t("classroom.read_only"))

    start = resume = step_once = set_lr = set_clip = set_carry_hidden = _refuse

    def pause(self, wait: bool = True) -> None:
        pass  # (a page pausing "the session's run" before its own training: the watched run is not ours)

    def stop(self, timeout: float = 0.0) -> None:
        pass  # a watcher's session going away stops nothing

    def drop_copies(self) -> None:
        pass


def watching():
    """The watched run's Workspace while this session watches one, else None."""
    return st.session_state.get(WATCH_KEY)


def read_only(ws) -> bool:
    return isinstance(ws.run, WatchedRun)


def watch(code_text: str) -> str:
    """Enter watch mode for a code. Returns "" or why not (for the user)."""
    from charviz.share import ShareError, normalize_code
    from charviz.ui.session import Source, Workspace, own_workspace

    code = normalize_code(code_text)
    if code is None:
        return t("classroom.not_a_code", text=code_text)
    run = WatchedRun(code, watcher=_session_id())
    try:
        snap, meta = run.read()
    except ShareError as e:
        return t("classroom.cannot_watch", code=code, reason=reason_words(e))
    own = own_workspace()
    if own.run.running:
        own.run.pause()  # a watcher trains nothing; their own run waits, paused, as it was
    source = Source("shared", code, shared_label=meta["label"])
    st.session_state[WATCH_KEY] = Workspace(run, source, meta["sample"], generation=int(time.time()))
    return ""


def leave() -> None:
    st.session_state.pop(WATCH_KEY, None)
    if "watch" in st.query_params:
        del st.query_params["watch"]


def watch_from_url() -> None:
    """?watch=CODE in the address: watch that run (once per code seen in the address)."""
    code = st.query_params.get("watch")
    if not code or st.session_state.get(_URL_SEEN) == code:
        return
    st.session_state[_URL_SEEN] = code
    problem = watch(code)
    if problem:
        st.session_state[_NOTICE] = ("watch", problem)


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "?"


def _watch_clicked() -> None:
    problem = watch(st.session_state.get("sb_watch_code", ""))
    if problem:
        st.session_state[_NOTICE] = ("watch", problem)


def watch_box() -> None:
    """A code box to watch a shared run (in the sidebar, under the controls)."""
    with st.popover(t("classroom.watch_popover"), icon=":material/visibility:", use_container_width=True):
        st.text_input(t("classroom.watch_code"), key="sb_watch_code", placeholder=t("classroom.code_example"))
        st.button(t("classroom.watch_go"), key="sb_watch_go", type="primary", on_click=_watch_clicked)


def watch_sidebar(refresh_s: float) -> bool:
    """The sidebar of a watching session (status, disabled controls that say why, Leave). False if not
    watching (the normal sidebar is drawn instead)."""

    ws = watching()
    if ws is None:
        return False
    run: WatchedRun = ws.run
    live = run.running or bool(run.problem and not run.ended)
    slow = slowdown()  # (the page's live fragments were given the same: sidebar.live_every)
    # while the shared run trains (or cannot be read): every WATCH_SIDEBAR_S; while it is paused too, to see
    # the owner resume or stop sharing; once it has ended, never
    every = max(refresh_s, WATCH_SIDEBAR_S) * slow if live else None if run.ended else WATCH_PAUSED_POLL_S

    @st.fragment(run_every=every)
    @taking_turns
    def _status() -> None:
        if watching() is not ws:
            st.rerun()  # left watch mode (a click in this fragment): the whole app draws the own run again
        _draw_status(ws, run, live, every)
        if live and slowdown() != slow:
            st.rerun()  # watchers came or went: rerun the app so that every live fragment takes the new timer
        if live and slow > 1:
            st.caption(t("classroom.slowed", n=watchers_here(), full=serving.watchers_full_rate(),
                         every=f"{refresh_s * slow:g}"))

    with st.sidebar:
        _status()
    return True


def _draw_status(ws, run, live: bool, every) -> None:
    """The watcher's sidebar: whose run, its status and numbers, the controls greyed out, Leave."""
    from charviz.ui.status import draw_head, draw_metrics

    snap = run.snapshot()
    st.markdown(f"#### {WATCH_ICON} {t('classroom.watching', code=run.code)}")
    draw_head(snap.state, ws.source.label, snap.config)
    last_bits = snap.last.bits if snap.last is not None and snap.last.applied else None
    draw_metrics(snap.step, snap.chars_per_sec, last_bits, snap.val_bits)
    if run.ended:
        st.info(t("classroom.ended", reason=run.problem, step=f"{snap.step:,}"), icon=":material/stop_circle:")
    elif run.problem:
        st.warning(t("classroom.unavailable", reason=run.problem, step=f"{snap.step:,}"),
                   icon=":material/cloud_off:")
    elif snap.error:
        alert("error", t("classroom.owner_paused_itself", error=message(snap.error)), snap.error,
              icon=":material/warning:")
    b1, b2 = st.columns(2)
    b1.button(t("sidebar.pause") if snap.state == "running" else t("sidebar.start"), key="sb_start_pause",
              disabled=True, use_container_width=True, help=t("classroom.read_only"))
    b2.button(t("sidebar.step_button"), key="sb_step", disabled=True, use_container_width=True,
              help=t("classroom.read_only"))
    st.caption(t("classroom.read_only"))
    st.button(t("classroom.leave"), key="sb_leave", icon=":material/logout:", use_container_width=True,
              on_click=leave)
    if (run.running or bool(run.problem and not run.ended)) != live or (run.ended and every is not None):
        st.rerun()


def reason_words(e) -> str:
    """Why a share cannot be watched, in the user's language (e: a charviz.share.ShareError)."""
    return t(f"classroom.reason_{e.reason}", minutes=f"{e.minutes:g}")


def read_only_settings(ws) -> None:
    """The Train page's live settings, for a watcher: what the owner has set, and why they cannot change it."""
    cfg = ws.config
    st.info(t("classroom.settings_read_only", lr=f"{cfg.lr:g}",
              clip=f"{cfg.clip:g}" if cfg.clip is not None else t("classroom.off"),
              carry=t("classroom.on") if cfg.carry_hidden else t("classroom.off")), icon=":material/visibility:")
