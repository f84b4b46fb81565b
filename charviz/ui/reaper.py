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

from streamlit import config
from streamlit.runtime import Runtime

from charviz import memory

POLL_S = 5.0
_pending: dict[str, float] = {}  # session id -> when it was released
_lock = threading.Lock()
_thread: threading.Thread | None = None


def ttl_s() -> float:
    return float(config.get_option("server.disconnectedSessionTTL"))


def watch(session_id: str) -> None:
    """Shut `session_id` down once it has been gone for the reconnect TTL (unless it came back)."""
    global _thread
    with _lock:
        _pending[session_id] = time.monotonic()
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


def reap(now: float | None = None) -> list[str]:
    """On the event loop: shut down every watched session gone for longer than the TTL. -> their ids."""
    now = time.monotonic() if now is None else now
    rt = Runtime.instance()
    mgr = rt._session_mgr  # noqa: SLF001
    done = []
    with _lock:
        items = list(_pending.items())
    for sid, released in items:
        if mgr.get_active_session_info(sid) is not None:  # reconnected: no longer ours to reap
            done.append(sid)
            continue
        if now - released < ttl_s():
            continue
        storage = getattr(mgr, "_session_storage", None)
        info = storage.get(sid) if storage is not None else None
        if info is not None:
            storage.delete(sid)
            info.session.shutdown()  # Streamlit's own cleanup: media refs, uploaded files, caches
        else:  # the store already dropped it without a shutdown: clear what is keyed by its id
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
