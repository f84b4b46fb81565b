"""Throughput and Pause latency of N runs training at once, in threads vs in worker processes (no browser).

    python scripts/measure_workers.py [--runs 1 2 3] [--seconds 15] [--mode thread process]

For each mode and each N: N runs of the app's default model on 'hello' train at once in this process (as in
a server: threads share its interpreter, processes do not), throughput is counted from the runs' step
counters, then each run is paused and resumed several times while the others train (pause() returns when
the run has stopped: for a process run, when the model is back). The load average is printed with each line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from charviz.config import TrainConfig  # noqa: E402
from charviz.data import load_corpus  # noqa: E402
from charviz.run import TrainingRun  # noqa: E402
from charviz.train import Trainer, warm_up  # noqa: E402
from charviz.ui.session import configure_torch  # noqa: E402  (the server's torch threads and GIL switch)
from charviz.worker import ProcessRun, WorkerPool  # noqa: E402


def measure(mode: str, n: int, seconds: float, pool: WorkerPool, pauses: int = 7) -> dict:
    text = load_corpus("hello")
    runs = []
    for _ in range(n):
        tr = Trainer(text, TrainConfig())
        runs.append(ProcessRun(tr, eval_every_s=1.0, pool=pool) if mode == "process" else
                    TrainingRun(tr, eval_every_s=1.0))
    for r in runs:
        r.start()
    time.sleep(3)  # past the first steps and evaluations
    s0, t0 = [r.snapshot().step for r in runs], time.monotonic()
    time.sleep(seconds)
    s1, t1 = [r.snapshot().step for r in runs], time.monotonic()
    cps = [(b - a) * 1024 / (t1 - t0) for a, b in zip(s0, s1, strict=True)]
    lat = []
    for i in range(pauses):
        r = runs[i % n]
        time.sleep(0.5)
        p0 = time.perf_counter()
        r.pause()
        lat.append((time.perf_counter() - p0) * 1000)
        r.resume()
    for r in runs:
        r.stop()
    return {"cps": cps, "pause_ms": lat, "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--mode", nargs="+", default=["thread", "process"], choices=["thread", "process"])
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    configure_torch()
    warm_up()
    pool = WorkerPool(spare=1)
    pool.fill()
    for w in pool.workers():
        w.ready.wait(120)
    for mode in args.mode:
        alone = None
        for n in args.runs:
            r = measure(mode, n, args.seconds, pool)
            total = sum(r["cps"])
            alone = total if n == 1 else alone
            ratio = f", {total / alone:.2f}x one alone" if alone and n > 1 else ""
            print(f"{mode:7s} {n} run(s): {total:,.0f} chars/s together ({', '.join(f'{c:,.0f}' for c in r['cps'])})"
                  f"{ratio}; pause() median {statistics.median(r['pause_ms']):.0f} ms, max {max(r['pause_ms']):.0f} ms;"
                  f" load {r['load']:.2f} ({os.cpu_count()} CPUs)", flush=True)
    pool.close()


if __name__ == "__main__":
    main()
