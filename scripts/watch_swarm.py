"""Many watchers of a shared run, as a server sees them, without a browser each (a measurement tool).

In a class the watchers' browsers run on the students' machines; on the server, each one is a Streamlit
session that reruns its page's live fragments whenever its browser asks. `Swarm` opens N such sessions over
Streamlit's own WebSocket protocol (its protobuf messages, as the browser sends them) and behaves like the
browser's frontend where the server's cost is concerned:
- it asks for the page (`?watch=CODE` on the Train page by default) like a browser opening the link;
- for every `auto_rerun` the server sends (a fragment with run_every), it sends that fragment's rerun request
  on a fixed interval timer, like the frontend's setInterval, whether or not the last one was served;
  `stop_auto_rerun` stops it; a full rerun that registers the same fragment again changes nothing.
It counts, per session, the script runs finished and the bytes received, so the caller can check that the
server kept up (finished runs per second against the timers' rate).

    python scripts/watch_swarm.py --url http://127.0.0.1:8501 --code K7PM-X2QH -n 30 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class Watcher:
    """One protocol-level session: what it asked for and what it got."""

    index: int
    requests: int = 0  # rerun requests sent (the first page load + every timer tick)
    finished: int = 0  # script runs the server finished for this session (full or fragment)
    bytes_in: int = 0
    charts: int = 0  # loss charts received (the Train page's live view drawn anew)
    errors: list[str] = field(default_factory=list)
    intervals: dict[str, float] = field(default_factory=dict)  # fragment id -> seconds (live timers)
    connected: bool = False


class Swarm:
    """N watcher sessions on one server, run by an asyncio loop in a thread of their own (start / stop)."""

    def __init__(self, url: str, code: str, n: int, page: str = "train", stagger_s: float = 0.05,
                 chart_key: str = "loss_chart"):
        self.chart_key = chart_key
        self.ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.query, self.page, self.n, self.stagger_s = f"watch={code}", page, n, stagger_s
        self.watchers = [Watcher(i) for i in range(n)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    # -- the caller's side ------------------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        """Open every session; return once each has finished its first page run (or raise after timeout)."""
        self._thread = threading.Thread(target=self._run, name="watch-swarm", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(w.finished >= 1 for w in self.watchers):
                return
            bad = [w for w in self.watchers if w.errors]
            if bad:
                raise RuntimeError(f"watcher {bad[0].index}: {bad[0].errors[0]}")
            time.sleep(0.1)
        raise TimeoutError(f"{sum(w.finished >= 1 for w in self.watchers)} of {self.n} watchers loaded")

    def counts(self) -> tuple[int, int, int]:
        """(rerun requests sent, script runs finished, bytes received) over all sessions so far."""
        return (sum(w.requests for w in self.watchers), sum(w.finished for w in self.watchers),
                sum(w.bytes_in for w in self.watchers))

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:  # closed meanwhile: stopped already
                pass
        if self._thread is not None:
            self._thread.join(15)

    # -- the swarm's own loop -----------------------------------------------------------------------------------

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        tasks = []
        for w in self.watchers:
            tasks.append(asyncio.create_task(self._session(w)))
            await asyncio.sleep(self.stagger_s)  # a class does not open the link in the same millisecond
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _rerun_msg(self, page_hash: str, fragment_id: str = "") -> bytes:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string, cs.page_name, cs.page_script_hash = self.query, self.page, page_hash
        if fragment_id:
            cs.fragment_id, cs.is_auto_rerun = fragment_id, True
        return msg.SerializeToString()

    async def _session(self, w: Watcher) -> None:
        timers: dict[str, asyncio.Task] = {}
        page_hash = ""
        try:
            async with websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                          open_timeout=60) as ws:
                w.connected = True
                await ws.send(self._rerun_msg(""))
                w.requests += 1

                async def tick(fid: str, every: float) -> None:
                    while True:  # the frontend's setInterval: every `every` s, served or not
                        await asyncio.sleep(every)
                        await ws.send(self._rerun_msg(page_hash, fid))
                        w.requests += 1

                async for data in ws:
                    w.bytes_in += len(data)
                    fm = ForwardMsg()
                    fm.ParseFromString(data)
                    kind = fm.WhichOneof("type")
                    if kind == "new_session":
                        page_hash = fm.new_session.page_script_hash
                    elif kind == "navigation" and fm.navigation.page_script_hash:
                        # the page shown (st.navigation): what the frontend names in its next requests, so that
                        # a full rerun the server starts itself (st.rerun) runs this page again
                        page_hash = fm.navigation.page_script_hash
                    elif kind == "script_finished":
                        w.finished += 1
                    elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                        el = fm.delta.new_element
                        which = el.WhichOneof("type")  # (the Train page's loss chart is a live chart: a component)
                        if which in ("plotly_chart", "component_instance") and self.chart_key in getattr(el, which).id:
                            w.charts += 1
                        elif which == "exception":  # what a browser would show as an error box
                            w.errors.append(f"{el.exception.type}: {el.exception.message}")
                    elif kind == "auto_rerun":
                        fid, every = fm.auto_rerun.fragment_id, fm.auto_rerun.interval
                        if fid and w.intervals.get(fid) != every:
                            if fid in timers:
                                timers.pop(fid).cancel()
                            w.intervals[fid] = every
                            timers[fid] = asyncio.create_task(tick(fid, every))
                    elif kind == "stop_auto_rerun":
                        for fid in fm.stop_auto_rerun.fragment_ids:
                            w.intervals.pop(fid, None)
                            if fid in timers:
                                timers.pop(fid).cancel()
        except asyncio.CancelledError:
            pass
        except Exception as e:  # a measurement tool: say what happened, keep the others going
            w.errors.append(f"{type(e).__name__}: {e}")
        finally:
            for task in timers.values():
                task.cancel()
            w.connected = False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--code", required=True)
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20.0, help="0: until stopped, printing counts every second")
    ap.add_argument("--nice", type=int, default=0,
                    help="run at this niceness, also against the server's processes (the autogroup's nice)")
    args = ap.parse_args()
    if args.nice:
        lower_priority(args.nice)
    swarm = Swarm(args.url, args.code, args.n)
    swarm.start()
    if not args.seconds:  # (measure_class.py reads these lines)
        print("ready", flush=True)
        try:
            while True:
                r, f, b = swarm.counts()
                charts = ",".join(str(w.charts) for w in swarm.watchers)
                print(f"counts {time.monotonic():.3f} {r} {f} {b} {sum(len(w.errors) for w in swarm.watchers)} "
                      f"{charts}", flush=True)
                time.sleep(1.0)
        except (KeyboardInterrupt, BrokenPipeError):
            swarm.stop()
            return
    r0, f0, b0 = swarm.counts()
    t0 = time.monotonic()
    time.sleep(args.seconds)
    r1, f1, b1 = swarm.counts()
    dt = time.monotonic() - t0
    swarm.stop()
    print(f"{args.n} watchers over {dt:.1f} s: {(r1 - r0) / dt:.1f} rerun requests/s, {(f1 - f0) / dt:.1f} runs "
          f"finished/s, {(b1 - b0) / dt / 1e6:.2f} MB/s received")


def lower_priority(niceness: int) -> None:
    """nice this process, and its autogroup (with the kernel's autogroup scheduling a session is scheduled
    as one group against the others, whatever its processes' own nice values)."""
    os.nice(niceness)
    if os.getsid(0) != os.getpid():  # only a session of its own (else the group would be its parent's too)
        try:
            os.setsid()
        except OSError:
            return
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(niceness))
    except OSError:
        pass


if __name__ == "__main__":
    main()
