"""Server memory across closed sessions (issue 13): rounds of browser sessions that open the app, train and
close; the server's RSS after each round, once the closed sessions have been shut down.

    python scripts/measure_sessions.py --rounds 5 --sessions 19            # the issue's measurement
    python scripts/measure_sessions.py --rounds 5 --sessions 19 --trace    # + tracemalloc growth per round

One server (`streamlit run app.py`) for all rounds. Each session is a headless Chromium tab (its own browser
context) that opens a page with ?autostart=1 (the default model trains; the pages cycle through Train,
Predict, Gradients, Hidden and Home), waits until the sidebar's step counter reaches --steps, and closes.
The training cap is raised to the tabs open at once (CHARVIZ_MAX_TRAINING), so that every tab trains.
Streamlit keeps a closed tab's session for a reconnect (server.disconnectedSessionTTL, set here to --ttl
seconds, 120 by default in the app) before charviz's reaper shuts it down. After a round the script waits
until the server reports no session left (the env-guarded debug hook charviz.ui.memdebug, which also reports
live objects by type, tensors, threads, Streamlit's stores and glibc's heap) and prints one line per round:
RSS with the tabs open, RSS once they are gone, glibc heap in use / free-but-kept, what is still alive, and
the load average. The reports are in test-artifacts/memdebug/<round>.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from charviz.ui.memdebug import ask, wait_gone  # noqa: E402

PATHS = ("", "predict", "gradients", "hidden", "train")

STEP_AT_LEAST = """n => { for (const m of document.querySelectorAll(
    '[data-testid="stSidebar"] [data-testid="stMetric"]')) {
    if (m.innerText.startsWith('step')) return parseInt(
        m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '')) >= n; } return false; }"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def describe(rep: dict) -> str:
    heap = rep.get("heap", {})
    live = {k: v for k, v in rep.get("app_objects", {}).items() if v and k not in ("Thread", "Figure")}
    st = rep.get("streamlit", {})
    stores = {k: v for k, v in st.items() if v}
    text = (f"heap {heap.get('in_use_mb', float('nan')):.0f} in use / {heap.get('free_kept_mb', float('nan')):.0f} "
            f"free kept MB, {rep.get('gc_objects', 0):,} objects, tensors {rep.get('tensors', {}).get('count', 0)} "
            f"({rep.get('tensors', {}).get('storage_mb', 0):.1f} MB), live {live}, stores {stores}, "
            f"threads {dict(rep.get('threads', []))}")
    if "traced_mb" in rep:
        text += f", traced {rep['traced_mb']:.1f} MB"
    return text + (" (TIMED OUT waiting for the sessions to go)" if rep.get("timed_out") else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=19)
    ap.add_argument("--steps", type=int, default=20, help="each session trains at least this many steps")
    ap.add_argument("--ttl", type=int, default=10, help="server.disconnectedSessionTTL for this server (s)")
    ap.add_argument("--trace", action="store_true", help="tracemalloc in the server (slower): growth per round")
    ap.add_argument("--open-at-once", type=int, default=7, help="tabs open (and training) at the same time")
    args = ap.parse_args()
    art = ROOT / "test-artifacts"
    folder = art / "memdebug"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*"):
        f.unlink()
    os.environ["CHARVIZ_MEMDEBUG"] = str(folder)
    os.environ["STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"] = str(args.ttl)
    os.environ["CHARVIZ_MAX_TRAINING"] = str(args.open_at_once)  # every open tab trains (the cap would queue them)
    if args.trace:
        os.environ["CHARVIZ_MEMDEBUG_TRACE"] = "1"
    port = free_port()
    proc = start_server(port, art / "measure-sessions.log")
    url = f"http://127.0.0.1:{port}"
    print(f"rounds {args.rounds} x {args.sessions} sessions, ttl {args.ttl} s, trace {args.trace}", flush=True)
    try:
        wait_healthy(url, timeout=120, proc=proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            warm = browser.new_context(viewport={"width": 1280, "height": 720})  # runs app.py: the hook starts
            wp = warm.new_page()
            wp.goto(url, timeout=120_000)
            wp.wait_for_selector('[data-testid="stSidebar"] [data-testid="stMetric"]', timeout=300_000)
            rep = ask(folder, "start")
            warm.close()
            print(f"server started, one idle tab: RSS {rep['rss_mb']:.0f} MB (load {loadavg()}); {describe(rep)}",
                  flush=True)
            n = 0
            for r in range(1, args.rounds + 1):
                t0 = time.monotonic()
                peak = 0.0
                for first in range(0, args.sessions, args.open_at_once):
                    pages = []
                    for _ in range(min(args.open_at_once, args.sessions - first)):
                        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                        page = ctx.new_page()
                        page.goto(f"{url}/{PATHS[n % len(PATHS)]}?autostart=1", timeout=300_000, wait_until="commit")
                        n += 1
                        pages.append((ctx, page))
                    for _ctx, page in pages:
                        page.wait_for_function(STEP_AT_LEAST, arg=args.steps, timeout=300_000)
                    peak = max(peak, rss_mb(proc.pid))
                    for ctx, _page in pages:
                        ctx.close()
                rep = wait_gone(folder, f"round{r}", timeout=args.ttl + 120)
                print(f"round {r}: {args.sessions} sessions ({time.monotonic() - t0:.0f} s), RSS {peak:.0f} MB "
                      f"while open, {rep['rss_mb']:.0f} MB after all closed (load {loadavg()}); {describe(rep)}",
                      flush=True)
                for left in rep.get("leftover_sessions", []):
                    print(f"    session {left['id'][:8]} ({left['state']}) left behind, held by:")
                    for path in left["paths"][:8]:
                        print(f"      {path}")
                for g in rep.get("growth", [])[:8]:
                    print(f"    {g['kb']:+9.1f} KB {g['count']:+6d}  {' <- '.join(reversed(g['trace'][-4:]))}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
