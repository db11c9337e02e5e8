#!/usr/bin/env python
"""Cost of a whole AdamO training step (forward, backward, optimizer step) relative to torch.optim.Adam.

For each model the script builds one network per optimizer setting from the same seed and times blocks of `--steps`
training steps on a fixed random batch, interleaving the settings in every repeat so that load drift on a shared
machine hits all of them alike. A block is a whole number of isometry windows, so an amortised setting pays its window
cost inside the block. Reported: the median ms/step over `--repeats` blocks and the ratio of medians to a baseline
measured side by side in this one process — torch.optim.Adam for every Adam-based setting, torch.optim.Muon (+ AdamW on
the rest, `isonb.optimizers.MuonAdamW`) for MuonO. Never asserts a speed.

Settings (the pull c = γ_iso·λ = 1e-3 throughout, the demo's value; AdamO over `iso_param_groups`):
  adam                             torch.optim.Adam
  adamo iso=0                      AdamO with λ = 0: Adam's arithmetic through AdamO's code (its Python overhead)
  adamo exact[, foreach]           the paper's step at every step (foreach: same-shape matrices in one batched product)
  adamo iso_every=8|16|64          the amortised step (guarded windows, staggered)
  adamo iso_every=16, capturable   step counts and window coefficients in device tensors
  adamo exact|iso_every=16, compiled   torch.compile(opt.step), on the MLPs (skipped with --no-compile): a compiled
                                   amortised step has one graph per window phase, which on the 24 matrices of the
                                   transformer takes far longer to compile than the benchmark to run
  adam + isometry_step[ iso_every=16]  torch.optim.Adam with the isometry step attached by hooks (= AdamO)
  muon, muono[ iso_every=16]       Muon on the hidden matrices + AdamW on the rest, without and with the isometry step
                                   (models with no 2-D hidden matrix, such as the CNN, have no Muon rows)

Models: the 784→4×512→10 ReLU MLP of the demo at batch 16, 64 and 256; the small CNN of `isonb.architectures`
(3×64 channels, 28×28 inputs, batch 64); a 4-block pre-LayerNorm vision transformer with d_model 256 (16 patch
tokens of 7×7 pixels from 28×28 inputs, batch 16). The CSV is rewritten after every model, so a long run keeps what
it measured.

    python benchmarks/adamo_cost.py                 # all models (tens of minutes on 1 thread, compilation included)
    python benchmarks/adamo_cost.py --models mlp64  # one model
    python benchmarks/adamo_cost.py --smoke         # tiny sizes, one repeat
"""
from __future__ import annotations
import argparse, statistics, time, warnings
import torch
import torch.nn.functional as F

from isonb.adamo import AdamO, isometry_step
from isonb.optimizers import make_optimizer
from isonb.regularizers import iso_param_groups, split_iso_params

MODELS = ("mlp16", "mlp64", "mlp256", "cnn", "transformer")
WINDOW = 16                                                    # the amortised setting most rows compare


def settings(compile_step: bool) -> dict:
    "Name -> (baseline name, optimizer factory model -> (optimizer, step function))."
    def adamo(**kw): return lambda m: AdamO(iso_param_groups(m), lr=1e-3, iso=1e-3, iso_lr=1.0, **kw)
    def hooked(k):
        def make(m):
            o = torch.optim.Adam(m.parameters(), lr=1e-3)
            isometry_step(o, split_iso_params(m)[0].values(), iso=1e-3, iso_lr=1.0, iso_every=k)
            return o
        return make
    plain = lambda make: (lambda m: (lambda o: (o, o.step))(make(m)))
    compiled = lambda make: (lambda m: (lambda o: (o, torch.compile(o.step, fullgraph=True)))(make(m)))
    out = {"adam": ("adam", plain(lambda m: torch.optim.Adam(m.parameters(), lr=1e-3))),
           "adamo iso=0": ("adam", plain(lambda m: AdamO(m.parameters(), lr=1e-3, iso=0.0))),
           "adamo exact": ("adam", plain(adamo())),
           "adamo exact, foreach": ("adam", plain(adamo(foreach=True)))}
    out.update({f"adamo iso_every={k}": ("adam", plain(adamo(iso_every=k))) for k in (8, WINDOW, 64)})
    out[f"adamo iso_every={WINDOW}, capturable"] = ("adam", plain(adamo(iso_every=WINDOW, capturable=True)))
    if compile_step:
        out["adamo exact, compiled"] = ("adam", compiled(adamo()))
        out[f"adamo iso_every={WINDOW}, compiled"] = ("adam", compiled(adamo(iso_every=WINDOW)))
    out["adam + isometry_step"] = ("adam", plain(hooked(1)))
    out[f"adam + isometry_step iso_every={WINDOW}"] = ("adam", plain(hooked(WINDOW)))
    out["muon"] = ("muon", plain(lambda m: make_optimizer("muon", m, 1e-3)))
    out["muono"] = ("muon", plain(lambda m: make_optimizer("muono", m, 1e-3, iso=1e-3, iso_lr=1.0)))
    out[f"muono iso_every={WINDOW}"] = ("muon", plain(lambda m: make_optimizer("muono", m, 1e-3, iso=1e-3, iso_lr=1.0, iso_every=WINDOW)))
    return out


