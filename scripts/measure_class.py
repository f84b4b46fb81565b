"""Measure a class on one server: K sessions training and M sessions watching (a measurement, not a test).

    python scripts/measure_class.py --trainers 2 --watchers 0 [--mode process|thread] [--seconds 20]
    python scripts/measure_class.py --table            # the README's table: (K, M) = (1,0) (1,10) (1,30) (2,30)

Starts `streamlit run app.py` (CHARVIZ_TRAINING=--mode), opens K + M tabs in one headless Chromium, presses
Start in the K trainer tabs (the first one shares its run; the M watcher tabs open ?watch=CODE on the Train
page), and prints:
- chars/s of each training run, counted from the true step counter in its sidebar (steps x chars per step),
  and their sum; with --alone, also one run training alone on the same server first, for the ratio;
- click-to-effect latency of Pause in trainer tab 1 (click -> the sidebar shows Resume), median and p90;
- chart refreshes per second on a watcher (the loss chart's newest step changing);
- /_stcore/health latency; the server's RSS and threads, and its worker processes' RSS;
- after closing every tab: whether the server's training threads and worker processes ended.
The load average is printed before and after: on a shared machine every number depends on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from measure_app import (  # noqa: E402
    PAUSE_LATENCY_JS,
    SIDEBAR_STEP_JS,
    STABLE_RUNNING_JS,
    health_ms,
    resume,
    rss_mb,
    sidebar_button,
    wait_ready,
)
from playwright.sync_api import sync_playwright  # noqa: E402

from charviz.config import TrainConfig  # noqa: E402

CHARS_PER_STEP = TrainConfig().batch_size * TrainConfig().seq_len  # the default model (hello: full batches)

# the newest step the loss chart shows, polled every 50 ms; counts changes (= refreshes with new data)
REFRESH_COUNTER_JS = """() => { window.__refreshes = 0; let last = null;
    window.__hook = setInterval(() => { let x = null;
        for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
            if (!(gd.layout && gd.layout.title && gd.layout.title.text === 'loss')) continue;
            const d = gd._fullData && gd._fullData[0];
            if (d && d._length) x = Math.max(x ?? -1, d.x[d._length - 1]); }
        if (x !== null && (last === null || x > last)) { window.__refreshes++; last = x; } }, 50); }"""


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(d.name))
    return out


def worker_pids(server_pid: int) -> list[int]:
    pids = []
    for pid in children(server_pid):
        try:
            cmd = (Path(f"/proc/{pid}") / "cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
            pids.append(pid)
    return pids


def threads(pid: int, prefix: str = "") -> int:
    n = 0
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (t / "comm").read_text().startswith(prefix):
                n += 1
        except OSError:
            pass
    return n


def step_of(page) -> int:
    return page.evaluate(SIDEBAR_STEP_JS)


def q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))] if xs else float("nan")


def rates(pages, seconds: float) -> list[float]:
    """chars/s of each tab's run over `seconds`, from the sidebar step counters (+-1 s of refresh delay)."""
    s0, t0 = [step_of(p) for p in pages], time.monotonic()
    time.sleep(seconds)
    s1, t1 = [step_of(p) for p in pages], time.monotonic()
    return [(b - a) * CHARS_PER_STEP / (t1 - t0) for a, b in zip(s0, s1, strict=True)]


def start(page) -> None:
    wait_ready(page)
    sidebar_button(page, "Start").click()
    page.wait_for_function(STABLE_RUNNING_JS, timeout=120_000)


def pause_latencies(page, n: int) -> list[float]:
    out = []
    for _ in range(n):
        page.wait_for_function(STABLE_RUNNING_JS, timeout=60_000)
        out.append(page.evaluate(PAUSE_LATENCY_JS))
        resume(page)
        time.sleep(1.0)
    return out


def share(page) -> str:
    """Press Share in the sidebar and read the code it shows."""
    sb = page.locator("[data-testid='stSidebar']")
    sb.get_by_role("button", name="Share with the class").click()
    code = sb.locator("[data-testid='stCode'] code, code").filter(has_text="-").first
    code.wait_for(timeout=60_000)
    return code.inner_text().strip()


def nice_chromium(niceness: int) -> str:
    """A wrapper that starts Chromium under `nice`: in a class the watchers' browsers run on the students'
    machines, not on the server; a niced browser on the server's machine takes only the CPU the server leaves."""
    if not niceness:
        return CHROMIUM
    path = ROOT / "test-artifacts" / "nice-chromium.sh"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec nice -n {niceness} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return str(path)


