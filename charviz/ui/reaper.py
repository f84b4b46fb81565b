"""Finish off closed sessions: what Streamlit keeps of a session whose tab was closed.

A closed tab's session is kept for a reconnect (server.disconnectedSessionTTL, 120 s) in a store that drops it
only lazily and never shuts it down: its session_state (the Workspace: model, optimizer, history, rewind
snapshots), its download callables and its uploaded files stay in memory after the TTL, until some later
disconnect happens to touch the store, or for ever for the media and upload managers, which are cleared only by
a shutdown. `watch(session_id)` (called when a session's resources are released) has the session shut down
properly once the TTL has passed without a reconnect, on Streamlit's event loop, and gives the memory back.
"""

from __future__ import annotations

import threading
import time
import weakref

from streamlit import config
from streamlit.runtime import Runtime

from charviz import memory

POLL_S = 5.0
_pending: dict[str, tuple[float, object]] = {}  # session id -> (when it was released, a weakref to its AppSession)
_lock = threading.Lock()
_thread: threading.Thread | None = None


def ttl_s() -> float:
    return float(config.get_option("server.disconnectedSessionTTL"))


def watch(session_id: str) -> None:
    """Shut `session_id` down once it has been gone for the reconnect TTL (unless it came back).

    Called from the session's on_release, while Streamlit still lists it as active: its AppSession is looked up
    now (weakly), because once the TTL has passed the reconnect store has usually dropped it (lazily, without a
    shutdown) while something else may still hold it (see `strip`)."""
    global _thread
    ref = None
    try:
        info = Runtime.instance()._session_mgr.get_active_session_info(session_id)  # noqa: SLF001
        ref = _weak(info.session) if info is not None else None
    except Exception:  # no runtime (tests)
        pass
    with _lock:
        _pending[session_id] = (time.monotonic(), ref)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="charviz-reaper", daemon=True)
            _thread.start()


def _loop() -> None:
    while True:
        time.sleep(POLL_S)
        with _lock:
            if not _pending:
                return
        try:
            rt = Runtime.instance()
            rt._get_async_objs().eventloop.call_soon_threadsafe(reap)  # noqa: SLF001 (the store is not thread-safe)
        except Exception:  # no runtime (tests) or it is stopping: nothing to do
            with _lock:
                _pending.clear()
            return


def _weak(session):
    try:
        return weakref.ref(session)
    except TypeError:  # (a stand-in without weak references: hold it until it is reaped)
        return lambda: session


def strip(session) -> None:
    """Empty a shut-down session: its session_state (the Workspace: model, optimizer, history, snapshots), its
    unsent messages and its fragments. Streamlit 1.67's event loop keeps the last session it flushed in a loop
    variable (`for active_session_info in ...` in Runtime._loop_coroutine) until another session is flushed,
    so a server whose tabs are all closed kept the last one, model and all (found with charviz.ui.memdebug)."""
    state = getattr(session, "_session_state", None)
    parts = [state, getattr(session, "_browser_queue", None), getattr(session, "_fragment_storage", None),
             # SessionState.clear() keeps the widgets' metadata, whose callbacks' args name the run
             getattr(getattr(state, "_new_widget_state", None), "widget_metadata", None)]
    for part in parts:
        try:
            part.clear()
        except Exception:  # (another Streamlit version: nothing to strip)
            pass


def reap(now: float | None = None) -> list[str]:
    """On the event loop: shut down every watched session gone for longer than the TTL. -> their ids."""
    now = time.monotonic() if now is None else now
    rt = Runtime.instance()
    mgr = rt._session_mgr  # noqa: SLF001
    done = []
    with _lock:
        items = list(_pending.items())
    for sid, (released, ref) in items:
        if mgr.get_active_session_info(sid) is not None:  # reconnected: no longer ours to reap
            done.append(sid)
            continue
        if now - released < ttl_s():
            continue
        storage = getattr(mgr, "_session_storage", None)
        info = storage.get(sid) if storage is not None else None
        if info is not None:
            storage.delete(sid)
        session = info.session if info is not None else (ref() if ref is not None else None)
        if session is not None:  # still stored, or dropped by the store but held elsewhere
            session.shutdown()  # Streamlit's own cleanup (once): media refs, uploaded files, caches
            strip(session)
        else:  # gone: clear what is keyed by its id
            rt.media_file_mgr.clear_session_refs(sid)
            rt.uploaded_file_mgr.remove_session_files(sid)
        done.append(sid)
    if done:
        with _lock:
            for sid in done:
                _pending.pop(sid, None)
        rt.media_file_mgr.remove_orphaned_files()
        memory.trim()
    return done
