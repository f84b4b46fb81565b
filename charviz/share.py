"""Shared runs: a run gets a short code, and anyone with the code can watch it (read-only).

- `new_code()`: 8 characters in two groups ("K7PM-X2QH") from 31 that cannot be confused on a projector
  (no 0/O, 1/I/L): about 40 bits, so guessing one among a class's codes takes ~10^11 tries. Not a password:
  anyone who sees the code (or the link) can watch.
- `ShareRegistry` (one per server process): the runs this server shares, by code. A shared run outlives its
  owner's closed tab for a grace period, then stops; the owner can stop sharing at once. Watchers of an
  ended share are told why (`ShareEnded`), never shown an error.
- With Redis (CHARVIZ_REDIS_URL), the owner's server also publishes each shared run's snapshot as plain
  data (`encode_snapshot`: JSON + numpy arrays, never pickle) at most every PUBLISH_S, and a server that does
  not hold a code reads it from there: watchers can be served by any replica.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from charviz import errors, lifecycle

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_GROUPS, GROUP_LEN = 2, 4
PUBLISH_S = 1.0  # a shared run's snapshot goes to Redis at most this often
ENDED_KEEP_S = 3600.0  # an ended share's reason is kept this long, for watchers who come back
SHARED_SNAPSHOT_S = 0.5  # watchers asking within this long of each other get the same snapshot (charviz.memo)
REDIS_TTL_S = 60  # a published snapshot expires unless refreshed (an owner server that died)
_PREFIX = "charviz:share:"
_MAGIC = b"CVZ1"


class ShareError(RuntimeError):
    """Base. `reason` is a token for the UI's catalogue (classroom.reason_<reason>), `minutes` its number."""

    reason = "not_found"

    def __init__(self, message: str = "", minutes: float = 0.0):
        super().__init__(message or REASONS[self.reason].format(minutes=f"{minutes:g}"))
        self.minutes = minutes


class ShareNotFound(ShareError):
    reason = "not_found"


class ShareEnded(ShareError):
    """The share ended: `reason` is "stopped" (its owner stopped sharing) or "left" (owner gone > grace)."""

    def __init__(self, token: str):
        kind, _, minutes = token.partition(":")
        self.reason = kind if kind in ("stopped", "left") else "stopped"
        super().__init__(minutes=float(minutes or 0))


class ShareUnavailable(ShareError):
    """The shared run may exist but cannot be read now (Redis unreachable)."""

    reason = "unavailable"


REASONS = {  # English, for logs and the library; the UI shows the catalogue's words for the same reason
    "not_found": "no shared run has this code",
    "stopped": "its owner stopped sharing it",
    "left": "its owner left more than {minutes} minutes ago, so it has stopped",
    "unavailable": "the class's shared store (Redis) cannot be reached right now",
}


def new_code() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LEN)) for _ in range(CODE_GROUPS))


def normalize_code(text: str) -> str | None:
    """A code as typed or read off a projector ('k7pm x2qh', 'K7PMX2QH') -> 'K7PM-X2QH'; None if not a code."""
    s = re.sub(r"[\s\-_.]", "", str(text or "")).upper()
    if len(s) != CODE_GROUPS * GROUP_LEN or any(c not in ALPHABET for c in s):
        return None
    return "-".join(s[i : i + GROUP_LEN] for i in range(0, len(s), GROUP_LEN))


# ---------------------------------------------------------------------------------------------------------
# a snapshot as bytes (for Redis): JSON header + the weights as a numpy .npz (no pickle either way)


def encode_snapshot(snap, meta: dict) -> bytes:
    """A Snapshot (charviz.train.Snapshot) and its share's meta -> bytes."""
    header = {
        "state": snap.state, "step": snap.step, "chars_seen": snap.chars_seen, "history": snap.history,
        "val_history": snap.val_history, "last": asdict(snap.last) if snap.last is not None else None,
        "vocab": list(snap.vocab.itos), "config": snap.config.to_dict(), "error": errors.to_plain(snap.error),
        "chars_per_sec": snap.chars_per_sec, "val_bits": snap.val_bits, "meta": meta,
    }
    buf = io.BytesIO()
    np.savez(buf, **{k: v.detach().cpu().numpy() for k, v in snap.model.state_dict().items()})
    head = json.dumps(header).encode("utf-8")
    return _MAGIC + len(head).to_bytes(8, "little") + head + buf.getvalue()


