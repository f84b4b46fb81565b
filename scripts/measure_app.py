"""Measure the live app against the issue's performance targets (a measurement, not a test).

    python scripts/measure_app.py [--corpus hello|python|long-range] [--seconds 20] [--soak 120] [--sessions 3]

1. time to first interactive page: from `streamlit run app.py` to a page whose Start button can be clicked
   (the browser is launched beforehand, as a user's would be);
2. training throughput with one browser session on the Train page (charts redrawn every second) against the
   headless Trainer on the same config and the same torch thread count, measured before and after;
   throughput is counted from the true step counter (steps x characters per step), not from a smoothed
   number; the loss chart's redraw rate is counted in the browser;
3. Pause click latency: from the click to the sidebar showing the run paused (the button turns to Resume);
4. server responsiveness with several sessions training at once: /_stcore/health round trips;
5. memory: the server's resident memory while training, sampled every few seconds for --soak seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from charviz.data import load_corpus  # noqa: E402
from charviz.train import TrainConfig, Trainer  # noqa: E402
from charviz.ui.session import TORCH_THREADS  # noqa: E402

SIDEBAR_STEP_JS = """() => {
    for (const m of document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stMetric"]'))
        if (m.innerText.startsWith('step'))
        return parseInt(m.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, ''));
    return -1; }"""

LOSS_POINTS_JS = """() => { let n = -1;
    for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
        if (!(gd.layout && gd.layout.title && gd.layout.title.text === 'loss')) continue;
        const d = gd._fullData && gd._fullData[0]; n = Math.max(n, d ? d._length || 0 : 0); }
    return n; }"""

# count redraws of the loss chart: poll the last step it shows every 50 ms and count the changes
REDRAW_COUNTER_JS = """() => { window.__redraws = 0; let last = null;
    window.__hook = setInterval(() => { let x = null;
        for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
            if (!(gd.layout && gd.layout.title && gd.layout.title.text === 'loss')) continue;
            const d = gd._fullData && gd._fullData[0];
            if (d && d._length) x = Math.max(x ?? -1, d.x[d._length - 1]); }
        if (x !== null && (last === null || x > last)) { window.__redraws++; last = x; } }, 50); }"""

# click Pause and time until the sidebar's Resume button exists (measured inside the page); -1: not in 10 s
PAUSE_LATENCY_JS = """() => new Promise(resolve => {
    const sb = document.querySelector('[data-testid="stSidebar"]');
    const find = name => [...sb.querySelectorAll('button')].find(b => b.innerText.trim().endsWith(name));
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
        if (find('Resume')) { obs.disconnect(); resolve(performance.now() - t0); } });
    obs.observe(sb, {subtree: true, childList: true, characterData: true});
    setTimeout(() => { obs.disconnect(); resolve(-1); }, 10000);
    find('Pause').click(); })"""

STABLE_RUNNING_JS = """() => { const sb = document.querySelector('[data-testid="stSidebar"]');
    const names = [...sb.querySelectorAll('button')].map(b => b.innerText.trim());
    return names.some(n => n.endsWith('Pause')) && !names.some(n => n.endsWith('Resume'))
           && !document.querySelector('[data-testid="stStatusWidget"]'); }"""


def pause_latency(page) -> float:
    page.wait_for_function(STABLE_RUNNING_JS, timeout=60_000)
    return page.evaluate(PAUSE_LATENCY_JS)


def pause_latencies(page, n: int) -> list[float]:
    """n timed Pause clicks (ms; -1: not within 10 s), each followed by a Resume."""
    out = []
    for _ in range(n):
        out.append(pause_latency(page))
        time.sleep(0.5)
        resume(page)
        time.sleep(1.5)
    return out


def resume(page) -> None:
    """Resume after a timed Pause (if that Pause never took effect, the run is still training: nothing to do)."""
    wait_ready(page)
    if not page.evaluate(STABLE_RUNNING_JS):
        sidebar_button(page, "Resume").click()
    page.wait_for_function(STABLE_RUNNING_JS, timeout=60_000)


def headless_rate(text: str, config: TrainConfig, seconds: float) -> tuple[float, float, int]:
    """A bare Trainer.step() loop: steps per wall second, steps per CPU second, characters per step."""
    torch.set_num_threads(TORCH_THREADS)
    trainer = Trainer(text, config)
    for _ in range(5):
        trainer.step()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        trainer.step()
        n += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, n / cpu, trainer.batches.batch_size * trainer.batches.seq_len


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def chromium_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if "chromium" in (d / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace"):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def health_ms(url: str, n: int = 20) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
                r.read()
        except TimeoutError:
            out.append(float("inf"))  # not answered within 10 s: the server is swamped (the report says so)
            continue
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.1)
    return out


def wait_ready(page) -> None:
    page.wait_for_selector("[data-testid='stSidebar'] [data-testid='stMetric']", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def sidebar_button(page, name: str):
    return page.locator("[data-testid='stSidebar']").get_by_role("button", name=name, exact=True)


def choose_corpus(page, corpus: str) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="built-in text").locator("input").first
    box.click()
    box.fill(corpus)
    box.press("Enter")
    page.get_by_text(f"Now training on {corpus}").first.wait_for(timeout=60_000)
    wait_ready(page)


def fmt(xs: list[float]) -> str:
    missed = sum(x < 0 for x in xs)
    xs = sorted(x for x in xs if x >= 0) or [float("nan")]
    return f"median {statistics.median(xs):.0f} ms, max {xs[-1]:.0f} ms (n={len(xs)}, {missed} not within 10 s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="hello", choices=["hello", "python", "long-range"])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each throughput measurement")
    ap.add_argument("--soak", type=float, default=120.0, help="seconds of training for the memory samples")
    ap.add_argument("--sessions", type=int, default=3, help="sessions training at once for the health check")
    args = ap.parse_args()
    text, config = load_corpus(args.corpus), TrainConfig()
    log = ROOT / "test-artifacts" / "measure-app-server.log"
    log.parent.mkdir(exist_ok=True)
    print(f"corpus {args.corpus}: {TrainConfig.__name__}() defaults "
          f"({config.cell} {config.hidden_size}, seq_len {config.seq_len}, batch {config.batch_size}), "
          f"torch threads {TORCH_THREADS}, {torch.get_num_interop_threads()} interop")

    base1, cpu_base1, chars_per_step = headless_rate(text, config, args.seconds)
    print(f"headless Trainer.step(): {base1:.1f} steps/s = {base1 * chars_per_step:,.0f} chars/s "
          f"({chars_per_step} chars/step; {cpu_base1:.1f} steps per CPU second)")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        proc = start_server(port, log)
        try:
            t_health = wait_healthy(url, timeout=60, proc=proc)
            page.goto(url)
            wait_ready(page)
            sidebar_button(page, "Start").wait_for(timeout=60_000)
            t_ready = time.monotonic() - t0
            print(f"first page interactive {t_ready:.1f} s after `streamlit run` "
                  f"(server healthy after {t_health:.1f} s)")

            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Train").click()
            wait_ready(page)
            if args.corpus != "hello":
                choose_corpus(page, args.corpus)
            page.wait_for_function(f"({LOSS_POINTS_JS})() >= 0", timeout=60_000)
            page.evaluate(REDRAW_COUNTER_JS)
            sidebar_button(page, "Start").click()
            page.wait_for_function(f"({SIDEBAR_STEP_JS})() > 0", timeout=60_000)
            time.sleep(3)  # warm up
            browser_pids = chromium_pids()  # ours and any other on the machine: an upper bound
            c0 = cpu_seconds([proc.pid]), cpu_seconds(browser_pids)
            s0, r0, w0 = page.evaluate(SIDEBAR_STEP_JS), page.evaluate("window.__redraws"), time.monotonic()
            time.sleep(args.seconds)
            s1, r1, w1 = page.evaluate(SIDEBAR_STEP_JS), page.evaluate("window.__redraws"), time.monotonic()
            c1 = cpu_seconds([proc.pid]), cpu_seconds(browser_pids)
            server_cpu, browser_cpu = (c1[0] - c0[0]) / (w1 - w0), (c1[1] - c0[1]) / (w1 - w0)
            app_rate = (s1 - s0) / (w1 - w0)
            redraws = (r1 - r0) / (w1 - w0)

            latencies = pause_latencies(page, 5)

            # several sessions training at once: is the server still responsive?
            others = []
            for _ in range(max(0, args.sessions - 1)):
                ctx = browser.new_context(viewport={"width": 1400, "height": 900})
                pg = ctx.new_page()
                pg.goto(f"{url}/train")
                wait_ready(pg)
                sidebar_button(pg, "Start").click()
                others.append(ctx)
            time.sleep(3)
            health = health_ms(url)
            busy_latencies = pause_latencies(page, 3)
            for ctx in others:
                ctx.close()

            # memory while training (this session keeps training, Train page open)
            samples = []
            t_start = time.monotonic()
            while time.monotonic() - t_start < args.soak:
                samples.append((time.monotonic() - t_start, rss_mb(proc.pid), page.evaluate(SIDEBAR_STEP_JS)))
                time.sleep(max(1.0, args.soak / 20))
            browser.close()
        finally:
            proc.terminate()
            proc.wait(10)

    base2, cpu_base2, _ = headless_rate(text, config, args.seconds)
    base, cpu_base = (base1 + base2) / 2, (cpu_base1 + cpu_base2) / 2
    print(f"headless Trainer.step() again: {base2:.1f} steps/s (mean of both {base:.1f}; "
          f"{cpu_base:.1f} steps per CPU second)")
    print(f"app, Train page open: {app_rate:.1f} steps/s = {app_rate * chars_per_step:,.0f} chars/s "
          f"= {app_rate / base:.2f}x headless; loss chart redrawn {redraws:.2f} times/s")
    print(f"  meanwhile the server process used {server_cpu:.2f} CPU cores and Chromium {browser_cpu:.2f} "
          f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    app_cpu_rate = app_rate / server_cpu if server_cpu > 0 else float("nan")
    print(f"  per CPU second the server trains {app_cpu_rate:.1f} steps = {app_cpu_rate / cpu_base:.2f}x the "
          "headless loop's (the share of the server's CPU that the UI costs, whatever else runs on the machine)")
    print(f"Pause click -> sidebar shows paused: {fmt(latencies)}")
    print(f"with {args.sessions} sessions training: /_stcore/health {fmt(health)}; Pause {fmt(busy_latencies)}")
    first, last = samples[0], samples[-1]
    print(f"server RSS over {last[0]:.0f} s of training: {first[1]:.0f} MB -> {last[1]:.0f} MB "
          f"(max {max(s[1] for s in samples):.0f} MB; step {first[2]:,} -> {last[2]:,})")


if __name__ == "__main__":
    main()
