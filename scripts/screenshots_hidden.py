"""Screenshot of the Hidden page at projector size: `python scripts/screenshots_hidden.py CHECKPOINT [--out docs]`.

CHECKPOINT: a charviz checkpoint of a model trained on the built-in Python text (scripts/hidden_demo.py
writes one). The script starts the app, picks the Python text on the Train page, loads the checkpoint,
opens Hidden and saves, at 1280x720:

docs/hidden.png         the top of the page: probe, view, heatmap ordered by |r| with "inside brackets"
docs/hidden-unit.png    the best unit coloured over the probe text, its curve
docs/hidden-finder.png  the unit finder, gate saturation and the PCA path
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import app_page, choose  # noqa: E402
from screenshots_predict import nav_link, wait_idle  # noqa: E402


def load_checkpoint(page, url: str, path: Path) -> None:
    """Train page: the Python text, then the checkpoint (its model replaces the untrained one)."""
    page.goto(f"{url}/?text=python")  # a demo link: the Python text
    page.locator("[data-testid='stSidebar']").get_by_text("python").first.wait_for(timeout=120_000)
    wait_idle(page, 1000)
    nav_link(page, "Train").click()
    wait_idle(page, 1500)
    page.get_by_text("Save or load a checkpoint").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    page.get_by_text("Uploading").first.wait_for(state="hidden", timeout=60_000)
    wait_idle(page, 1000)
    page.locator(".st-key-ckpt_load button").click()
    page.get_by_text("Loaded ").first.wait_for(timeout=120_000)
    wait_idle(page, 500)


def scroll_to(page, selector: str) -> None:
    """Scroll the main area so that `selector` is at the top of the window."""
    page.locator(selector).first.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--property", default="inside brackets")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with app_page(out / "screenshots-hidden-server.log", width=1280, height=720) as (page, url):
        load_checkpoint(page, url, args.checkpoint.resolve())
        nav_link(page, "Hidden").click()
        page.locator(".st-key-hidden_heatmap").wait_for(timeout=60_000)
        wait_idle(page, 1000)
        choose(page, "Property", args.property)
        wait_idle(page, 1000)
        choose(page, "Row order", "by |r| with the property")
        wait_idle(page, 4000)
        scroll_to(page, ".st-key-hidden_view")
        page.screenshot(path=str(out / "hidden.png"))
        scroll_to(page, ".st-key-hidden_unit")
        page.screenshot(path=str(out / "hidden-unit.png"))
        scroll_to(page, ".st-key-hidden_pca")
        page.screenshot(path=str(out / "hidden-finder.png"))
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