def decode_snapshot(data: bytes):
    """bytes from encode_snapshot -> (Snapshot with a frozen model, meta). Raises ValueError if malformed."""
    from charviz.config import TrainConfig
    from charviz.data import Vocab
    from charviz.run import Snapshot
    from charviz.worker import model_from_weights, stats_from_dict

    if not data.startswith(_MAGIC):
        raise ValueError("not a charviz snapshot")
    n = int.from_bytes(data[4:12], "little")
    h = json.loads(data[12 : 12 + n].decode("utf-8"))
    with np.load(io.BytesIO(data[12 + n :]), allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    vocab, config = Vocab(tuple(h["vocab"])), TrainConfig.from_dict(h["config"])
    snap = Snapshot(
        state=h["state"], step=h["step"], chars_seen=h["chars_seen"], history=h["history"],
        val_history=h["val_history"], last=stats_from_dict(h["last"]),
        model=model_from_weights(len(vocab), config, weights), vocab=vocab, config=config,
        error=errors.from_plain(h["error"]), chars_per_sec=h["chars_per_sec"], val_bits=h["val_bits"],
    )
    return snap, h["meta"]


# ---------------------------------------------------------------------------------------------------------
# the registry


@dataclass
class Share:
    code: str
    run: object  # a TrainingRun or ProcessRun (this server's)
    meta: dict  # label (what it trains on), sample (text for the watchers' default inputs), owner
    owner_gone_at: float | None = None  # monotonic time the owner's tab went away
    ended: str = ""  # why it ended ("" while live): "stopped", or "left:<minutes>"
    ended_at: float = 0.0
    watchers: dict = field(default_factory=dict)  # watcher id -> last seen (monotonic)
    seen: tuple | None = None  # (monotonic time, run, snapshot): the snapshot the watchers were last given


class ShareRegistry:
    """This server's shared runs. Thread-safe. `grace_s` is read at every check (a setting)."""

    def __init__(self, grace_s=600.0, redis_url: str | None = None):
        self._grace = grace_s
        self._lock = threading.Lock()
        self._shares: dict[str, Share] = {}
        self._redis = RedisChannel(redis_url) if redis_url else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick_loop, name="charviz-shares", daemon=True)
        self._thread.start()
        lifecycle.track(self, lifecycle.SERVICES)

    @property
    def grace_s(self) -> float:
        return float(self._grace() if callable(self._grace) else self._grace)

    # -- owner side -----------------------------------------------------------------------------------------

    def share(self, run, meta: dict) -> str:
        """Share `run` (again: the same code while it is shared). Returns the code."""
        with self._lock:
            for s in self._shares.values():
                if s.run is run and not s.ended:
                    s.owner_gone_at = None
                    return s.code
            code = new_code()
            while code in self._shares:
                code = new_code()
            self._shares[code] = Share(code, run, dict(meta))
        if self._redis is not None:
            self._redis.publish_now(self._shares[code])
        return code

    def code_of(self, run) -> str | None:
        with self._lock:
            for s in self._shares.values():
                if s.run is run and not s.ended:
                    return s.code
        return None

    def rebind(self, old_run, new_run, meta: dict) -> None:
        """The owner replaced their run (a reset): the share (same code) follows the new one."""
        with self._lock:
            for s in self._shares.values():
                if s.run is old_run and not s.ended:
                    s.run, s.meta = new_run, dict(meta)

    def unshare(self, code: str) -> None:
        self._end(code, "stopped", stop_run=False)

    def owner_left(self, run) -> bool:
        """The owner's tab went away. True if the run is shared (it then trains on for the grace period)."""
        with self._lock:
            for s in self._shares.values():
                if s.run is run and not s.ended:
                    s.owner_gone_at = time.monotonic()
                    return True
        return False

    def owner_here(self, run) -> None:
        with self._lock:
            for s in self._shares.values():
                if s.run is run:
                    s.owner_gone_at = None

    def watcher_count(self, code: str, within_s: float = 10.0) -> int:
        now = time.monotonic()
        with self._lock:
            s = self._shares.get(code)
            return 0 if s is None else sum(1 for t in s.watchers.values() if now - t < within_s)

    # -- watcher side ----------------------------------------------------------------------------------------

    def snapshot(self, code: str, watcher: str | None = None):
        """(Snapshot, meta) of the shared run `code`. Raises ShareNotFound / ShareEnded / ShareUnavailable."""
        self._tick()
        with self._lock:
            s = self._shares.get(code)
            if s is not None:
                if s.ended:
                    raise ShareEnded(s.ended)
                if watcher is not None:
                    s.watchers[watcher] = time.monotonic()
                run, meta = s.run, s.meta
            else:
                run = None
        if run is not None:
            return self._shared_snapshot(s, run), meta
        if self._redis is None:
            raise ShareNotFound()
        return self._redis.read(code)

    def _shared_snapshot(self, s: Share, run):
        """The run's snapshot, one per SHARED_SNAPSHOT_S for all its watchers: one object, so what is drawn from
        it (charviz.memo: figures, text samples) is computed once for the class, not once per watcher."""
        now = time.monotonic()
        seen = s.seen
        if seen is not None and seen[1] is run and now - seen[0] < SHARED_SNAPSHOT_S:
            return seen[2]
        snap = run.snapshot()
        s.seen = (now, run, snap)
        return snap

    # -- ending -----------------------------------------------------------------------------------------------

    def _end(self, code: str, reason: str, stop_run: bool) -> None:
        with self._lock:
            s = self._shares.get(code)
            if s is None or s.ended:
                return
            s.ended, s.ended_at = reason, time.monotonic()
            s.seen = None  # (its snapshot holds a model: not kept for the hour the reason is)
            run = s.run
        if stop_run:
            run.stop(timeout=2.0)
        if self._redis is not None:
            self._redis.end(code, reason)

    def _tick(self) -> None:
        """End shares whose owner has been gone longer than the grace period; forget long-ended ones."""
        now, grace = time.monotonic(), self.grace_s
        with self._lock:
            expired = [s.code for s in self._shares.values()
                       if not s.ended and s.owner_gone_at is not None and now - s.owner_gone_at >= grace]
            for code in [c for c, s in self._shares.items() if s.ended and now - s.ended_at > ENDED_KEEP_S]:
                del self._shares[code]
        for code in expired:
            self._end(code, f"left:{grace / 60:g}", stop_run=True)

    def _tick_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._tick()
                if self._redis is not None:
                    with self._lock:
                        live = [s for s in self._shares.values() if not s.ended]
                    for s in live:
                        self._redis.publish_if_due(s)
            except Exception:  # never let the ticker die (Redis down: RedisChannel keeps the reason)
                pass

    def close(self, timeout: float = 0.0) -> None:
        """Stop the ticker (waiting at most `timeout` seconds for a publish in progress)."""
        self._stop.set()
        if timeout > 0 and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def shutdown(self, timeout: float) -> None:
        """charviz.lifecycle: close, waiting for the ticker."""
        self.close(timeout)

    @property
    def redis_error(self) -> errors.Msg | str:
        return self._redis.error if self._redis is not None else ""


