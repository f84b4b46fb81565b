"""Take the README screenshots: start `streamlit run app.py`, drive it with Chromium, save PNGs in docs/.

    python scripts/screenshots.py [--out docs] [--seconds 25]

docs/home.png       the landing page
docs/train.png      the Train page after ~25 s of training an RNN on Python source
docs/train-full.png the whole Train page (settings included)
docs/exploding.png  lr = 10 without clipping: the loss goes above the uniform guess, the page explains why
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_healthy  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

W, H = 1600, 1000


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
        proc.wait(10)


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

        page.goto(f"{url}/train")
        wait_idle(page)
        choose(page, "built-in text", "python")
        wait_idle(page, 1500)
        sidebar_button(page, "Start").click()
        to_top(page)
        time.sleep(args.seconds)
        page.screenshot(path=str(out / "train.png"))
        sidebar_button(page, "Pause").click()
        wait_idle(page, 1000)
        page.set_viewport_size({"width": W, "height": 2400})
        wait_idle(page, 1500)
        page.screenshot(path=str(out / "train-full.png"))
        page.set_viewport_size({"width": W, "height": H})

        # exploding gradients: reset to hello (same session: it asks first), lr = 10, clipping off
        choose(page, "built-in text", "hello")
        wait_idle(page, 500)
        page.get_by_role("button", name="Reset and apply").click()
        wait_idle(page)
        page.get_by_text("clip gradients", exact=True).click()
        wait_idle(page)
        page.locator("[data-testid='stSlider']").filter(has_text="learning rate").get_by_role("slider").press("End")
        wait_idle(page)
        sidebar_button(page, "Start").click()
        time.sleep(8)
        try:
            page.get_by_text("Training is diverging").wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(out / "exploding-failed.png"), full_page=True)
            raise
        wait_idle(page, 1500)
        to_top(page)
        page.screenshot(path=str(out / "exploding.png"))
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
