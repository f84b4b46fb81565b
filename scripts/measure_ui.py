"""Measure the UI's responsiveness targets in Chromium against `streamlit run app.py`, on a quiet machine or with
CPU hogs running (a lecture laptop is a busy machine): a measurement, not a test.

    python scripts/measure_ui.py [--hogs 2] [--reps 10] [--viewport 1280x720]

One server, one browser tab, the session's model training on Python source the whole time. Targets (issue 12):

1. click to effect < 300 ms median: the sidebar's Pause (click -> the button reads Resume) and Resume
   (click -> Pause), timed in the page with a MutationObserver;
2. keystroke to prediction < 500 ms median: on Predict, the last keystroke of a prefix -> the top-k chart's
   title shows that prefix (this includes the text box's typing pause);
3. page switch < 1 s median: a click on a navigation link -> the new page's title and its first chart are drawn
   and the script run has finished (no "running" indicator).

--hogs N starts N `python -c "while True: pass"` processes first (and stops them, by PID, at the end). Every
figure is printed with the load average at its start and end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, LIVE_DRAWN, running_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

CLICK_JS = """([want]) => new Promise(resolve => {
    const sb = document.querySelector('[data-testid="stSidebar"]');
    const btn = () => sb.querySelector('.st-key-sb_start_pause button');
    const t0 = performance.now();
    const done = () => btn() && btn().innerText.trim().endsWith(want);
    const obs = new MutationObserver(() => { if (done()) { obs.disconnect(); resolve(performance.now() - t0); } });
    obs.observe(sb, {subtree: true, childList: true, characterData: true});
    setTimeout(() => { obs.disconnect(); resolve(-1); }, 15000);
    btn().click(); })"""

IDLE_JS = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"

# the page is done: its title and its first chart are drawn, every live chart (charviz.ui.live_chart) has drawn
# its figure, and no script run is going on; returns the time
PAGE_DONE_JS = """([title]) => {
    const h = document.querySelector('h1');
    const done = !!h && h.innerText.trim().startsWith(title) && !!document.querySelector('.js-plotly-plot .main-svg')
        && __LIVE_DRAWN__ && !document.querySelector('[data-testid="stStatusWidget"]');
    return done ? performance.now() : false; }""".replace("__LIVE_DRAWN__", LIVE_DRAWN)

# the time stamp of the last click's input event (when the browser received it, before any queueing on its
# main thread): the start of a page switch as the user experiences it
CLICK_STAMP_JS = """() => { window.__clickT = null;
    document.addEventListener('click', e => { window.__clickT = e.timeStamp; }, {capture: true, once: true}); }"""

TITLES = {"Train": "Train a character-level RNN", "Predict": "Predict the next character",
          "Gradients": "Gradient flow through time", "Hello": "hello, step by step", "Hidden": "Inside the memory",
          "Race": "The race: RNN vs LSTM vs GRU"}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summary(xs: list[float]) -> str:
    ok = sorted(x for x in xs if x >= 0)
    lost = len(xs) - len(ok)
    if not ok:
        return f"none of {len(xs)} took effect"
    p90 = ok[min(len(ok) - 1, round(0.9 * (len(ok) - 1)))]
    return (f"median {statistics.median(ok):.0f} ms, p90 {p90:.0f} ms, max {ok[-1]:.0f} ms (n={len(ok)}"
            + (f", {lost} never took effect" if lost else "") + ")")


def wait_idle(page) -> None:
    page.wait_for_function(IDLE_JS, timeout=60_000)


def clicks(page, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        for want in ("Resume", "Pause"):  # Pause first (it is training), then Resume
            wait_idle(page)
            page.wait_for_timeout(400)
            out.append(page.evaluate(CLICK_JS, [want]))
    return out


def keystrokes(page, reps: int) -> list[float]:
    box = page.locator("input[aria-label='Prefix: type, and the prediction follows']")
    box.wait_for(timeout=60_000)
    title = "() => { const t = document.querySelector('.js-plotly-plot .gtitle'); return t ? t.textContent : ''; }"
    prefixes = ["def ", "import o", "return s", "for i in", "self.", "print(x"]
    out = []
    for i in range(reps):
        prefix = prefixes[i % len(prefixes)] + str(i)
        box.click()
        box.press("Control+a")
        box.press("Backspace")
        box.press_sequentially(prefix, delay=60)
        t0 = time.perf_counter()
        try:
            shown = prefix.replace(" ", "␣")  # the chart title shows a space as ␣
            page.wait_for_function(f"() => ({title})().includes({shown!r})", timeout=15_000)
            out.append((time.perf_counter() - t0) * 1000)
        except Exception:  # noqa: BLE001 (a lost keystroke is a measurement, not a crash)
            out.append(-1)
        page.wait_for_timeout(600)
    return out


def nav(page, name: str):
    return page.locator("[data-testid='stSidebarNav'] a").filter(has_text=re.compile(f"{name}$"))


def page_switches(page, reps: int, verbose: bool = False) -> list[float]:
    order = ["Predict", "Gradients", "Hello", "Train", "Hidden", "Predict", "Train"]
    out = []
    for i in range(reps):
        name = order[i % len(order)]
        wait_idle(page)
        page.wait_for_timeout(500)
        page.evaluate(CLICK_STAMP_JS)
        nav(page, name).click()
        try:
            done = page.wait_for_function(PAGE_DONE_JS, arg=[TITLES[name]], timeout=20_000,
                                          polling=20).json_value()
            out.append(done - page.evaluate("window.__clickT"))
        except Exception:  # noqa: BLE001
            out.append(-1)
        if verbose:
            print(f"  -> {name}: {out[-1]:.0f} ms", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hogs", type=int, default=0, help="CPU-hog processes to run during the measurement")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--viewport", default="1280x720")
    ap.add_argument("--verbose", action="store_true", help="print each page switch")
    ap.add_argument("--only", nargs="*", choices=["clicks", "pages", "keys"], default=["clicks", "pages", "keys"])
    a = ap.parse_args()
    w, h = (int(v) for v in a.viewport.split("x"))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.hogs)]
    try:
        if hogs:
            time.sleep(20)  # let the load average see them
        print(f"{a.hogs} CPU hogs · {os.cpu_count()} cores · viewport {a.viewport} · load {load()}", flush=True)
        with running_server("measure_ui_server.log") as url, sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = b.new_page(viewport={"width": w, "height": h})
            page.goto(f"{url}/train?text=python")
            page.locator(".st-key-sb_start_pause button").wait_for(timeout=90_000)
            wait_idle(page)
            page.locator(".st-key-sb_start_pause button").click()
            page.locator(".st-key-sb_start_pause button").filter(has_text="Pause").wait_for(timeout=60_000)
            page.wait_for_timeout(3000)
            rows = []
            if "clicks" in a.only:
                l0 = load()
                rows.append(("click to effect (Pause / Resume)", summary(clicks(page, a.reps)), l0, load()))
                print(rows[-1], flush=True)
            if "pages" in a.only:
                l0 = load()
                rows.append(("page switch", summary(page_switches(page, a.reps + 4, a.verbose)), l0, load()))
                print(rows[-1], flush=True)
            if "keys" in a.only:
                nav(page, "Predict").click()
                page.wait_for_function(PAGE_DONE_JS, arg=[TITLES["Predict"]], timeout=60_000)
                l0 = load()
                rows.append(("keystroke to prediction", summary(keystrokes(page, a.reps + 2)), l0, load()))
                print(rows[-1], flush=True)
            step = page.locator("[data-testid='stSidebar'] [data-testid='stMetricValue']").first.inner_text()
            b.close()
        print(f"\n{a.hogs} CPU hogs, model training throughout (sidebar step {step} at the end):\n")
        print("| what | result | load at start → end |\n|---|---|---|")
        for what, res, l0, l1 in rows:
            print(f"| {what} | {res} | {l0} → {l1} |")
    finally:
        for p in hogs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
