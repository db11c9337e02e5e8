#!/usr/bin/env python
"""Per-step cost of every supervised recipe (isonb.continual.recipes.RECIPES) relative to plain Adam.

One training step = `isonb.continual.methods.supervised_step` (forward, loss + penalty, backward, optimizer step,
`after_step`) on the recipe's network of depth 4 and width 512 (784 inputs, 10 outputs), batch 128, CPU, torch
threads = 1 unless --threads. Each recipe is timed as the median over `--repeats` blocks of `--steps` steps after a
warm-up, interleaved with the `adam` recipe so that load drift on a shared machine hits both alike. Prints ms/step and
the ratio to Adam; never asserts a speed. The AdamO recipes use FAST_ISO (windows of 16 steps), so blocks are 32 steps.

    python benchmarks/baselines.py            # default sizes (a few minutes)
    python benchmarks/baselines.py --smoke    # tiny sizes, seconds
"""
from __future__ import annotations
import argparse, statistics, time
import torch

from isonb.continual.methods import supervised_step
from isonb.continual.recipes import RECIPES, build_recipe

SUPERVISED = [k for k, r in RECIPES.items() if r.arch != "actor_critic"]


def build(name, width, depth):
    torch.manual_seed(0)
    return build_recipe(name, 784, 10, width, depth, 1e-4)


def time_block(state, X, y, steps):
    model, opt, m = state
    t = time.perf_counter()
    for _ in range(steps): supervised_step(model, opt, m, X, y)
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=512); ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128); ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--recipes", nargs="+", default=SUPERVISED, choices=SUPERVISED)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    a = ap.parse_args(argv)
    if a.smoke: a.width, a.batch, a.steps, a.repeats = 32, 16, 16, 1
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(a.batch, 784, generator=g), torch.randint(0, 10, (a.batch,), generator=g)
    ref = build("adam", a.width, a.depth); time_block(ref, X, y, 2)
    print(f"# {a.depth}x{a.width} networks, batch {a.batch}, {a.threads} thread(s), median of {a.repeats} x {a.steps} steps")
    print(f"{'recipe':28s} {'ms/step':>9s} {'adam ms':>9s} {'ratio':>7s}")
    for name in a.recipes:
        st = build(name, a.width, a.depth); time_block(st, X, y, 2)
        ts, rs = [], []
        for _ in range(a.repeats):
            rs.append(time_block(ref, X, y, a.steps)); ts.append(time_block(st, X, y, a.steps))
        t, r = statistics.median(ts), statistics.median(rs)
        print(f"{name:28s} {1e3 * t:9.2f} {1e3 * r:9.2f} {t / r:7.2f}", flush=True)


if __name__ == "__main__":
    main()
