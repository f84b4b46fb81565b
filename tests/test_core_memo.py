"""charviz.memo: results computed once per object, shared by every session drawing it, gone with the object."""

from __future__ import annotations

import gc
import threading

import pytest

from charviz import i18n
from charviz.memo import ObjectMemo, drawn, shared


class Thing:  # (a snapshot or a model stand-in: weak-referenceable, unhashable like a dataclass)
    __hash__ = None


def test_made_once_per_object_and_key_and_the_same_object_back():
    memo, calls = ObjectMemo(), []
    a, b = Thing(), Thing()

    def make(tag):
        calls.append(tag)
        return [tag]  # a fresh object each time it is made

    first = memo.get(a, "fig", lambda: make("a"))
    assert memo.get(a, "fig", lambda: make("a again")) is first  # shared, not remade
    assert memo.get(a, "other", lambda: make("a other")) == ["a other"]
    assert memo.get(b, "fig", lambda: make("b")) == ["b"]  # another object: its own
    assert calls == ["a", "a other", "b"] and (memo.hits, memo.misses) == (1, 3)


def test_entries_go_with_their_object():
    memo = ObjectMemo()
    things = [Thing() for _ in range(5)]
    for i, t in enumerate(things):
        memo.get(t, "k", lambda i=i: i)
    assert len(memo) == 5
    del things[:3], t
    gc.collect()
    assert len(memo) == 2 and len(memo._entries) == 2  # the dead ones' entries are removed, not just unreachable


def test_threads_asking_at_once_wait_for_the_one_making_it():
    memo, inside, release, calls = ObjectMemo(), threading.Event(), threading.Event(), []
    obj, results = Thing(), []

    def slow():
        calls.append(1)
        inside.set()
        assert release.wait(30)
        return object()

    def ask():
        results.append(memo.get(obj, "sample", slow))

    first = threading.Thread(target=ask)
    first.start()
    assert inside.wait(30)  # the first one is making it now
    others = [threading.Thread(target=ask) for _ in range(7)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(30)
    assert len(calls) == 1 and len(results) == 8 and all(r is results[0] for r in results)


def test_a_failure_is_not_kept_and_the_next_caller_tries_again():
    memo, obj = ObjectMemo(), Thing()

    def boom():
        raise RuntimeError("non-finite logits")

    with pytest.raises(RuntimeError):
        memo.get(obj, "sample", boom)
    assert memo.get(obj, "sample", lambda: "ok") == "ok"


def test_drawn_keys_name_the_readers_language():
    obj, lang = Thing(), {"now": "en"}
    old = i18n._resolver
    i18n.set_language_resolver(lambda: lang["now"])
    try:
        en = drawn(obj, ("title",), lambda: i18n.t("train.title"))
        lang["now"] = "ko"
        ko = drawn(obj, ("title",), lambda: i18n.t("train.title"))
        lang["now"] = "en"
        assert drawn(obj, ("title",), lambda: "remade") == en
    finally:
        i18n.set_language_resolver(old)
    assert en == i18n.t("train.title", lang="en") and ko == i18n.t("train.title", lang="ko") and en != ko
    assert len(shared) >= 1


def test_recent_is_made_once_per_age_for_every_thread_and_remade_after():
    """RecentMemo: one value per key while it is younger than max_age (8 threads asking at once make it
    once), remade once it is older, and a failure is not kept."""
    from charviz.memo import RecentMemo

    now = [100.0]
    memo = RecentMemo(forget_s=60.0, clock=lambda: now[0])
    calls, gate = [], threading.Event()

    def make():
        gate.wait(5.0)
        calls.append(now[0])
        return ("sample", len(calls))

    got = []
    threads = [threading.Thread(target=lambda: got.append(memo.get("k", 2.4, make))) for _ in range(8)]
    for th in threads:
        th.start()
    gate.set()
    for th in threads:
        th.join(10.0)
    assert got == [("sample", 1)] * 8 and calls == [100.0]
    now[0] = 102.3  # still younger than 2.4 s: the same
    assert memo.get("k", 2.4, make) == ("sample", 1)
    now[0] = 102.5  # older: remade
    assert memo.get("k", 2.4, make) == ("sample", 2) and memo.made == 2
    assert memo.get("other", 2.4, make) == ("sample", 3)  # another key: its own

    def boom():
        raise RuntimeError("non-finite")

    now[0] = 200.0
    with pytest.raises(RuntimeError):
        memo.get("k", 2.4, boom)
    assert memo.get("k", 2.4, make) == ("sample", 4)  # the failure was not kept
    now[0] = 400.0
    memo.get("new", 2.4, make)
    assert set(memo._entries) == {"new"}  # (entries not asked for within forget_s are dropped)


def test_a_drawn_figure_is_serialized_from_one_dict_made_once_and_exactly_as_before(monkeypatch):
    """drawn() freezes a figure: what st.plotly_chart sends (plotly's dict of it, then JSON, the same calls
    Streamlit 1.67 makes) is the same text as for the plain figure, and the dict is made once however many
    sessions draw it."""
    import numpy as np
    import plotly.io as pio
    from plotly.basedatatypes import BaseFigure
    from plotly.tools import return_figure_from_figure_or_data

    from charviz.figures import loss_figure
    from charviz.figures.style import FrozenFigure

    rng = np.random.default_rng(0)
    hist = [{"step": i, "bits": 4 - i / 500 + rng.random() / 10} for i in range(1, 1500)]
    val = [{"step": i, "val_bits": 3.0} for i in range(100, 1500, 100)]

    def serialized(fig) -> str:  # what streamlit.elements.plotly_chart does with a figure
        return pio.to_json(return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)

    plain = serialized(loss_figure(hist, val, 40, marks=[200, 700, 1200]))
    made = []
    to_dict = BaseFigure.to_dict
    monkeypatch.setattr(BaseFigure, "to_dict", lambda self: made.append(1) or to_dict(self))

    class Snap:  # (an object the memo can hold weakly, like a snapshot)
        pass

    snap = Snap()
    figs = [drawn(snap, ("loss-test",), lambda: loss_figure(hist, val, 40, marks=[200, 700, 1200]))
            for _ in range(5)]
    assert all(f is figs[0] for f in figs) and isinstance(figs[0], FrozenFigure)
    texts = [serialized(f) for f in figs]  # five sessions draw it
    assert texts == [plain] * 5
    assert len(made) == 1, "the figure's dict must be made once for all drawings"
