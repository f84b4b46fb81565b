"""A debug hook for finding what closed sessions leave behind in the server (issue 13). Off unless asked for.

    CHARVIZ_MEMDEBUG=/tmp/memdbg streamlit run app.py          # CHARVIZ_MEMDEBUG_TRACE=1: also tracemalloc

A daemon thread watches that folder; for every file `request-<tag>` that appears (scripts/measure_sessions.py
writes them after each round) it collects garbage, writes `<tag>.json` and removes the request. The report has
the process's RSS and glibc's heap (in use vs free but kept: fragmentation), live objects by type (and the
app's own: runs, trainers, models, workspaces, races), torch tensors and their bytes, the threads, the sizes of
Streamlit's stores (active and disconnected sessions, media files and deferred downloads, uploads, dataframe
sources) and, with tracemalloc, where the memory allocated since the previous report was allocated (the top
lines by growth). The measuring script diffs the reports between rounds.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import threading
import time
import tracemalloc
from pathlib import Path

from charviz import memory

ENV = "CHARVIZ_MEMDEBUG"
TRACE_ENV = "CHARVIZ_MEMDEBUG_TRACE"
POLL_S = 0.25
APP_TYPES = ("Workspace", "TrainingRun", "ProcessRun", "Trainer", "CharRNN", "RaceHolder", "Race", "Sweep",
             "SnapshotStore", "History", "AppSession", "ScriptRunner", "SessionState", "Figure", "Thread")
_started = False
_lock = threading.Lock()
_prev_snapshot: tracemalloc.Snapshot | None = None


def install() -> None:
    """Start the watcher thread once per process if CHARVIZ_MEMDEBUG names a folder; otherwise nothing."""
    global _started
    folder = os.environ.get(ENV)
    if not folder:
        return
    with _lock:
        if _started:
            return
        _started = True
    Path(folder).mkdir(parents=True, exist_ok=True)
    if os.environ.get(TRACE_ENV) == "1" and not tracemalloc.is_tracing():
        tracemalloc.start(int(os.environ.get("CHARVIZ_MEMDEBUG_FRAMES", "12")))
    threading.Thread(target=_watch, args=(Path(folder),), name="charviz-memdebug", daemon=True).start()


def _watch(folder: Path) -> None:
    while True:
        for req in sorted(folder.glob("request-*")):
            tag = req.name.removeprefix("request-")
            try:
                data = report()
            except Exception as e:  # a debug aid: say what failed instead of dying
                data = {"error": repr(e)}
            tmp = folder / f"{tag}.json.tmp"
            tmp.write_text(json.dumps(data, indent=1, default=str))
            tmp.rename(folder / f"{tag}.json")
            req.unlink(missing_ok=True)
        time.sleep(POLL_S)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_mb() -> dict:
    """glibc's heap: bytes in use, free but kept by malloc (fragmentation), and mmapped blocks."""
    lib = memory._libc()  # noqa: SLF001
    if lib is None or not hasattr(lib, "mallinfo2"):
        return {}
    lib.mallinfo2.restype = _Mallinfo2
    m = lib.mallinfo2()
    mb = 1024 * 1024
    return {"arena_mb": m.arena / mb, "in_use_mb": m.uordblks / mb, "free_kept_mb": m.fordblks / mb,
            "mmap_mb": m.hblkhd / mb, "mmap_blocks": m.hblks}


def _streamlit_stores() -> dict:
    try:
        from streamlit.runtime import Runtime

        rt = Runtime.instance()
    except Exception:
        return {}
    mgr = rt._session_mgr  # noqa: SLF001
    media = rt.media_file_mgr
    storage = getattr(mgr, "_session_storage", None)
    cache = getattr(storage, "_cache", None)
    out = {
        "active_sessions": len(getattr(mgr, "_active_session_info_by_id", {})),
        "stored_sessions": len(cache) if cache is not None else None,
        "nonresumable_ids": len(getattr(mgr, "_nonresumable_session_ids", ())),
        "media_files": len(getattr(media, "_file_metadata", {})),
        "media_sessions": len(getattr(media, "_files_by_session_and_coord", {})),
        "deferred_callables": len(getattr(media, "_deferred_callables", {})),
        "deferred_sessions": len(getattr(media, "_deferred_ids_by_session", {})),
        "dataframe_sources": len(getattr(rt._dataframe_source_mgr, "_sources", {})),  # noqa: SLF001
    }
    up = rt.uploaded_file_mgr
    files = getattr(up, "file_storage", None)
    if isinstance(files, dict):
        out["upload_sessions"] = len(files)
    return out


def _describe(o) -> str:
    name = type(o).__name__
    if isinstance(o, dict):
        keys = [k for k in list(o)[:6] if isinstance(k, str)]
        return f"dict{keys}"
    if type(o).__name__ == "cell":
        return "cell"
    if hasattr(o, "__qualname__"):
        return f"{name}:{o.__qualname__}"
    if type(o).__name__ == "frame":
        return f"frame:{o.f_code.co_filename}:{o.f_lineno}"
    return name


def referrer_paths(obj, depth: int = 7, width: int = 4) -> list[str]:
    """Who keeps `obj` alive: chains of referrers (each object described by its type, dicts by their keys),
    breadth-limited; the debug hook's own frames and lists are skipped."""
    import inspect

    own = {id(inspect.currentframe())}
    paths, frontier = [], [(obj, [])]
    seen = {id(obj)}
    for _ in range(depth):
        nxt = []
        for o, path in frontier:
            refs = [r for r in gc.get_referrers(o) if id(r) not in seen and id(r) not in own
                    and not (isinstance(r, list) and len(r) > 1000) and type(r).__name__ != "frame"]
            if not refs:
                paths.append(" <- ".join(path) or "(no referrer)")
                continue
            for r in refs[:width]:
                seen.add(id(r))
                nxt.append((r, [*path, _describe(r)]))
        frontier = nxt[: width * 4]
        if not frontier:
            break
    paths += [" <- ".join(p) for _, p in frontier]
    return paths[:24]


