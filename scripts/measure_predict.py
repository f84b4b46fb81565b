"""Measure the Predict page's speed: `python scripts/measure_predict.py [--no-browser]`.

1. Server side, in this process: one prediction for a 200-character prefix = forward_trace (last 40 steps
   recorded) + the top-k, probability and logit figures, for rnn/lstm/gru (hidden 128) on the Python corpus
   (95 symbols), idle and while a TrainingRun trains in a background thread (as in the app). Also the time
   to serialise the three figures to JSON (what st.plotly_chart sends).
2. Browser: `streamlit run app.py` + headless Chromium. Start training, type prefixes character by
   character, and time from the last keystroke until the top-k chart shows the new prefix (this includes
   the text box's typing pause before it sends the value, LIVE in charviz/ui/predict.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import free_port  # noqa: E402

from charviz import figures as F  # noqa: E402
from charviz.data import load_corpus  # noqa: E402
from charviz.inspect import forward_trace  # noqa: E402
from charviz.run import TrainingRun  # noqa: E402
from charviz.train import TrainConfig, Trainer  # noqa: E402
from charviz.ui.predict import LIVE  # noqa: E402

CHROMIUM = os.environ.get("CHARVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def predict_once(model, vocab, prefix):
    """What the Predict page's fragment computes for one keystroke (before Streamlit serialises it)."""
    trace = forward_trace(model, vocab, prefix, last_n=40)
    return [F.topk_figure(trace.next_probs, vocab.itos, 10, "Next character after<br>x"),
            F.step_heatmap(trace, "probs"), F.step_heatmap(trace, "logits")]


def time_ms(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def server_side(reps: int = 30) -> None:
    torch.set_num_threads(1)  # as the app does (charviz.ui.session)
    text = load_corpus("python", max_chars=400_000)
    print(f"server side: 200-char prefix, 40 steps shown, Python corpus, torch threads = 1, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'cell':5} {'training?':9} {'trace+figs median':>18} {'p90':>7} {'to JSON median':>15}")
    for cell in ("rnn", "lstm", "gru"):
        trainer = Trainer(text, TrainConfig(cell=cell, hidden_size=128))
        for _ in range(20):
            trainer.step()
        model, vocab = trainer.frozen_model(), trainer.vocab
        prefix = trainer.val_text[:200]
        predict_once(model, vocab, prefix)  # warm up
        for training in (False, True):
            run = None
            if training:
                run = TrainingRun(Trainer(text, TrainConfig(cell=cell, hidden_size=128)))
                run.start()
                time.sleep(1.0)
            ms = time_ms(lambda m=model, v=vocab, p=prefix: predict_once(m, v, p), reps)
            figs = predict_once(model, vocab, prefix)
            js = time_ms(lambda f=figs: [x.to_json() for x in f], max(5, reps // 3))
            if run is not None:
                run.stop()
            print(f"{cell:5} {'yes' if training else 'no':9} {statistics.median(ms):15.1f} ms "
                  f"{pct(ms, 0.9):5.1f} ms {statistics.median(js):12.1f} ms")


def browser_side(prefixes=("hellohe", "hel", "hellohellohell", "he", "hellohellohellohe", "ll") * 3) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        title = "() => { const t = document.querySelector('.js-plotly-plot .gtitle'); return t ? t.textContent : ''; }"
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = b.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{url}/predict")
            box = page.locator("input[aria-label='Prefix: type, and the prediction follows']")
            box.wait_for(timeout=30_000)
            page.wait_for_selector(".js-plotly-plot", timeout=30_000)

            def run_prefixes():
                lat = []
                for prefix in prefixes:
                    box.click()
                    box.press("Control+a")
                    box.press("Backspace")
                    box.press_sequentially(prefix, delay=60)
                    t0 = time.monotonic()
                    page.wait_for_function(f"() => ({title})().endsWith('“{prefix}”')", timeout=20_000)
                    lat.append((time.monotonic() - t0) * 1000)
                    page.wait_for_timeout(700)
                return lat

            def report(what, lat):
                print(f"browser, {what} (load average {os.getloadavg()[0]:.1f}): last keystroke -> top-k chart "
                      f"shows the new prefix, including the {LIVE} typing pause:")
                print("  " + ", ".join(f"{x:.0f}" for x in lat) + f" ms; median {statistics.median(lat):.0f} ms, "
                      f"p90 {pct(lat, 0.9):.0f} ms, max {max(lat):.0f} ms")

            report("model idle", run_prefixes())
            page.locator(".st-key-sb_start_pause button").first.click()
            page.wait_for_timeout(3000)
            lat = run_prefixes()
            step = page.locator("[data-testid='stMetricValue']").first.inner_text()
            report(f"while training (sidebar step {step} at the end)", lat)
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-browser", action="store_true", help="only the server-side timings")
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    server_side(args.reps)
    if not args.no_browser:
        browser_side()


if __name__ == "__main__":
    main()
