"""`python -m charviz.bench`: how fast and how good charviz trains, side by side with two references.

Measured in one run on one text (default: ../shared/data/tinyshakespeare.txt next to the repo, else the
built-in 'python' corpus):

1. chars/s of `Trainer.step()` in the default TrainConfig;
2. chars/s of a plain PyTorch loop with the same shapes (fused nn.RNN + nn.Linear + Adam + clip_grad_norm_,
   one-hot input, carried hidden state detached) and the same torch threads;
3. chars/s of a numpy char-RNN in the style of min-char-rnn (charviz.bench_ref: batch 1, H=100, T=25,
   Adagrad lr 0.1), in two implementations of the same arithmetic: per step like the original, and with the
   head vectorized over the window (faster: the harder baseline);
4. held-out bits/char that charviz and the (vectorized) numpy reference reach in the same training wall time, on the
   same held-out split (the last 10%) with the same metric (mean cross-entropy in bits/char over the whole
   held-out text, from a zero state, the state carried through it);
5. the time of forward_trace + gradient_flow on a 128-char text with the default model.

Throughput sides take turns in short bursts within each round (the order rotates every round), and the
ratios are medians of per-round ratios, so that load from other processes does not favour one side. The
equal-time comparison also alternates short slices of training between the two sides; only training time
is on the clock, evaluation is not.

A benchmark, not a test: nothing here asserts anything; the PASS/MISS column compares with the targets of
the issue that asked for these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from charviz.bench_ref import MinCharRNN
from charviz.data import Vocab, check_text, load_corpus
from charviz.inspect import forward_trace, gradient_flow
from charviz.train import TrainConfig, Trainer
from charviz.units import LN2

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"

# targets from the issue
TARGET_VS_PLAIN = 0.9  # Trainer.step() chars/s >= 0.9x the plain loop's
TARGET_VS_NUMPY = 10.0  # Trainer.step() chars/s >= 10x the numpy reference's
TARGET_BITS_GAP = 0.3  # charviz's held-out bits/char at least this much lower in equal time
TARGET_INSPECT_MS = 30.0  # forward_trace + gradient_flow on 128 chars
INSPECT_CHARS = 128
BUSY_LOAD = 0.5  # 1-minute load average of other processes above which the figures get a warning
# environment variables that change how the numbers come out; recorded, never set here
THREAD_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_corpus() -> tuple[str, str]:
    """(name, text): tinyshakespeare from ../shared/data if present (never copied), else 'python'."""
    if DEFAULT_CORPUS.is_file():
        return DEFAULT_CORPUS.name, DEFAULT_CORPUS.read_text(encoding="utf-8")
    return "python (built-in)", load_corpus("python")


# ---------------------------------------------------------------------------------------------------------
# the three training steps being compared


class PlainLoop:
    """The loop everyone writes: fused nn.RNN + nn.Linear + Adam + clip_grad_norm_, same shapes as charviz.

    The text is cut into B contiguous streams; every step takes the next T characters of each, the hidden
    state is carried (detached) and dropped when the streams wrap around. No guards, no statistics.
    """

    def __init__(self, train_ids: torch.Tensor, vocab_size: int, cfg: TrainConfig):
        torch.manual_seed(cfg.seed)
        V, H, B, T = vocab_size, cfg.hidden_size, cfg.batch_size, cfg.seq_len
        self.V, self.T, self.clip = V, T, cfg.clip
        self.rnn = nn.RNN(V, H, num_layers=1, batch_first=True)
        self.head = nn.Linear(H, V)
        self.params = [*self.rnn.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        L = train_ids.numel() // B
        self.streams = train_ids[: B * L].view(B, L)  # (B, L)
        self.pos, self.h = 0, None
        self.chars_per_step = B * T

    def step(self) -> None:
        L, T = self.streams.shape[1], self.T
        if self.pos + T + 1 > L:
            self.pos, self.h = 0, None
        x = self.streams[:, self.pos : self.pos + T]  # (B, T)
        y = self.streams[:, self.pos + 1 : self.pos + T + 1]  # (B, T)
        self.pos += T
        out, h = self.rnn(F.one_hot(x, self.V).float(), self.h)  # (B, T, H)
        logits = self.head(out)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, self.V), y.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip is not None:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        self.h = h.detach()


def _run_for(step: Callable[[], object], chars_per_step: int, seconds: float) -> tuple[int, float]:
    """Call step() until `seconds` of wall time have passed (at least once). -> (chars, elapsed seconds)."""
    chars, t0 = 0, time.perf_counter()
    while True:
        step()
        chars += chars_per_step
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return chars, elapsed


# ---------------------------------------------------------------------------------------------------------
# 1-3: throughput


def measure_throughput(
    text: str, cfg: TrainConfig, rounds: int, round_s: float, warmup_s: float, burst_s: float
) -> dict:
    """chars/s of Trainer.step(), the plain loop and the numpy reference, finely interleaved.

    Every round gives each side `round_s` seconds, in bursts of `burst_s` taken in turn (the order rotates
    every round), so a change in machine load hits all sides alike. -> {side: {"chars_per_sec": median over
    rounds, "rounds": [...]}} for sides charviz, plain, numpy (the vectorized reference) and numpy_per_step
    (the same arithmetic step by step, like the original); and "ratios": {side: median over rounds of
    charviz's chars/s divided by that side's in the same round}.
    """
    trainer = Trainer(text, cfg)
    plain = PlainLoop(torch.tensor(trainer.vocab.encode(trainer.train_text)), len(trainer.vocab), cfg)
    ref = MinCharRNN(len(trainer.vocab), seed=cfg.seed)
    ref_loop = MinCharRNN(len(trainer.vocab), seed=cfg.seed, per_step=True)
    ref_data = np.asarray(trainer.vocab.encode(trainer.train_text))
    cv_chars = trainer.batches.batch_size * trainer.batches.seq_len
    sides = {
        "charviz": (trainer.step, cv_chars),
        "plain": (plain.step, plain.chars_per_step),
        "numpy": (lambda: ref.step(ref_data), ref.seq_len),
        "numpy_per_step": (lambda: ref_loop.step(ref_data), ref_loop.seq_len),
    }
    for step, n in sides.values():  # warm up: allocator, thread pool, caches
        _run_for(step, n, warmup_s)
    per_round: dict[str, list[float]] = {k: [] for k in sides}
    names = list(sides)
    for r in range(rounds):
        k = r % len(names)
        order = names[k:] + names[:k]  # rotate who goes first
        chars, secs = dict.fromkeys(names, 0), dict.fromkeys(names, 0.0)
        while any(secs[name] < round_s for name in names):
            for name in order:
                if secs[name] < round_s:
                    step, n = sides[name]
                    c, e = _run_for(step, n, min(burst_s, round_s - secs[name]))
                    chars[name] += c
                    secs[name] += e
        for name in names:
            per_round[name].append(chars[name] / secs[name])
    out = {k: {"chars_per_sec": statistics.median(v), "rounds": v} for k, v in per_round.items()}
    cv = per_round["charviz"]
    out["ratios"] = {
        k: statistics.median(a / b for a, b in zip(cv, per_round[k], strict=True)) for k in names if k != "charviz"
    }
    return out


# ---------------------------------------------------------------------------------------------------------
# 4: quality in equal wall time


@torch.no_grad()
def torch_heldout_bits(trainer: Trainer) -> float:
    """Mean cross-entropy in bits/char over the whole held-out text, from a zero state, state carried."""
    ids = trainer.val_ids
    _, loss, _ = trainer.model(ids[:-1][None], ids[1:][None])  # one stream through the whole text
    return float(loss) / LN2


def equal_time_quality(text: str, cfg: TrainConfig, budgets: list[float], slice_s: float) -> list[dict]:
    """Train charviz (default config) and the numpy reference for the same wall time, then evaluate both.

    The two alternate in slices of `slice_s` seconds until each has trained `budget` seconds; at every
    budget (ascending) both are evaluated on the held-out split (evaluation is off the clock) and training
    continues towards the next budget.
    """
    trainer = Trainer(text, cfg)
    if trainer.val_ids.numel() < 2:
        raise ValueError("the text is too short to hold out a validation split")
    ref = MinCharRNN(len(trainer.vocab), seed=cfg.seed)
    ref_data = np.asarray(trainer.vocab.encode(trainer.train_text))
    val = trainer.val_ids.numpy()
    cv_chars = trainer.batches.batch_size * trainer.batches.seq_len
    sides = {
        "charviz": (trainer.step, cv_chars),
        "numpy": (lambda: ref.step(ref_data), ref.seq_len),
    }
    clock = {k: 0.0 for k in sides}
    seen = {k: 0 for k in sides}
    out, turn = [], 0
    for budget in sorted(budgets):
        while any(clock[k] < budget for k in sides):
            names = list(sides) if turn % 2 == 0 else list(sides)[::-1]
            turn += 1
            for name in names:
                left = budget - clock[name]
                if left > 0:
                    step, n = sides[name]
                    chars, elapsed = _run_for(step, n, min(slice_s, left))
                    clock[name] += elapsed
                    seen[name] += chars
        cv_bits = torch_heldout_bits(trainer)
        ref_bits = ref.heldout_bits(val)
        out.append({
            "seconds": budget,
            "charviz": {"bits": cv_bits, "train_seconds": clock["charviz"], "steps": trainer.steps,
                        "chars": seen["charviz"]},
            "numpy": {"bits": ref_bits, "train_seconds": clock["numpy"], "steps": ref.steps,
                      "chars": seen["numpy"]},
            "gap": ref_bits - cv_bits,
            "heldout_chars": int(val.size),
        })
    return out


# ---------------------------------------------------------------------------------------------------------
# 5: introspection latency


def inspect_time(text: str, cfg: TrainConfig, runs: int) -> dict:
    """Median ms of forward_trace + gradient_flow on INSPECT_CHARS characters with the default model."""
    trainer = Trainer(text, cfg)
    sample = (trainer.val_text or trainer.train_text)[:INSPECT_CHARS]
    if len(sample) < INSPECT_CHARS:
        sample = (trainer.text * (INSPECT_CHARS // len(trainer.text) + 1))[:INSPECT_CHARS]
    model, vocab = trainer.model, trainer.vocab
    for _ in range(2):  # warm up
        forward_trace(model, vocab, sample)
        gradient_flow(model, vocab, sample)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        forward_trace(model, vocab, sample)
        gradient_flow(model, vocab, sample)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": statistics.median(times), "runs_ms": times, "chars": len(sample)}


# ---------------------------------------------------------------------------------------------------------
# the whole benchmark


PARTS = ("throughput", "quality", "inspect")


def run(
    text: str,
    corpus: str,
    budgets: list[float],
    threads: int = 2,
    quick: bool = False,
    parts: tuple[str, ...] = PARTS,
) -> dict:
    """Every figure of the chosen parts, as a dict (what --json prints)."""
    check_text(text)
    torch.set_num_threads(threads)
    cfg = TrainConfig()
    if quick:
        rounds, round_s, burst_s, warmup_s, slice_s, inspect_runs = 3, 0.1, 0.05, 0.1, 0.1, 3
    else:
        rounds, round_s, burst_s, warmup_s, slice_s, inspect_runs = 11, 1.0, 0.1, 1.0, 0.25, 21
    vocab = Vocab.from_text(text)
    results = {
        "corpus": {"name": corpus, "chars": len(text), "vocab_size": len(vocab)},
        "env": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
            "env_vars": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
            "quick": quick,
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        },
        "config": cfg.to_dict(),
    }
    t0 = time.perf_counter()
    if "throughput" in parts:
        _log(f"throughput: {rounds} rounds of {round_s:g} s per side in {burst_s:g} s bursts "
             "(charviz, plain loop, numpy x2)...")
        results["throughput"] = measure_throughput(text, cfg, rounds, round_s, warmup_s, burst_s)
    if "quality" in parts:
        _log(f"equal-time quality: {' and '.join(f'{b:g} s' for b in sorted(budgets))} each side...")
        results["quality"] = equal_time_quality(text, cfg, budgets, slice_s)
    if "inspect" in parts:
        _log("forward_trace + gradient_flow latency...")
        results["inspect"] = inspect_time(text, cfg, inspect_runs)
    results["env"]["loadavg_after"] = os.getloadavg()
    results["env"]["wall_seconds"] = time.perf_counter() - t0
    results["checks"] = checks(results)
    return results


def checks(results: dict) -> list[dict]:
    """Each measured figure next to its target: [{key, name, value, shown, target, pass}]."""
    rows = []

    def add(key, name, value, shown, target, ok):
        rows.append({"key": key, "name": name, "value": value, "shown": shown, "target": target, "pass": bool(ok)})

    tp = results.get("throughput")
    if tp:
        r = tp["ratios"]["plain"]  # median over rounds of the ratio within a round
        add("vs_plain", "Trainer.step() / plain PyTorch loop (chars/s)", r, f"{r:.2f}x",
            f">= {TARGET_VS_PLAIN}x", r >= TARGET_VS_PLAIN)
        for key, what in (("numpy_per_step", "per step, as the original"), ("numpy", "vectorized head")):
            r = tp["ratios"][key]
            add(f"vs_{key}", f"Trainer.step() / numpy min-char-rnn, {what} (chars/s)", r, f"{r:.1f}x",
                f">= {TARGET_VS_NUMPY:g}x", r >= TARGET_VS_NUMPY)
    for q in results.get("quality", []):
        add(f"quality_{q['seconds']:g}", f"held-out bits/char after {q['seconds']:g} s: numpy - charviz",
            q["gap"], f"{q['gap']:.3f} bits/char", f">= {TARGET_BITS_GAP}", q["gap"] >= TARGET_BITS_GAP)
    ins = results.get("inspect")
    if ins:
        ms = ins["ms"]
        add("inspect", f"forward_trace + gradient_flow ({ins['chars']} chars)", ms, f"{ms:.1f} ms",
            f"< {TARGET_INSPECT_MS:g} ms", ms < TARGET_INSPECT_MS)
    return rows


def _rate(side: dict) -> str:
    lo, hi = min(side["rounds"]), max(side["rounds"])
    return f"{side['chars_per_sec']:,.0f} chars/s ({lo:,.0f}-{hi:,.0f})"


def format_table(results: dict) -> str:
    """The figures as a markdown table, each next to its target, with a PASS/MISS column."""
    c, env, cfg = results["corpus"], results["env"], results["config"]
    lines = [
        f"corpus: {c['name']} ({c['chars']:,} chars, {c['vocab_size']} symbols); torch {env['torch']}, "
        f"{env['torch_threads']} torch threads, {env['cpus']} CPUs; load average "
        f"{env['loadavg_before'][0]:.2f} before, {env['loadavg_after'][0]:.2f} after"
        + (" (QUICK mode: figures are rough)" if env["quick"] else ""),
        *(["settings: " + ", ".join(f"{k}={v}" for k, v in env["env_vars"].items())] if env.get("env_vars") else []),
        *([f"WARNING: the machine was busy (load average {env['loadavg_before'][0]:.1f} on {env['cpus']} CPUs "
           "before the bench started): other processes took CPU time, and torch with several threads suffers "
           "most from that; rerun when it is quiet"]
          if env["loadavg_before"][0] > BUSY_LOAD else []),
        f"charviz default config: {cfg['cell']}, hidden {cfg['hidden_size']}, batch {cfg['batch_size']}, "
        f"seq_len {cfg['seq_len']}, {cfg['optimizer']} lr {cfg['lr']:g}, clip {cfg['clip']}; numpy reference: "
        "batch 1, hidden 100, seq_len 25, adagrad lr 0.1",
        "",
        "| figure | measured | target | result |",
        "|---|---:|---:|:---:|",
    ]
    chk = {r["key"]: r for r in results["checks"]}

    def row(name, shown, key=None):
        check = chk.get(key)
        target = check["target"] if check else ""
        verdict = ("PASS" if check["pass"] else "MISS") if check else ""
        lines.append(f"| {name} | {check['shown'] if check else shown} | {target} | {verdict} |")

    tp = results.get("throughput")
    if tp:
        row("Trainer.step() throughput, default config (median of rounds, min-max)", _rate(tp["charviz"]))
        row("plain PyTorch loop throughput (fused nn.RNN + Linear + Adam + clip)", _rate(tp["plain"]))
        row("numpy min-char-rnn throughput, per step as the original", _rate(tp["numpy_per_step"]))
        row("numpy min-char-rnn throughput, vectorized head (same arithmetic)", _rate(tp["numpy"]))
        row("Trainer.step() vs plain loop (median of per-round ratios)", "", "vs_plain")
        row("Trainer.step() vs numpy reference, per step (median of per-round ratios)", "", "vs_numpy_per_step")
        row("Trainer.step() vs numpy reference, vectorized (median of per-round ratios)", "", "vs_numpy")
    for q in results.get("quality", []):
        s = f"{q['seconds']:g} s"
        row(f"held-out bits/char after {s} of training: charviz",
            f"{q['charviz']['bits']:.3f} ({q['charviz']['chars']:,} chars seen)")
        row(f"held-out bits/char after {s} of training: numpy reference (vectorized)",
            f"{q['numpy']['bits']:.3f} ({q['numpy']['chars']:,} chars seen)")
        row(f"charviz lower by, after {s}", "", f"quality_{q['seconds']:g}")
    if results.get("inspect"):
        row("forward_trace + gradient_flow, 128 chars, default model (median)", "", "inspect")
    return "\n".join(lines)


# peak memory and step time of real steps in a fresh process (scripts/measure_limits.py, tests/test_core_limits.py)
_STEP_MEMORY_CHILD = """
import json, random, statistics, sys, time
import torch
torch.set_num_threads(1)
from charviz.data import load_corpus
from charviz.train import TrainConfig, Trainer, warm_up
warm_up()
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
cfg, steps, corpus, vocab, chars = json.loads(sys.argv[1])
if corpus:
    text = load_corpus(corpus)