def measure(k: int, m: int, mode: str, seconds: float, alone: bool, pauses: int, niceness: int = 0) -> dict:
    env_mode = os.environ.get("CHARVIZ_TRAINING")
    os.environ["CHARVIZ_TRAINING"] = mode
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    proc = start_server(port, ROOT / "test-artifacts" / "measure-class-server.log")
    url = f"http://127.0.0.1:{port}"
    res: dict = {"K": k, "M": m, "mode": mode, "load_before": os.getloadavg()}
    try:
        wait_healthy(url, timeout=120, proc=proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=nice_chromium(niceness), args=CHROMIUM_ARGS,
                                         headless=True)
            ctxs, trainers = [], []
            for _ in range(k):
                ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                page = ctx.new_page()
                page.goto(url + "/", timeout=120_000)
                ctxs.append(ctx)
                trainers.append(page)
            if alone:
                start(trainers[0])
                time.sleep(3)
                res["alone"] = rates(trainers[:1], seconds)[0]
            for p in trainers:
                if not p.evaluate(STABLE_RUNNING_JS):
                    start(p)
            watchers = []
            if m:
                code = share(trainers[0])
                for _ in range(m):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                    page = ctx.new_page()
                    page.goto(f"{url}/train?watch={code}", timeout=120_000)
                    ctxs.append(ctx)
                    watchers.append(page)
                for p in watchers:
                    p.get_by_text("Watching").first.wait_for(timeout=120_000)
                watchers[0].evaluate(REFRESH_COUNTER_JS)
            time.sleep(3)
            t0 = time.monotonic()
            res["rates"] = rates(trainers, seconds)
            if m:
                res["watcher_refresh_per_s"] = watchers[0].evaluate("window.__refreshes") / (time.monotonic() - t0)
            res["health_ms"] = health_ms(url, 20)
            res["server_rss_mb"] = rss_mb(proc.pid)
            res["server_threads"] = threads(proc.pid)
            res["workers_rss_mb"] = [round(rss_mb(p)) for p in worker_pids(proc.pid)]
            res["pause_ms"] = pause_latencies(trainers[0], pauses)
            res["load_after"] = os.getloadavg()
            for ctx in ctxs:
                ctx.close()
            browser.close()
        # closed tabs: the server releases their sessions (on_release stops the runs) within its timeout
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            train_threads = threads(proc.pid, "charviz-train")
            workers = worker_pids(proc.pid)
            if train_threads == 0 and len(workers) <= 2:  # the pool keeps at most spare + 1 idle
                break
            time.sleep(1)
        res["after_close"] = {"training_threads": threads(proc.pid, "charviz-train"),
                              "worker_processes": len(worker_pids(proc.pid))}
    finally:
        proc.terminate()
        proc.wait(20)
        if env_mode is None:
            os.environ.pop("CHARVIZ_TRAINING", None)
        else:
            os.environ["CHARVIZ_TRAINING"] = env_mode
    return res


def report(r: dict) -> None:
    rs = r["rates"]
    pause = [x for x in r["pause_ms"] if x >= 0]
    line = (f"K={r['K']} M={r['M']} ({r['mode']}): chars/s per run {', '.join(f'{x:,.0f}' for x in rs)}"
            f" (sum {sum(rs):,.0f})")
    if "alone" in r:
        line += f"; one alone {r['alone']:,.0f} -> together/alone {sum(rs) / r['alone']:.2f}x"
    print(line)
    print(f"  Pause click -> paused: median {statistics.median(pause) if pause else float('nan'):.0f} ms, "
          f"p90 {q(pause, 0.9):.0f} ms (n={len(pause)}, {len(r['pause_ms']) - len(pause)} not within 10 s)")
    if "watcher_refresh_per_s" in r:
        print(f"  watcher chart refreshes: {r['watcher_refresh_per_s']:.2f} /s")
    h = r["health_ms"]
    print(f"  /_stcore/health median {statistics.median(h):.0f} ms, p90 {q(h, 0.9):.0f} ms; server RSS "
          f"{r['server_rss_mb']:.0f} MB, {r['server_threads']} threads; workers RSS {r['workers_rss_mb']} MB")
    print(f"  after closing the tabs: {r['after_close']}")
    print(f"  load average before {r['load_before'][0]:.2f}, after {r['load_after'][0]:.2f} "
          f"({os.cpu_count()} CPUs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainers", "-k", type=int, default=1)
    ap.add_argument("--watchers", "-m", type=int, default=0)
    ap.add_argument("--mode", default="process", choices=["process", "thread"])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--alone", action="store_true", help="first measure trainer 1 alone, for the ratio")
    ap.add_argument("--pauses", type=int, default=7)
    ap.add_argument("--table", action="store_true", help="(K, M) = (1,0) (1,10) (1,30) (2,30)")
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="run Chromium under nice -n N (the students' browsers are not on the server)")
    args = ap.parse_args()
    runs = [(1, 0), (1, 10), (1, 30), (2, 30)] if args.table else [(args.trainers, args.watchers)]
    for k, m in runs:
        report(measure(k, m, args.mode, args.seconds, args.alone, args.pauses, args.browser_nice))


if __name__ == "__main__":
    main()
