"""The lecture demo, headless: train an LSTM on the Python text and find units that track the text.

    python scripts/hidden_demo.py train --minutes 10 --out /tmp/hdemo     # checkpoints at 1, 2, 3, 5, 8, 10 min
    python scripts/hidden_demo.py analyse /tmp/hdemo/*.pt                   # best |r| per property

`train` runs charviz.train.Trainer in this process (no app; one torch thread, as the app's sessions) and
writes a checkpoint (charviz.checkpoint) at each mark, with the step, validation bits/char and load
average in <out>/log.txt. `analyse` runs every checkpoint over a probe of the validation part of the
Python text (the model never trained on it) and prints, for each property of the Hidden page's unit finder,
the best unit and its r in the h and c views, using the page's own functions (charviz.hidden.probe).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from charviz import checkpoint  # noqa: E402
from charviz.config import TrainConfig  # noqa: E402
from charviz.data import load_corpus, split_text  # noqa: E402
from charviz.hidden import probe  # noqa: E402
from charviz.train import Trainer  # noqa: E402

MARKS_MIN = (1, 2, 3, 5, 8, 10, 15, 20)
PROPERTIES = ("in_string", "in_brackets", "bracket_depth", "line_position", "indentation", "word_start")


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def train(args) -> None:
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = load_corpus("python")
    tr = Trainer(text, TrainConfig(cell="lstm", hidden_size=args.hidden, lr=args.lr))
    marks = [m for m in MARKS_MIN if m <= args.minutes]
    t0 = time.monotonic()
    with open(out / "log.txt", "a") as log:
        for m in marks:
            while time.monotonic() - t0 < 60 * m:
                tr.step()
            path = out / f"lstm{args.hidden}_{m}min.pt"
            checkpoint.save(tr, path)
            log.write(f"{m} min: step {tr.steps}, {tr.chars_seen:,} chars, validation "
                      f"{tr.evaluate() / 0.6931471805599453:.3f} bits/char, load {load()} -> {path.name}\n")
            log.flush()


def analyse(args) -> None:
    _, val = split_text(load_corpus("python"))
    start = val.find("\n") + 1
    text = val[start:start + args.chars]
    print(f"probe: {len(text)} characters of the validation part; best unit by |r| (h view | c view)")
    print(f"{'checkpoint':<22}{'step':>7}  " + "  ".join(f"{p:>20}" for p in PROPERTIES))
    for path in args.checkpoints:
        ck = checkpoint.load(path)
        row = []
        for prop in PROPERTIES:
            cells = []
            for view in ("h", "c"):
                res = probe(ck.model, ck.vocab, text, view, prop)
                best = res.ranking.best
                cells.append(f"{res.ranking.r[best]:+.2f} u{best}" if best is not None else "-")
            row.append(" | ".join(cells))
        print(f"{Path(path).name:<22}{ck.step:>7}  " + "  ".join(f"{c:>20}" for c in row))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("train")
    a.add_argument("--minutes", type=float, default=10)
    a.add_argument("--hidden", type=int, default=256)
    a.add_argument("--lr", type=float, default=3e-3)
    a.add_argument("--out", default="/tmp/hdemo")
    b = sub.add_parser("analyse")
    b.add_argument("checkpoints", nargs="+")
    b.add_argument("--chars", type=int, default=2000)
    args = ap.parse_args()
    train(args) if args.cmd == "train" else analyse(args)


if __name__ == "__main__":
    main()
