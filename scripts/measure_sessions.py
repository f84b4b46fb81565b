"""Server memory across closed sessions (issue 13): rounds of browser sessions that open the app, train a
few seconds and close; the server's RSS after each round, once the closed sessions are released.

    python scripts/measure_sessions.py --rounds 5 --sessions 19

Each session opens /?autostart=1 (trains the default model), waits for a few steps, and closes its tab. After a
round the script waits `--settle` seconds and reads the server's VmRSS.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


STEP_AT_LEAST = """n => { for (const m of document.querySelectorAll(
    '[data-testid="stSidebar"] [data-testid="stMetric"]')) {
    if (m.innerText.startsWith('step')) return parseInt(
        m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, '')) >= n; } return false; }"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=19)
    ap.add_argument("--steps", type=int, default=20, help="each session trains at least this many steps")
    ap.add_argument("--settle", type=float, default=5.0)
    args = ap.parse_args()
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    proc = start_server(port, ROOT / "test-artifacts" / "measure-sessions.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60, proc=proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            print(f"server started: {rss_mb(proc.pid):.0f} MB", flush=True)
            for r in range(args.rounds):
                pages = []
                for _ in range(args.sessions):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                    page = ctx.new_page()
                    page.goto(f"{url}/?autostart=1", timeout=60_000)
                    pages.append((ctx, page))
                for _ctx, page in pages:
                    page.wait_for_function(STEP_AT_LEAST, arg=args.steps, timeout=180_000)
                peak = rss_mb(proc.pid)
                for ctx, _page in pages:
                    ctx.close()
                time.sleep(args.settle)
                print(f"round {r + 1}: {args.sessions} sessions, {peak:.0f} MB while open, "
                      f"{rss_mb(proc.pid):.0f} MB {args.settle:.0f} s after closing", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
