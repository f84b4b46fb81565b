"""Measure a class on one server: K sessions training and M sessions watching (a measurement, not a test).

    python scripts/measure_class.py --trainers 2 --watchers 0 [--mode process|thread] [--seconds 20]
    python scripts/measure_class.py --table            # the README's table: (K, M) = (1,0) (1,10) (1,30) (2,30),
                                                       # one Chromium watcher and M-1 protocol watchers each

Starts `streamlit run app.py` (CHARVIZ_TRAINING=--mode), opens the K trainer tabs in one headless Chromium and
presses Start in them (the first one shares its run). The M watchers open ?watch=CODE on the Train page:
`--browsers B` of them as Chromium tabs in a second Chromium (under `--browser-nice`), the other M-B as
protocol-level sessions (scripts/watch_swarm.py, a process of its own under `--swarm-nice`), which ask the
server for exactly what a browser's frontend asks for, without drawing anything: in a class the students'
browsers are on their own machines. It prints:
- chars/s of each training run, counted from the true step counter in its sidebar (steps x chars per step),
  and their sum; with --alone, also one run training alone on the same server first (and, with one trainer and
  watchers, again once they have left, and --cycles times with and without them), for the ratio (the mean of
  the windows with watchers over the mean of those without: this VM's speed drifts within minutes);
- click-to-effect latency of Pause in trainer tab 1 (click -> the sidebar shows Resume), median and p90;
- chart refreshes per second on the first Chromium watcher (the loss chart's newest step changing), and the
  loss charts the server sent each protocol watcher per second (median and lowest);
- the cores used by the server process, its workers, the protocol watchers and everything else;
- /_stcore/health latency; the server's RSS and threads, and its worker processes' RSS;
- after closing every tab: whether the server's training threads and worker processes ended.
The load average is printed before and after: on a shared machine every number depends on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
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


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (0 if it is gone)."""
    try:
        f = (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat minus idle and iowait)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def cpu_split(server_pid: int, swarm_pid: int | None = None):
    """A reading for cpu_shares: (server, its workers, the protocol watchers, the whole machine) CPU seconds,
    and the time."""
    return (cpu_s(server_pid), sum(cpu_s(p) for p in worker_pids(server_pid)), cpu_s(swarm_pid) if swarm_pid else 0.0,
            machine_cpu_s(), time.monotonic())


def cpu_shares(a, b) -> dict:
    """Cores used between two cpu_split readings: the server process, its workers, the protocol watchers,
    everything else (the browsers, and whatever else runs on the machine)."""
    dt = b[4] - a[4]
    server, workers, swarm, machine = ((b[i] - a[i]) / dt for i in range(4))
    return {"server": server, "workers": workers, "swarm": swarm, "other": max(0.0, machine - server - workers - swarm)}


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


