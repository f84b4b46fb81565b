"""Take the README screenshots: start `streamlit run app.py`, drive it with Chromium, save PNGs in docs/.

    python scripts/screenshots.py [--out docs] [--seconds 25]

Every shot at 1280x720 (a lecture-hall projector), but one at 1920x1080:

docs/home.png       the landing page
docs/train.png      the Train page after ~25 s of training an RNN on Python source
docs/train-1920.png the same at 1920x1080
docs/train-full.png the whole Train page (settings included)
docs/exploding.png  then lr = 10 without clipping: the gradient norm explodes, the loss leaves the uniform
                    guess, the page says so and offers the last good weights
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

W, H = 1280, 720


@contextmanager
def app_page(log_path: Path, width: int = W, height: int = H):
    """Start `streamlit run app.py` on a free port and Chromium; yield (page, url); stop both afterwards."""
    port = free_port()
    proc = start_server(port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc=proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser.new_page(viewport={"width": width, "height": height}), url
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_idle(page, ms: int = 600) -> None:
    """Wait until Streamlit is not running a script (the status widget is gone), then a little more."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    page.wait_for_timeout(ms)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).locator("input").first
    box.click()
    box.fill(option)
    box.press("Enter")


def to_top(page) -> None:
    """Scroll the main area back to the top (focusing a widget scrolls it)."""
    page.evaluate("""() => { for (const sel of ['[data-testid="stMain"]', '[data-testid="stAppViewContainer"]',
                                                '[data-testid="stMainBlockContainer"]']) {
                               const el = document.querySelector(sel); if (el) el.scrollTo(0, 0); }
                             window.scrollTo(0, 0); }""")
    page.wait_for_timeout(300)


def sidebar_button(page, name: str):
    return page.locator("[data-testid='stSidebar']").get_by_role("button", name=name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--seconds", type=float, default=25.0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with app_page(out / "screenshots-server.log") as (page, url):
        page.goto(url)
        page.get_by_role("heading", name="How to use it").wait_for(timeout=60_000)
        wait_idle(page, 1500)
        page.screenshot(path=str(out / "home.png"))

        page.goto(f"{url}/train?text=python")  # a demo link: Python source
        wait_idle(page, 1500)
        sidebar_button(page, "Start").click()
        to_top(page)
        time.sleep(args.seconds)
        page.screenshot(path=str(out / "train.png"))
        page.set_viewport_size({"width": 1920, "height": 1080})
        wait_idle(page, 2500)
        page.screenshot(path=str(out / "train-1920.png"))
        page.set_viewport_size({"width": W, "height": H})
        sidebar_button(page, "Pause").click()
        wait_idle(page, 1000)
        page.set_viewport_size({"width": W, "height": 2400})
        wait_idle(page, 1500)
        page.screenshot(path=str(out / "train-full.png"))
        page.set_viewport_size({"width": W, "height": H})

        # exploding gradients: the model trained above, then lr = 10 with clipping off
        to_top(page)
        page.get_by_text("clip gradients", exact=True).click()
        wait_idle(page)
        page.locator("[data-testid='stSlider']").filter(has_text="learning rate").get_by_role("slider").press("End")
        wait_idle(page)
        sidebar_button(page, "Resume").click()
        time.sleep(20)  # long enough for the gradient norm to spike
        try:
            page.get_by_text("Training is diverging").wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(out / "exploding-failed.png"), full_page=True)
            raise
        wait_idle(page, 1500)
        # the charts (the gradient norm's spike, the loss above its range), the Restore button over them
        page.evaluate("""() => { document.querySelector('[data-testid="stPlotlyChart"]').scrollIntoView();
                                 document.querySelector('[data-testid="stMain"]').scrollBy(0, -110); }""")
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / "exploding.png"))
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