class RedisChannel:
    """Publishes shared runs' snapshots to Redis and reads other servers' ones (decoded once per version)."""

    def __init__(self, url: str):
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.error: errors.Msg | str = ""  # the last publishing error ("" when the last publish worked)
        self._published: dict[str, tuple[float, int, str]] = {}  # code -> (time, step, state)
        self._cache: dict[str, tuple[bytes, object, dict]] = {}  # code -> (version, snapshot, meta)
        self._lock = threading.Lock()

    def publish_if_due(self, s: Share) -> None:
        t, step, state = self._published.get(s.code, (0.0, -1, ""))
        snap = s.run.snapshot()
        changed = (snap.step, snap.state) != (step, state)
        if time.monotonic() - t >= (PUBLISH_S if changed else REDIS_TTL_S / 3):
            self._publish(s, snap)

    def publish_now(self, s: Share) -> None:
        try:
            self._publish(s, s.run.snapshot())
        except Exception:
            pass  # self.error says why; the run is shared on this server anyway

    def _publish(self, s: Share, snap) -> None:
        import redis

        data = encode_snapshot(snap, s.meta)
        version = f"{snap.step}:{snap.state}:{time.time():.3f}"
        try:
            pipe = self.client.pipeline()
            pipe.set(_PREFIX + s.code, data, ex=REDIS_TTL_S)
            pipe.set(_PREFIX + s.code + ":v", version, ex=REDIS_TTL_S)
            pipe.delete(_PREFIX + s.code + ":ended")
            pipe.execute()
        except redis.RedisError as e:
            self.error = errors.Msg("errors.redis_down", url=self.url, detail=type(e).__name__)
            raise
        self.error = ""
        self._published[s.code] = (time.monotonic(), snap.step, snap.state)

    def end(self, code: str, reason: str) -> None:
        import redis

        try:
            pipe = self.client.pipeline()
            pipe.delete(_PREFIX + code, _PREFIX + code + ":v")
            pipe.set(_PREFIX + code + ":ended", reason, ex=int(ENDED_KEEP_S))
            pipe.execute()
        except redis.RedisError:
            pass

    def read(self, code: str):
        import redis

        try:
            version = self.client.get(_PREFIX + code + ":v")
            if version is None:
                ended = self.client.get(_PREFIX + code + ":ended")
                if ended is not None:
                    raise ShareEnded(ended.decode("utf-8", "replace"))
                raise ShareNotFound()
            with self._lock:
                cached = self._cache.get(code)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            data = self.client.get(_PREFIX + code)
        except redis.RedisError:
            raise ShareUnavailable() from None
        if data is None:
            raise ShareNotFound()
        snap, meta = decode_snapshot(data)
        with self._lock:
            self._cache[code] = (version, snap, meta)
        return snap, meta


_registry: ShareRegistry | None = None
_registry_lock = threading.Lock()


def default_registry() -> ShareRegistry:
    """This server's registry (grace from CHARVIZ_SHARE_GRACE_S, Redis from CHARVIZ_REDIS_URL), made once."""
    global _registry
    from charviz import serving

    with _registry_lock:
        if _registry is None:
            _registry = ShareRegistry(grace_s=serving.share_grace_s, redis_url=serving.redis_url())
        return _registry