class SwarmProcess:
    """scripts/watch_swarm.py's protocol watchers in a process (and session) of their own, under `nice`: the
    students' browsers are on their own machines; here they take what the server leaves."""

    def __init__(self, url: str, code: str, n: int, niceness: int):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "watch_swarm.py"), "--url", url, "--code", code, "-n", str(n),
             "--seconds", "0", "--nice", str(niceness)],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.last: tuple | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(180):
            self.stop()
            raise TimeoutError(f"{n} protocol watchers did not all load within 180 s")

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("ready"):
                self.ready.set()
            elif line.startswith("counts"):
                t, asked, done, got, errors, charts = line.split()[1:]
                self.last = (float(t), int(asked), int(done), int(got), int(errors),
                             [int(c) for c in charts.split(",")])

    def counts(self) -> tuple:
        """(time, rerun requests sent, runs finished, bytes received, errors, loss charts received by each
        watcher), the newest (<= 1 s old)."""
        t0 = self.last[0] if self.last else 0.0
        deadline = time.monotonic() + 5
        while (self.last is None or self.last[0] == t0) and time.monotonic() < deadline:
            time.sleep(0.05)  # (a fresh line: both ends of a window are read the same way)
        return self.last

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def nice_chromium(niceness: int) -> str:
    """A wrapper that starts Chromium under `nice` (and its autogroup's nice): in a class the watchers' browsers
    run on the students' machines, not on the server; a niced browser on the server's machine takes only the CPU
    the server leaves."""
    if not niceness:
        return CHROMIUM
    path = ROOT / "test-artifacts" / "nice-chromium.sh"
    path.parent.mkdir(exist_ok=True)
    # Playwright starts the browser in a session of its own (setsid), and with the kernel's autogroup
    # scheduling (/proc/sys/kernel/sched_autogroup_enabled) a session is scheduled as one group against the
    # server's group: `nice` alone then only ranks the browser's processes among themselves. The group's own
    # nice value (/proc/self/autogroup) is what ranks it against the server
    path.write_text(f'#!/bin/sh\necho {niceness} > /proc/self/autogroup 2>/dev/null\n'
                    f'exec nice -n {niceness} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return str(path)


def measure(k: int, m: int, mode: str, seconds: float, alone: bool, pauses: int, niceness: int = 0,
            browsers: int | None = None, profile: str = "", swarm_nice: int = 0, cycles: int = 1) -> dict:
    """K trainers (Chromium tabs, normal priority: the lecturer's browser may well be on the server) and M
    watchers: `browsers` of them Chromium tabs (the first one counts the loss chart's refreshes), the rest
    protocol-level sessions (scripts/watch_swarm.py: the students' browsers are on their own machines, and 30
    Chromium tabs would not fit on the server's cores). The Chromium watchers run under nice
    `niceness`, the protocol watchers under `swarm_nice` (niced, they ask less often than a class would)."""
    browsers = m if browsers is None else min(browsers, m)
    env_mode = os.environ.get("CHARVIZ_TRAINING")
    os.environ["CHARVIZ_TRAINING"] = mode
    port = free_port()
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    proc = start_server(port, ROOT / "test-artifacts" / "measure-class-server.log")
    url = f"http://127.0.0.1:{port}"
    res: dict = {"K": k, "M": m, "browsers": browsers, "mode": mode, "load_before": os.getloadavg()}
    swarm = None
    try:
        wait_healthy(url, timeout=120, proc=proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            watch_browser = pw.chromium.launch(executable_path=nice_chromium(niceness), args=CHROMIUM_ARGS,
                                               headless=True) if browsers else None
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
                wait_ready(p)
                if not p.evaluate(STABLE_RUNNING_JS):
                    start(p)
            watchers, code = [], None

            def open_watchers() -> SwarmProcess | None:
                for _ in range(browsers):
                    ctx = watch_browser.new_context(viewport={"width": 1280, "height": 720})
                    page = ctx.new_page()
                    page.goto(f"{url}/train?watch={code}", timeout=120_000)
                    ctxs.append(ctx)
                    watchers.append(page)
                for p in watchers:
                    p.get_by_text("Watching").first.wait_for(timeout=120_000)
                return SwarmProcess(url, code, m - browsers, swarm_nice) if m > browsers else None

            def close_watchers() -> None:
                if swarm:
                    swarm.stop()
                for ctx in ctxs[k:]:
                    ctx.close()
                del ctxs[k:], watchers[:]

            if m:
                code = share(trainers[0])
                swarm = open_watchers()
                if watchers:
                    watchers[0].evaluate(REFRESH_COUNTER_JS)
            time.sleep(3)
            spy = None
            if profile:  # py-spy (pip install py-spy; not a requirement) samples the server meanwhile
                spy = subprocess.Popen(["py-spy", "record", "-p", str(proc.pid), "-d", str(int(seconds)), "-r", "50",
                                        "--format", "raw", "-o", profile, "--nonblocking"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            swarm_pid = swarm.proc.pid if swarm else None
            t0, c0 = time.monotonic(), cpu_split(proc.pid, swarm_pid)
            sw0 = swarm.counts() if swarm else None  # (time, asked, finished, bytes, errors)
            res["rates"] = rates(trainers, seconds)
            res["cores"] = cpu_shares(c0, cpu_split(proc.pid, swarm_pid))
            if spy is not None:
                spy.wait(60)
            if swarm:
                sw1 = swarm.counts()
                dt = sw1[0] - sw0[0]
                res["swarm"] = {"n": m - browsers, "requests_per_s": (sw1[1] - sw0[1]) / dt,
                                "finished_per_s": (sw1[2] - sw0[2]) / dt, "mb_per_s": (sw1[3] - sw0[3]) / dt / 1e6,
                                "errors": sw1[4], "nice": swarm_nice,
                                "charts_per_s": sorted((b - a) / dt for a, b in zip(sw0[5], sw1[5], strict=True))}
            if watchers:
                res["watcher_refresh_per_s"] = watchers[0].evaluate("window.__refreshes") / (time.monotonic() - t0)
            res["health_ms"] = health_ms(url, 20)
            res["server_rss_mb"] = rss_mb(proc.pid)
            res["server_threads"] = threads(proc.pid)
            res["workers_rss_mb"] = [round(rss_mb(p)) for p in worker_pids(proc.pid)]
            res["pause_ms"] = pause_latencies(trainers[0], pauses)
            res["load_after"] = os.getloadavg()
            close_watchers()
            if alone and m and k == 1:  # the trainer alone again once the watchers have gone, and `cycles` - 1
                # more times with and without them: this VM's speed drifts by tens of percent within minutes, so
                # the ratio is the mean of the windows with watchers over the mean of those without (one trainer
                # only: with two, the other one would still be training)
                resume(trainers[0])
                time.sleep(3)
                res["alone_after"] = [rates(trainers[:1], seconds)[0]]
                res["together_more"] = []
                for _ in range(cycles - 1):
                    swarm = open_watchers()
                    time.sleep(3)
                    res["together_more"].append(sum(rates(trainers, seconds)))
                    close_watchers()
                    time.sleep(3)
                    res["alone_after"].append(rates(trainers[:1], seconds)[0])
            for ctx in ctxs:
                ctx.close()
            browser.close()
            if watch_browser is not None:
                watch_browser.close()
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
        if swarm:
            swarm.stop()
        t_stop = time.monotonic()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        res["server_exit_s"] = time.monotonic() - t_stop
        res["server_exit_code"] = proc.returncode
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
    if "alone_after" in r:
        alone = [r["alone"], *r["alone_after"]]
        together = [sum(rs), *r["together_more"]]
        line += (f"; one alone {r['alone']:,.0f} before, {r['alone_after'][0]:,.0f} after -> together/alone "
                 f"{statistics.mean(together) / statistics.mean(alone):.2f}x")
        if r["together_more"]:
            line += (f" over {len(together)} cycles (alone: {', '.join(f'{x:,.0f}' for x in alone)}; together: "
                     f"{', '.join(f'{x:,.0f}' for x in together)})")
    elif "alone" in r:
        line += f"; one alone {r['alone']:,.0f} -> together/alone {sum(rs) / r['alone']:.2f}x"
    print(line)
    print(f"  Pause click -> paused: median {statistics.median(pause) if pause else float('nan'):.0f} ms, "
          f"p90 {q(pause, 0.9):.0f} ms (n={len(pause)}, {len(r['pause_ms']) - len(pause)} not within 10 s)")
    print(f"  watchers: {r['M']} ({r['browsers']} Chromium tabs, {r['M'] - r['browsers']} protocol sessions)")
    if "watcher_refresh_per_s" in r:
        print(f"  watcher chart refreshes (Chromium watcher 1): {r['watcher_refresh_per_s']:.2f} /s")
    if "swarm" in r:
        w = r["swarm"]
        print(f"  protocol watchers: {w['requests_per_s']:.1f} fragment reruns asked/s, {w['finished_per_s']:.1f} "
              f"runs finished/s, {w['mb_per_s']:.2f} MB/s sent to them, {w['errors']} errors (nice {w['nice']})")
        c = w["charts_per_s"]
        print(f"  loss chart sent to each protocol watcher: median {statistics.median(c):.2f} /s, lowest {c[0]:.2f} /s")
    c = r["cores"]
    print(f"  cores busy while measuring: server {c['server']:.2f}, its workers {c['workers']:.2f}, protocol "
          f"watchers {c['swarm']:.2f}, everything else (browsers, other processes) {c['other']:.2f}")
    h = r["health_ms"]
    print(f"  /_stcore/health median {statistics.median(h):.0f} ms, p90 {q(h, 0.9):.0f} ms "
          f"({sum(x == float('inf') for x in h)} of {len(h)} not answered within 10 s); server RSS "
          f"{r['server_rss_mb']:.0f} MB, {r['server_threads']} threads; workers RSS {r['workers_rss_mb']} MB")
    print(f"  after closing the tabs: {r['after_close']}")
    print(f"  server stopped (SIGTERM) in {r['server_exit_s']:.1f} s, exit code {r['server_exit_code']}")
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
    ap.add_argument("--cycles", type=int, default=1,
                    help="with --alone and watchers: measure with and without the watchers this many times each")
    ap.add_argument("--table", action="store_true", help="(K, M) = (1,0) (1,10) (1,30) (2,30)")
    ap.add_argument("--browsers", type=int, default=None,
                    help="how many of the M watchers are Chromium tabs (default: all); the rest are protocol "
                         "sessions (scripts/watch_swarm.py)")
    ap.add_argument("--swarm-nice", type=int, default=0, help="nice for the protocol watchers' process")
    ap.add_argument("--profile", default="", help="py-spy's samples of the server while measuring, to this file")
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="run Chromium under nice -n N (the students' browsers are not on the server)")
    args = ap.parse_args()
    runs = [(1, 0), (1, 10), (1, 30), (2, 30)] if args.table else [(args.trainers, args.watchers)]
    for k, m in runs:
        browsers = args.browsers if args.browsers is not None else (1 if args.table else None)
        report(measure(k, m, args.mode, args.seconds, args.alone or args.table, args.pauses, args.browser_nice,
                       browsers, args.profile, args.swarm_nice, args.cycles))


if __name__ == "__main__":
    main()