def build_model(name: str, smoke: bool):
    "The model factory of `name` and the shape of its fixed random batch."
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


def time_block(model, opt, step, x, y, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); step()
    return (time.perf_counter() - t) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--steps", type=int, default=128, help="steps per timed block (a multiple of every window length)")
    ap.add_argument("--repeats", type=int, default=5); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (seconds, plus compilation)")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile'd settings of the MLPs (their compilation takes minutes)")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV file")
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True): denormal floats become 0")
    a = ap.parse_args(argv)
    if a.smoke: a.steps, a.repeats = 64, 1
    for k, v in (("--steps", a.steps), ("--repeats", a.repeats), ("--threads", a.threads)):
        if v < 1: ap.error(f"{k} must be a positive integer, got {v}")
    if a.steps % 64: ap.error(f"--steps must be a multiple of 64 (the longest window), got {a.steps}")
    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True): ap.error("--flush-denormal: not supported on this CPU")
    warnings.filterwarnings("ignore", message=".*AMORTISED_VALIDATED")    # iso_every=64 is outside it, on purpose
    torch._dynamo.config.recompile_limit = 64       # a compiled amortised step has a graph per pattern of windows closing
    print(f"# whole training step, {a.threads} thread(s), denormals {'flushed' if a.flush_denormal else 'kept'}, median of {a.repeats} "
          f"interleaved blocks of {a.steps} steps; torch {torch.__version__}")
    print(f"{'model':12s} {'setting':38s} {'ms/step':>9s} {'ratio':>7s}  baseline")
    rows = []
    for name in a.models:
        make, shape = build_model(name, a.smoke)
        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(*shape, generator=g), torch.randint(0, 10, (shape[0],), generator=g)
        runs, base = {}, {}
        torch._dynamo.reset()
        for s, (b, mk) in settings(not a.no_compile and name.startswith("mlp")).items():
            torch.manual_seed(0); m = make()
            try: o, step = mk(m)
            except ValueError as e:                                    # e.g. Muon on a model with no 2-D hidden matrix
                print(f"{name:12s} {s:38s} {'—':>9s} {'—':>7s}  skipped: {e}"); continue
            time_block(m, o, step, x, y, 64)                           # warm-up: state, windows, compilation
            runs[s], base[s] = (m, o, step), b
        ts = {s: [] for s in runs}
        for _ in range(a.repeats):
            for s, (m, o, step) in runs.items(): ts[s].append(time_block(m, o, step, x, y, a.steps))
        med = {s: statistics.median(v) for s, v in ts.items()}
        for s in runs:
            b = base[s]
            ratio = med[s] / med[b]
            print(f"{name:12s} {s:38s} {1e3 * med[s]:9.2f} {ratio:7.2f}  {b}", flush=True)
            rows.append(dict(model=name, setting=s, ms_per_step=1e3 * med[s], baseline=b, ratio_to_baseline=ratio,
                             ratio_to_adam=med[s] / med["adam"], threads=a.threads, steps=a.steps, repeats=a.repeats,
                             flush_denormal=a.flush_denormal))
        if a.csv:
            from isonb.results import write_csv
            write_csv(a.csv, rows)


if __name__ == "__main__":
    main()