def _leftover_sessions() -> list[dict]:
    """AppSessions alive that Streamlit's session manager no longer holds, and who references them."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.app_session import AppSession

        mgr = Runtime.instance()._session_mgr  # noqa: SLF001
    except Exception:
        return []
    known = set(getattr(mgr, "_active_session_info_by_id", {}))
    cache = getattr(getattr(mgr, "_session_storage", None), "_cache", None) or {}
    known |= set(cache)
    out = []
    for o in gc.get_objects():
        if isinstance(o, AppSession) and o.id not in known:
            out.append({"id": o.id, "state": str(getattr(o, "_state", "")), "paths": referrer_paths(o)})
    return out[:3]


def report() -> dict:
    """Everything above, after a full collection and malloc_trim."""
    global _prev_snapshot
    memory.trim()
    objs = gc.get_objects()
    by_type = collections.Counter(type(o).__name__ for o in objs)
    del objs
    import sys

    torch = sys.modules.get("torch")
    tensors = {}
    if torch is not None and hasattr(torch, "nn") and hasattr(torch.nn, "Parameter"):  # (not while it imports)
        kinds = (torch.Tensor, torch.nn.Parameter)
        n = nbytes = 0
        for o in gc.get_objects():
            if type(o) in kinds:
                n += 1
                try:
                    nbytes += o.untyped_storage().nbytes()
                except Exception:
                    pass
        tensors = {"count": n, "storage_mb": nbytes / 2**20}
    data = {
        "time": time.time(),
        "rss_mb": rss_mb(),
        "heap": heap_mb(),
        "gc_objects": sum(by_type.values()),
        "app_objects": {k: by_type.get(k, 0) for k in APP_TYPES},
        "top_types": by_type.most_common(40),
        "tensors": tensors,
        "threads": sorted(collections.Counter(_thread_kind(t.name) for t in threading.enumerate()).items()),
        "child_processes": _children(),
        "exited_unreaped_children": _zombies(),
        "streamlit": _streamlit_stores(),
        "leftover_sessions": _leftover_sessions(),
    }
    st = data["streamlit"]
    if not st.get("active_sessions") and not st.get("stored_sessions"):  # all gone: who holds what is left
        data["leftover_objects"] = {}
        for o in gc.get_objects():
            name = type(o).__name__
            if name in ("Workspace", "TrainingRun") and name not in data["leftover_objects"]:
                data["leftover_objects"][name] = referrer_paths(o)
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        data["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
        if _prev_snapshot is not None:
            diff = snap.compare_to(_prev_snapshot, "traceback")
            data["growth"] = [
                {"kb": s.size_diff / 1024, "count": s.count_diff,
                 "trace": [f"{f.filename}:{f.lineno}" for f in s.traceback][-8:]}
                for s in diff[:30]
            ]
        _prev_snapshot = snap
    return data


def _child_states() -> list[tuple[str, str]]:
    """The server's child processes as (pid, state letter from /proc/<pid>/stat; "Z": exited, not reaped)."""
    try:
        pids = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    except OSError:
        return []
    out = []
    for pid in pids:
        try:
            out.append((pid, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]))
        except (OSError, IndexError):
            continue  # (gone meanwhile)
    return out


def _children() -> list[str]:
    """Live child processes of the server (worker-process runs, the pool's spare workers, multiprocessing's
    resource tracker): their command lines, shortened. An exited child not yet reaped is not one (_zombies)."""
    out = []
    for pid, state in _child_states():
        if state == "Z":
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out.append(cmd[-120:])
    return out


def _zombies() -> int:
    """Child processes that have exited but are not reaped yet (they hold no memory, only a process entry)."""
    return sum(state == "Z" for _, state in _child_states())


def _thread_kind(name: str) -> str:
    """A thread's name without its number, so that threads of one kind are counted together."""
    return name.rstrip("0123456789-() ").split(" (")[0] or name


# ---------------------------------------------------------------------------------------------------------
# client side


def ask(folder: Path, tag: str, timeout: float = 300.0) -> dict:
    """(Client side: a measuring script or a test.) A report from the server's debug hook in `folder`."""
    out = folder / f"{tag}.json"
    out.unlink(missing_ok=True)
    (folder / f"request-{tag}").write_text("")
    t0 = time.monotonic()
    while not out.exists():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"no memdebug report {tag} within {timeout:.0f} s")
        time.sleep(0.2)
    return json.loads(out.read_text())


def wait_gone(folder: Path, tag: str, timeout: float) -> dict:
    """Ask for reports until no session is left in Streamlit's stores and no run object lives."""
    t0 = time.monotonic()
    i = empty = 0
    while True:
        rep = ask(folder, f"{tag}-wait{i}")
        st = rep.get("streamlit", {})
        live = rep.get("app_objects", {})
        if st.get("active_sessions", 0) == 0 and not st.get("stored_sessions"):
            empty += 1  # Streamlit holds none of them: a run still alive after 3 more reports is left behind
            if live.get("TrainingRun", 0) + live.get("ProcessRun", 0) == 0 or empty > 3:
                for f in folder.glob(f"{tag}-wait*.json"):
                    f.unlink()
                (folder / f"{tag}.json").write_text(json.dumps(rep, indent=1))
                return rep
        if time.monotonic() - t0 > timeout:
            rep["timed_out"] = True
            (folder / f"{tag}.json").write_text(json.dumps(rep, indent=1))
            return rep
        i += 1
        time.sleep(2.0)
