#!/usr/bin/env python
"""Per-step cost of each continual-learning baseline (isonb.continual.baselines) relative to plain Adam.

One training step = `method_step` (forward, loss + penalty, backward, optimizer step, `after_step`) on a 4×512 ReLU
MLP (784 inputs, 10 outputs; NaP on its LayerNorm variant), batch 128, CPU, torch threads = 1 unless --threads. Each
method is timed as the median over `--repeats` blocks of `--steps` steps after a warm-up, interleaved with the plain
Adam reference so that load drift on a shared machine hits both alike. Prints ms/step and the ratio to Adam; never
asserts a speed.

    python benchmarks/baselines.py            # default sizes (a minute or two)
    python benchmarks/baselines.py --smoke    # tiny sizes, seconds
"""
from __future__ import annotations
import argparse, statistics, time
import torch
import torch.nn.functional as F

from isonb.continual.baselines import make_method, make_model, make_optimizer, method_step

METHODS = ["none", "l2", "l2_init", "parseval", "spectral", "iso_coupled", "shrink_perturb", "shrink_perturb_gauss",
           "cbp", "redo", "nap", "adamo"]


def build(name, width, depth):
    torch.manual_seed(0)
    model = make_model("nap_mlp" if name == "nap" else "relu_mlp", 784, 10, width, depth)
    opt = make_optimizer("adamo" if name == "adamo" else "adam", model, 1e-4)
    if name == "shrink_perturb_gauss": m = make_method("shrink_perturb", noise="gaussian")
    else: m = make_method("none" if name == "adamo" else name)
    m.setup(model, opt)
    return model, opt, m


def time_block(state, X, y, steps):
    model, opt, m = state
    t = time.perf_counter()
    for i in range(steps): method_step(model, opt, m, X, y, F.cross_entropy)
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=512); ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128); ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    a = ap.parse_args(argv)
    if a.smoke: a.width, a.batch, a.steps, a.repeats = 32, 16, 3, 2
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(a.batch, 784, generator=g), torch.randint(0, 10, (a.batch,), generator=g)
    ref = build("none", a.width, a.depth); time_block(ref, X, y, 2)
    print(f"# {a.depth}x{a.width} MLP, batch {a.batch}, {a.threads} thread(s), median of {a.repeats} x {a.steps} steps")
    print(f"{'method':22s} {'ms/step':>9s} {'adam ms':>9s} {'ratio':>7s}")
    for name in METHODS:
        st = build(name, a.width, a.depth); time_block(st, X, y, 2)
        ts, rs = [], []
        for _ in range(a.repeats):
            rs.append(time_block(ref, X, y, a.steps)); ts.append(time_block(st, X, y, a.steps))
        t, r = statistics.median(ts), statistics.median(rs)
        print(f"{name:22s} {1e3 * t:9.2f} {1e3 * r:9.2f} {t / r:7.2f}")


if __name__ == "__main__":
    main()
