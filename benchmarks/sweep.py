#!/usr/bin/env python
"""Wall-clock of one sweep on the local backend against the Ray backend, side by side in one invocation.

The sweep: 8 short runs of the `demo` preset (by default 4 recipes × 2 seeds, reduced to 10 tasks so that each run
takes 15–60 s on one core; `--recipes adamo_iso1` makes 8 runs of equal length), written into two fresh results trees. The local backend runs them one after another in this
process; the Ray backend starts a local cluster of `--num-cpus` CPUs (one CPU and one torch thread per run) and runs
them as Ray tasks. Printed: both wall-clock times, their ratio, and Ray's fixed start-up cost (ray.init to a ready
cluster, measured separately). The two trees are also compared byte for byte. Never asserts a speed.

With `--gpus-per-run F` (on a machine with a GPU) the same 8 runs go to the GPU instead: in sequence on the local
backend, and sharing one GPU on Ray (8 × 0.125 for F = 0.125).

    python benchmarks/sweep.py                  # about 3-5 minutes on 2 cores
    python benchmarks/sweep.py --smoke          # tiny runs, under a minute
"""
from __future__ import annotations
import argparse, os, shutil, sys, tempfile, time

SETTINGS = ["stream.n_tasks=10", "stream.train_per_task=1024", "stream.epochs_per_task=10", "width=512", "depth=4",
            "probe_size=64", "device=cpu"]


def tree_bytes(tree):
    out = {}
    for d, _, fs in os.walk(tree):
        for f in fs:
            if f == "metrics.csv": out[os.path.relpath(os.path.join(d, f), tree)] = open(os.path.join(d, f), "rb").read()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-cpus", type=int, default=2); ap.add_argument("--gpus-per-run", type=float, default=0.0)
    ap.add_argument("--smoke", action="store_true", help="tiny runs (under a minute)")
    ap.add_argument("--csv", default=None, help="also write the result to this CSV file")
    ap.add_argument("--recipes", nargs="+", default=["adam", "adamo", "adamo_iso1", "adamo_iso1_exact"],
                    help="the recipes of the sweep (8 runs in all: seeds are added to make 8)")
    a = ap.parse_args(argv)
    if a.num_cpus < 1: ap.error(f"--num-cpus must be a positive integer, got {a.num_cpus}")
    import torch
    torch.set_num_threads(1)
    from isonb.continual.sweeps import sweep
    sets = SETTINGS if not a.smoke else ["stream.n_tasks=2", "stream.train_per_task=64", "stream.epochs_per_task=1",
                                         "width=32", "depth=2", "probe_size=16", "device=cpu"]
    if a.gpus_per_run: sets = [s for s in sets if not s.startswith("device=")] + ["device=cuda"]
    over = {k: __import__("json").loads(v) if v[:1].isdigit() or v[:1] in "[{-" else v for k, v in (s.split("=", 1) for s in sets)}
    recipes = a.recipes
    if 8 % len(recipes): ap.error(f"--recipes: 8 runs must split evenly over {len(recipes)} recipes")
    seeds = list(range(8 // len(recipes)))
    root = tempfile.mkdtemp(prefix="isonb-sweep-bench-")
    try:
        import ray
        t = time.perf_counter(); ray.init(num_cpus=a.num_cpus, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - t; ray.shutdown()
        t = time.perf_counter(); sweep(["demo"], recipes, seeds, results=os.path.join(root, "local"), progress=False, overrides=over)
        local = time.perf_counter() - t
        t = time.perf_counter()
        rows = sweep(["demo"], recipes, seeds, results=os.path.join(root, "ray"), progress=False, overrides=over, backend="ray",
                     backend_kw=dict(num_cpus=a.num_cpus, gpus_per_run=a.gpus_per_run))
        viaray = time.perf_counter() - t
        assert all(r["status"] == "complete" for r in rows), rows
        same = tree_bytes(os.path.join(root, "local")) == tree_bytes(os.path.join(root, "ray"))
        n = len(recipes) * len(seeds)
        print(f"# {n} runs of the demo preset ({' '.join(sets)}), torch {torch.__version__}, ray {ray.__version__}")
        print(f"local backend (one after another): {local:7.1f} s")
        print(f"ray backend ({a.num_cpus} CPUs{f', {a.gpus_per_run:g} GPU per run' if a.gpus_per_run else ''}):  {viaray:7.1f} s")
        print(f"speed-up local / ray: {local / viaray:.2f}x; ray start-up (init to a ready cluster): {startup:.1f} s; "
              f"metrics identical: {same}")
        if a.csv:
            from isonb.results import write_csv
            write_csv(a.csv, [dict(runs=n, recipes=" ".join(recipes), num_cpus=a.num_cpus, gpus_per_run=a.gpus_per_run, local_s=local, ray_s=viaray,
                                   speedup=local / viaray, ray_startup_s=startup, identical=same, smoke=a.smoke)])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
