#!/usr/bin/env python
"""Run-steps per second of the batched engine against the runner's single run of the same config, side by side.

For each model (an MLP of the registry: width × depth at a batch size), optimizer setting (Adam; AdamO every step,
the paper's Eq. 20; AdamO amortised, iso_every=16) and batch size N, the script builds N runs of one config family
(seeds 0..N−1, three learning rates) exactly as the runner builds them, trains one warm-up task (on CUDA it captures
the step graphs), then times `--tasks` whole tasks (steps, end-of-task accuracies; no probes) of the batch, and as
many tasks of the runner's own training loop (`SupervisedTrainer.train_task`, i.e. `supervised_task`) for one run
of the same config. Repeats are interleaved, so load drift on a shared machine hits both sides alike. Reported: the
median run-steps per second of each side and their ratio. Never asserts a speed.

Stream: random labels on the embedded 5,000 digits (no download), `--steps` steps per task.

    python benchmarks/batched.py                                     # CPU: N = 1 and 8, the CPU shapes
    python benchmarks/batched.py --device cuda --n 1 8 64 256        # GPU: all sizes, 4×512 at batch 16 and 64
    python benchmarks/batched.py --smoke                             # tiny sizes, seconds
"""
from __future__ import annotations
import argparse, csv, statistics, time
import torch

from isonb.continual.runner import RunConfig
from isonb.continual.batched import BatchedRuns, build_run, PRECISIONS

MODELS = {"4x512_b16": (512, 4, 16), "4x512_b64": (512, 4, 64), "4x256_b16": (256, 4, 16), "smoke": (32, 2, 8)}
OPTS = {"adam": dict(recipe="adam"), "adamo_exact": dict(recipe="adamo_every_step"),
        "adamo_k16": dict(recipe="adamo", opt_kw=dict(iso_every=16))}


def config(model: str, opt: str, seed: int, steps: int, device: str) -> RunConfig:
    "Run `seed` of the benchmark family: random labels on mnist5k, `steps` steps per task, lr 1e-3·(1 + seed mod 3)."
    width, depth, B = MODELS[model]
    s = dict(kind="random_label", dataset="mnist5k", n_tasks=10_000, train_per_task=steps * B, batch_size=B, seed=seed)
    return RunConfig(stream=s, width=width, depth=depth, lr=1e-3 * (1 + seed % 3), seed=seed, probe_size=0, device=device, **OPTS[opt])


def sync(dev: torch.device):
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def runner_rate(cfg: RunConfig, tasks: int, dev, cache: dict) -> float:
    "Run-steps per second of the runner's task loop for one run (after one warm-up task)."
    r = build_run(cfg, dev, cache=cache)
    r.trainer.train_task(0); sync(dev)
    t = time.perf_counter()
    for k in range(1, tasks + 1): r.trainer.train_task(k)
    sync(dev)
    return tasks * cfg.stream.steps_per_task() / (time.perf_counter() - t)


def batch_rate(cfgs: list[RunConfig], tasks: int, dev, cache: dict, graphs, precision: str) -> float:
    "Run-steps per second of one batch of `cfgs` (after one warm-up task, which captures the CUDA graphs)."
    eng = BatchedRuns([build_run(c, dev, cache=cache) for c in cfgs], precision=precision, graphs=graphs)
    eng.run_task(); sync(dev)
    t = time.perf_counter()
    for _ in range(tasks): eng.run_task()
    sync(dev)
    return tasks * len(cfgs) * cfgs[0].stream.steps_per_task() / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--n", type=int, nargs="+", default=None, help="batch sizes N (default: 1 8 on CPU, 1 8 64 256 on CUDA)")
    ap.add_argument("--models", nargs="+", default=None, choices=list(MODELS),
                    help="default: 4x512_b64 4x256_b16 on CPU (the demo and CPU presets' shapes), 4x512_b16 4x512_b64 on CUDA")
    ap.add_argument("--opts", nargs="+", default=list(OPTS), choices=list(OPTS))
    ap.add_argument("--steps", type=int, default=None, help="steps per task (default 16 on CPU, 64 on CUDA)")
    ap.add_argument("--tasks", type=int, default=2, help="timed tasks per measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", default="ieee", choices=PRECISIONS)
    ap.add_argument("--no-graphs", action="store_true", help="eager steps on CUDA too")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--csv", default=None, help="also write the table to this CSV file")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available(): ap.error("--device cuda: CUDA is not available")
    gpu = dev.type == "cuda"
    a.n = a.n or ([1, 8, 64, 256] if gpu else [1, 8])
    a.models = a.models or (["4x512_b16", "4x512_b64"] if gpu else ["4x512_b64", "4x256_b16"])
    a.steps = a.steps or (64 if gpu else 16)
    if a.smoke: a.models, a.n, a.steps, a.tasks, a.repeats = ["smoke"], [1, 4], 4, 1, 1
    for k in ("steps", "tasks", "repeats", "threads"):
        if getattr(a, k) < 1: ap.error(f"--{k} must be a positive integer, got {getattr(a, k)}")
    if any(n < 1 for n in a.n): ap.error(f"--n: batch sizes must be positive, got {a.n}")
    torch.set_num_threads(a.threads)
    graphs = False if a.no_graphs else None
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if gpu else f'{a.threads} thread(s)'}), precision {a.precision}, "
          f"graphs {'off' if a.no_graphs or not gpu else 'on'}, {a.steps} steps/task, {a.tasks} timed task(s), {a.repeats} repeat(s)")
    rows, cache = [], {}
    for model in a.models:
        for opt in a.opts:
            single, batched = [], {n: [] for n in a.n}
            for _ in range(a.repeats):                         # interleaved: runner, then every N, per repeat
                single.append(runner_rate(config(model, opt, 0, a.steps, a.device), a.tasks, dev, cache))
                for n in a.n:
                    batched[n].append(batch_rate([config(model, opt, s, a.steps, a.device) for s in range(n)], a.tasks, dev, cache,
                                                 graphs, a.precision))
            base = statistics.median(single)
            for n in a.n:
                rate = statistics.median(batched[n])
                rows.append(dict(model=model, opt=opt, N=n, batched_run_steps_per_s=round(rate, 1), runner_run_steps_per_s=round(base, 1),
                                 ratio=round(rate / base, 2)))
                print(f"{model:10s} {opt:12s} N={n:4d}  batched {rate:10.1f} run-steps/s   runner {base:8.1f}   ratio {rate / base:6.2f}", flush=True)
            if a.csv:
                with open(a.csv, "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