else:
    rng = random.Random(0)
    alphabet = [chr(0x4E00 + i) for i in range(vocab)]
    text = "".join(rng.choice(alphabet) for _ in range(chars))
open("/proc/self/clear_refs", "w").write("5")
r0 = status("VmRSS")
tr = Trainer(text, TrainConfig(**cfg))
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    tr.step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"peak_mb": status("VmHWM") - r0, "step_s": statistics.median(times[1:] or times)}))
"""


def step_memory(config: TrainConfig, steps: int, corpus: str | None = None, vocab: int = 0, chars: int = 0,
                timeout: float = 600.0) -> dict:
    """{"peak_mb", "step_s"}: resident memory growth from building a Trainer through `steps` steps (VmHWM after
    resetting it: Linux) and the median step time, in a fresh Python process with one torch thread. The text is
    a built-in corpus, or `chars` characters drawn from `vocab` CJK ideographs (a vocabulary of any size)."""
    import subprocess

    arg = json.dumps([config.to_dict(), steps, corpus, vocab, chars])
    out = subprocess.run([sys.executable, "-c", _STEP_MEMORY_CHILD, arg], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m charviz.bench", description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, help="a UTF-8 text file (default: tinyshakespeare if found, "
                   "else the built-in 'python' corpus)")
    p.add_argument("--seconds", type=float, nargs="+",
                   help="training wall time per side for the equal-time comparison; several values are "
                   "measured along one run (default 15; 1 with --quick)")
    p.add_argument("--threads", type=int, default=2, help="torch threads for both torch sides (default 2)")
    p.add_argument("--quick", action="store_true", help="short rounds: the whole bench in seconds (rough)")
    p.add_argument("--only", choices=PARTS, action="append",
                   help="measure only this part (repeatable; default: all three)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout (the table goes to stderr)")
    args = p.parse_args(argv)
    if args.corpus is not None:
        name, text = args.corpus.name, args.corpus.read_text(encoding="utf-8")
    else:
        name, text = default_corpus()
    budgets = args.seconds or ([1.0] if args.quick else [15.0])
    if any(not (b > 0) for b in budgets):
        p.error("--seconds must be positive")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    parts = tuple(part for part in PARTS if part in (args.only or PARTS))
    results = run(text, name, budgets, threads=args.threads, quick=args.quick, parts=parts)
    table = format_table(results)
    if args.json:
        print(table, file=sys.stderr)
        print(json.dumps(results, indent=2))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
