#!/usr/bin/env python
"""Cost of a whole AdamO training step (forward, backward, optimizer step) relative to torch.optim.Adam.

For each model the script builds one network per optimizer setting from the same seed and times blocks of `--steps`
training steps on a fixed random batch, interleaving the settings (Adam, AdamO exact — single-tensor, and foreach, which batches
same-shape matrices — AdamO at iso_every 8 and 64 with FAST_ISO's other options, and FAST_ISO) in every repeat so that load drift on a shared machine hits all of them alike. A block is a whole number of
isometry windows, so an amortised setting pays its window cost inside the block. Reported: the median ms/step over
`--repeats` blocks and the ratio of medians to Adam, measured side by side in this one process. Never asserts a speed.

Models: the 784→4×512→10 ReLU MLP of the demo at batch 16, 64 and 256; the small CNN of `isonb.architectures`
(3×64 channels, 28×28 inputs, batch 64); a 4-block pre-LayerNorm vision transformer with d_model 256 (16 patch
tokens of 7×7 pixels from 28×28 inputs, batch 16). The CSV is rewritten after every model, so a long run keeps what
it measured.

    python benchmarks/adamo_cost.py                 # all models (several minutes on 1 thread)
    python benchmarks/adamo_cost.py --models mlp64  # one model
    python benchmarks/adamo_cost.py --smoke         # tiny sizes, seconds
"""
from __future__ import annotations
import argparse, statistics, time
import torch
import torch.nn.functional as F

from isonb.optim import AdamO, EXACT_ISO, FAST_ISO
from isonb.regularizers import iso_param_groups

MODELS = ("mlp16", "mlp64", "mlp256", "cnn", "transformer")


def settings():
    "Name -> optimizer factory (model -> optimizer). The pull c = γ_iso·λ = 1e-3 throughout (the demo's value)."
    adamo = lambda **kw: (lambda m: AdamO(iso_param_groups(m), lr=1e-3, iso=1e-3, iso_lr=1.0, **kw))
    fast = {k: v for k, v in FAST_ISO.items() if k != "iso_every"}
    return {"adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
            "adamo exact": adamo(**EXACT_ISO),
            "adamo exact, foreach": adamo(**EXACT_ISO, foreach=True),
            "adamo iso_every=8": adamo(**{**fast, "iso_every": 8}),
            "adamo iso_every=64": adamo(**{**fast, "iso_every": 64}),
            f"adamo FAST_ISO (k={FAST_ISO['iso_every']})": adamo(**FAST_ISO)}


def build_model(name: str, smoke: bool):
    "The model of `name` and a fixed random batch (x, y) for it."
    width = 32 if smoke else 512
    if name.startswith("mlp"):
        from isonb.layers import mlp
        B = int(name[3:]) if not smoke else 8
        return lambda: mlp(784, 10, width, 4), (B, 784)
    if name == "cnn":
        from isonb.architectures import make_model
        return lambda: make_model("small_cnn", (1, 28, 28), 10, width=8 if smoke else 64, depth=3), (8 if smoke else 64, 1, 28, 28)
    if name == "transformer":
        from isonb.transformer import VisionTransformer
        d = 16 if smoke else 256
        return lambda: VisionTransformer((1, 28, 28), 10, d_model=d, depth=4, n_heads=4, patch=7), (8 if smoke else 16, 1, 28, 28)
    raise SystemExit(f"--models: unknown model {name!r}; choose from {list(MODELS)}")


def time_block(model, opt, x, y, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--steps", type=int, default=128, help="steps per timed block (a multiple of every window length)")
    ap.add_argument("--repeats", type=int, default=5); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV file")
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True): denormal floats become 0")
    a = ap.parse_args(argv)
    if a.smoke: a.steps, a.repeats = 64, 1
    for k, v in (("--steps", a.steps), ("--repeats", a.repeats), ("--threads", a.threads)):
        if v < 1: ap.error(f"{k} must be a positive integer, got {v}")
    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True): ap.error("--flush-denormal: not supported on this CPU")
    print(f"# whole training step, {a.threads} thread(s), denormals {'flushed' if a.flush_denormal else 'kept'}, median of {a.repeats} interleaved blocks of {a.steps} steps; "
          f"torch {torch.__version__}")
    print(f"{'model':12s} {'setting':28s} {'ms/step':>9s} {'ratio to adam':>14s}")
    rows = []
    for name in a.models:
        make, shape = build_model(name, a.smoke)
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(*shape, generator=g), torch.randint(0, 10, (shape[0],), generator=g)
        runs = {}
        for s, mk in settings().items():
            torch.manual_seed(0); m = make(); o = mk(m)
            time_block(m, o, x, y, max(64, FAST_ISO["iso_every"]))      # warm-up: state allocated, first windows closed
            runs[s] = (m, o)
        ts = {s: [] for s in runs}
        for _ in range(a.repeats):
            for s, (m, o) in runs.items(): ts[s].append(time_block(m, o, x, y, a.steps))
        med = {s: statistics.median(v) for s, v in ts.items()}
        for s in runs:
            print(f"{name:12s} {s:28s} {1e3 * med[s]:9.2f} {med[s] / med['adam']:14.2f}", flush=True)
            rows.append(dict(model=name, setting=s, ms_per_step=1e3 * med[s], ratio_to_adam=med[s] / med["adam"],
                             threads=a.threads, steps=a.steps, repeats=a.repeats, flush_denormal=a.flush_denormal))
        if a.csv:
            from isonb.results import write_csv
            write_csv(a.csv, rows)


if __name__ == "__main__":
    main()
