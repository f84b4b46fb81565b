"""Issue 13: what a closed session leaves behind. The download button's callable (kept by Streamlit's media
manager until the session shuts down, which a closed tab's session never does) must not keep the run alive;
closed sessions are shut down once the reconnect TTL has passed; a released run drops its copies."""

from __future__ import annotations

import gc
import time
import weakref
from types import SimpleNamespace

import streamlit as st
from conftest import sidebar_step

from charviz import memory
from charviz.ui import reaper
from tests.test_app_train import app, workspace


def test_download_callable_does_not_keep_the_run_alive(monkeypatch):
    captured = []
    real = st.download_button

    def spy(*args, **kwargs):
        captured.append(kwargs.get("data"))
        return real(*args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    at = app("pages/train.py")
    sidebar_step(at).click().run()
    assert captured and callable(captured[-1])
    assert captured[-1]()[:2] == b"PK"  # it still makes the checkpoint while the run lives
    old = weakref.ref(workspace(at).run)
    at.button(key="sb_reset_confirm").click().run()  # a new run replaces the old one
    at.run()  # (Streamlit keeps the previous run's widget callbacks, which name the old run, for one run)
    gc.collect()
    assert old() is None, "the download button's callable keeps the replaced run (and its model) alive"
    assert captured[0]() == b""  # a callable left behind by a gone run makes nothing


def test_released_run_drops_its_copies():
    at = app()
    sidebar_step(at).click().run()
    run = workspace(at).run
    assert run._frozen is not None and run._published is not None
    st.cache_resource.clear()  # what Streamlit does when the tab goes away (on_release)
    assert run._frozen is None and run._published is None and not run.alive


class _Storage(dict):
    def delete(self, sid):
        del self[sid]


def test_reaper_shuts_down_closed_sessions_after_the_ttl(monkeypatch):
    shut, cleared = [], []
    storage = _Storage()
    active = {}
    mgr = SimpleNamespace(_session_storage=storage, get_active_session_info=active.get)
    media = SimpleNamespace(clear_session_refs=cleared.append, remove_orphaned_files=lambda: None)
    rt = SimpleNamespace(_session_mgr=mgr, media_file_mgr=media,
                         uploaded_file_mgr=SimpleNamespace(remove_session_files=cleared.append))
    monkeypatch.setattr(reaper.Runtime, "instance", classmethod(lambda cls: rt))
    monkeypatch.setattr(reaper, "ttl_s", lambda: 120.0)
    monkeypatch.setattr(reaper, "_loop", lambda: None)  # reap() is called by hand here
    monkeypatch.setattr(reaper, "_pending", {})
    for sid in ("closed", "back", "gone"):
        reaper.watch(sid)
    storage["closed"] = SimpleNamespace(session=SimpleNamespace(shutdown=lambda: shut.append("closed")))
    active["back"] = object()  # reconnected
    now = time.monotonic()
    assert reaper.reap(now + 60) == ["back"]  # within the TTL: the closed ones may still come back
    assert shut == [] and "closed" in storage
    assert sorted(reaper.reap(now + 121)) == ["closed", "gone"]
    assert shut == ["closed"] and "closed" not in storage
    assert cleared == ["gone", "gone"]  # dropped by the store without a shutdown: its refs and uploads
    assert reaper.reap(now + 500) == []


def test_trim_returns_memory_on_glibc():
    assert memory.trim() in (True, False)
    import ctypes.util

    if ctypes.util.find_library("c"):
        assert memory.trim() is True


def test_reaper_empties_the_shut_down_session(monkeypatch):
    """Streamlit's event loop keeps the last session it flushed (a loop variable) after it is shut down: what
    the reaper shuts down must hold no model any more (its session_state, unsent messages, fragments)."""
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
    from streamlit.runtime.state.session_state import SessionState

    state = SessionState()
    model = _Model()
    state["charviz_workspace"] = model
    state._new_widget_state.widget_metadata["sb_step"] = SimpleNamespace(callback_args=(model,))  # on_click args
    queue = ForwardMsgQueue()
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.delta.new_element.markdown.body = "x" * 1000
    msg.metadata.delta_path[:] = [0, 0]
    queue.enqueue(msg)
    frags = SimpleNamespace(cleared=[])
    frags.clear = lambda: frags.cleared.append(True)
    shut = []
    session = SimpleNamespace(_session_state=state, _browser_queue=queue, _fragment_storage=frags,
                              shutdown=lambda: shut.append(True))
    storage = _Storage()  # the reconnect store dropped it when its TTL passed (lazily, without a shutdown)
    active = {"closed": SimpleNamespace(session=session)}  # on_release runs while it is still active
    mgr = SimpleNamespace(_session_storage=storage, get_active_session_info=active.get)
    rt = SimpleNamespace(_session_mgr=mgr, media_file_mgr=SimpleNamespace(remove_orphaned_files=lambda: None))
    monkeypatch.setattr(reaper.Runtime, "instance", classmethod(lambda cls: rt))
    monkeypatch.setattr(reaper, "ttl_s", lambda: 0.0)
    monkeypatch.setattr(reaper, "_loop", lambda: None)
    monkeypatch.setattr(reaper, "_pending", {})
    reaper.watch("closed")
    del active["closed"]
    gone = weakref.ref(model)
    del model
    assert reaper.reap(time.monotonic() + 1) == ["closed"]
    gc.collect()
    assert gone() is None, "the shut-down session still holds its Workspace"
    assert "charviz_workspace" not in state and not state._new_widget_state.widget_metadata
    assert queue.is_empty() and frags.cleared == [True] and shut == [True]


class _Model:
    """Stands for the Workspace (weakly referenceable)."""
