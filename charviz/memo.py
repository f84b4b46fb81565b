"""Results computed once per object and shared by everyone who draws that object.

A shared run's watchers (a class: 30 sessions) all draw the same snapshot of the same model every second.
Without sharing, the server builds the same loss chart and generates the same text sample once per watcher;
with `ObjectMemo`, the first session to ask computes it and the others reuse it for as long as that snapshot
(or frozen model) lives. An entry goes when its object is garbage-collected, so nothing outlives what it was
computed from, and a key must name everything else the result depends on (language, font scale, settings).

Results are shared between threads (every Streamlit session runs in its own): callers must treat them as
read-only (a figure handed to st.plotly_chart as it is, a string).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

WAIT_S = 30.0  # a thread waiting for another's result makes its own after this long (never waits forever)
_MISSING = object()


class ObjectMemo:
    """obj -> {key: value}, held while obj lives (obj need not be hashable: it is held by identity)."""

    def __init__(self, max_keys_per_object: int = 32):
        self._lock = threading.RLock()  # (re-entrant: a weakref callback may run while this thread holds it)
        self._entries: dict[int, tuple[weakref.ref, dict]] = {}
        self._max = max_keys_per_object
        self.hits = self.misses = 0  # (for tests and measurements)

    def get(self, obj: object, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value for (obj, key), made by `make()` the first time. While one thread makes it, the others
        asking for the same (obj, key) wait for that one instead of making it too (a class of watchers asks
        within the same second); if making it fails, each of them tries on its own."""
        oid = id(obj)
        with self._lock:
            entry = self._entries.get(oid)
            if entry is None or entry[0]() is not obj:  # new object (or a dead one's id reused)
                entry = (weakref.ref(obj, self._forget(oid)), {})
                self._entries[oid] = entry
            values = entry[1]
            got = values.get(key, _MISSING)
            if got is _MISSING:
                got = values[key] = _Pending()
                mine = True
                while len(values) > self._max:
                    values.pop(next(iter(values)))
                self.misses += 1
            elif not isinstance(got, _Pending):
                self.hits += 1
                return got
            else:
                mine = False
        if not mine:
            if got.done.wait(WAIT_S) and got.ok:  # someone else is making it
                with self._lock:
                    self.hits += 1
                return got.value
            return make()
        try:
            value = make()
        except BaseException:
            with self._lock:
                if values.get(key) is got:
                    del values[key]
            got.done.set()
            raise
        with self._lock:
            if values.get(key) is got:
                values[key] = value
        got.value, got.ok = value, True
        got.done.set()
        return value

    def _forget(self, oid: int) -> Callable[[weakref.ref], None]:
        def forget(ref: weakref.ref) -> None:
            with self._lock:
                entry = self._entries.get(oid)
                if entry is not None and entry[0] is ref:
                    del self._entries[oid]

        return forget

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for ref, _ in self._entries.values() if ref() is not None)


class _Pending:
    """A value being made by one thread; the others wait on `done`."""

    def __init__(self):
        self.done = threading.Event()
        self.value, self.ok = None, False


class RecentMemo:
    """key -> a value made at most `max_age_s` ago, shared by every thread asking for that key.

    For what changes with every snapshot but need not be remade that often: a shared run's text sample is
    drawn by each watcher every few seconds, each time from whichever snapshot is current, so keyed by the
    snapshot it would be generated about twice a second for a class. Here it is generated once per
    `max_age_s` for everybody, and the value carries what it was made from (the step), so what is drawn with
    it stays true. One thread makes a value while the others asking for the same key wait for it (a failure
    is not kept). Entries not asked for within `forget_s` are dropped.
    """

    def __init__(self, forget_s: float = 120.0, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}  # key -> (made at, value)
        self._making: dict[Hashable, threading.Lock] = {}
        self._forget, self._clock = forget_s, clock
        self.made = 0  # (for tests and measurements)

    def _fresh(self, key: Hashable, max_age_s: float):
        got = self._entries.get(key)
        return got if got is not None and self._clock() - got[0] < max_age_s else None

    def get(self, key: Hashable, max_age_s: float, make: Callable[[], Any]) -> Any:
        with self._lock:
            got = self._fresh(key, max_age_s)
            if got is not None:
                return got[1]
            making = self._making.setdefault(key, threading.Lock())
        with making:  # (one maker per key; the others wait here, then find its value)
            with self._lock:
                got = self._fresh(key, max_age_s)
            if got is not None:
                return got[1]
            value = make()
            now = self._clock()
            with self._lock:
                self._entries[key] = (now, value)
                self.made += 1
                for k in [k for k, (t0, _) in self._entries.items() if now - t0 > self._forget]:
                    del self._entries[k]
                    self._making.pop(k, None)
            return value


shared = ObjectMemo()  # the server's one memo (snapshots and frozen models as keys)
recent = RecentMemo()  # the server's one memo of values remade every few seconds (keyed by what they show)


def drawn(obj: object, key: tuple, make: Callable[[], Any]) -> Any:
    """shared.get for something drawn for a reader (a figure): the key also names the reader's language and
    font scale (projector mode), which every figure's text depends on. A figure comes frozen
    (charviz.figures.style.FrozenFigure): its dict, which st.plotly_chart serializes, is made once for all."""
    from charviz.display import font_scale
    from charviz.figures.style import freeze
    from charviz.i18n import current_language

    return shared.get(obj, (*key, current_language(), font_scale()), lambda: freeze(make()))
