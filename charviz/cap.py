"""A fair cap on training: at most N things train at once in this server process.

Anything with a `running` property can be registered (a TrainingRun, a worker-process run, a Race of several
runs that should count as one). Paused things do not count, because `running` is read at the moment of the
check. `start(who, fn)` calls `fn()` only if there is room, atomically with respect to other starts.

    from charviz.cap import default_cap
    cap = default_cap()
    cap.register(race)                   # once; a weak reference (a dropped race is forgotten)
    cap.start(race, race.start)          # raises CapReached (with .training, .limit) if the server is full
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from charviz import serving
from charviz.errors import KeyedError


class CapReached(KeyedError, RuntimeError):
    """Start refused: `training` runs already train on this server and the limit is `limit` (errors.cap_reached:
    message(e) in the reader's language)."""

    def __init__(self, training: int, limit: int):
        super().__init__("errors.cap_reached", n=training, limit=limit)
        self.training, self.limit = training, limit

    def __reduce__(self):
        return CapReached, (self.training, self.limit)


class TrainingCap:
    def __init__(self, limit: int | Callable[[], int]):
        self._limit = limit
        self._lock = threading.Lock()
        self._members: dict[int, weakref.ref] = {}  # by identity (members need not be hashable)

    @property
    def limit(self) -> int:
        return self._limit() if callable(self._limit) else self._limit

    def register(self, who) -> None:
        key = id(who)
        self._members[key] = weakref.ref(who, lambda ref, key=key: self._forget(key, ref))

    def _forget(self, key: int, ref) -> None:
        if self._members.get(key) is ref:  # (not a newer member that got the same id)
            self._members.pop(key, None)

    def unregister(self, who) -> None:
        self._members.pop(id(who), None)

    def training(self) -> int:
        """How many registered things train right now."""
        members = [r() for r in list(self._members.values())]
        return sum(1 for m in members if m is not None and _running(m))

    def room(self) -> int:
        return max(0, self.limit - self.training())

    def start(self, who, start: Callable[[], object]) -> None:
        """Call start() if `who` already trains or there is room; else raise CapReached. Registers `who`."""
        with self._lock:
            self.register(who)
            if not _running(who):
                n, limit = self.training(), self.limit
                if n >= limit:
                    raise CapReached(n, limit)
            start()


def _running(m) -> bool:
    try:
        return bool(m.running)
    except Exception:  # a member being torn down does not count
        return False


_default: TrainingCap | None = None
_default_lock = threading.Lock()


def default_cap() -> TrainingCap:
    """This server's cap (limit from CHARVIZ_MAX_TRAINING, default the CPU cores; read at every check)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TrainingCap(serving.max_training)
        return _default
