#!/usr/bin/env python
"""Benchmark: trace-mode eNTK of a 4×512 ReLU MLP (784 inputs, 10 logits) on CPU, `structured` vs `jacobian`.

For each n it prints, measured side by side in one process: the CPU time (best of `--repeats`; one run for the
reference) and the peak resident memory above the level at the start of the measurement of
(a) the *floor* of any exact method: one forward plus one output-batched backward of the same batch down to the
    first layer's pre-activation (the back-propagated signals of every layer),
(b) `entk(method='structured')`,
(c) the reference `entk(method='jacobian')` (functional_call + vmap(jacrev) + per-tensor contraction), chunked to
    `--ref-mem-gb`,
then the ratio lines. The reference is skipped, with a printed note, where its unchunked Jacobian (n·O·P floats)
does not fit in the available memory *and* its chunked form would take longer than `--ref-max-s` (estimated from
the largest n it ran at, its cost growing like n²). Never asserts a speed.

    python benchmarks/entk.py            # n = 128, 512, 2048 (about half an hour, nearly all of it the reference)
    python benchmarks/entk.py --smoke    # tiny sizes, seconds: used by tests/test_entk.py
"""
from __future__ import annotations
import argparse, ctypes, gc, os, sys, threading, time
import torch

from isonb.layers import mlp
from isonb.probes.entk import entk


def _libc():
    try: return ctypes.CDLL("libc.so.6")
    except OSError: return None

LIBC = _libc()
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    "Resident set size of this process in bytes (Linux /proc)."
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * PAGE


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"): return int(line.split()[1]) * 1024
    return 0


class PeakRSS:
    "Peak RSS above the level at entry, sampled every `dt` s by a background thread (torch kernels release the GIL)."
    def __init__(self, dt: float = 5e-4): self.dt, self.peak = dt, 0
    def __enter__(self):
        gc.collect()
        if LIBC is not None: LIBC.malloc_trim(0)                  # give freed heap pages back before measuring
        self.base, self.peak, self._run = rss(), 0, True
        self._t = threading.Thread(target=self._poll, daemon=True); self._t.start()
        return self
    def _poll(self):
        while self._run:
            self.peak = max(self.peak, rss() - self.base); time.sleep(self.dt)
    def __exit__(self, *exc):
        self.peak = max(self.peak, rss() - self.base); self._run = False; self._t.join()


def measure(fn, repeats: int):
    "(best CPU seconds, best wall seconds, peak bytes above start, last result) over `repeats` calls of `fn`."
    cpu, wall, peak, out = [], [], 0, None
    for _ in range(repeats):
        out = None
        with PeakRSS() as pm:
            t0, w0 = time.process_time(), time.perf_counter()
            out = fn()
            cpu.append(time.process_time() - t0); wall.append(time.perf_counter() - w0)
        peak = max(peak, pm.peak)
    return min(cpu), min(wall), peak, out


def floor_fn(model, x, O):
    "One forward and one output-batched backward down to the first layer's pre-activation (the signals of every layer)."
    E = torch.zeros(O, len(x), O); E[torch.arange(O), :, torch.arange(O)] = 1     # one-hot output basis (O, n, O)
    def run():
        z = []
        h = model[0].register_forward_hook(lambda m, i, o: z.append(o))
        try: f = model(x)
        finally: h.remove()
        return torch.autograd.grad(f, z, grad_outputs=E, is_grads_batched=True)
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (width 64, n = 8, 16): checks that the script runs")
    ap.add_argument("--n", type=int, nargs="+", default=None, help="probe-set sizes (default 128 512 2048)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the machine is shared)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the fast measurements (best is reported)")
    ap.add_argument("--ref-mem-gb", type=float, default=4.0, help="max_mem of the jacobian reference (GiB)")
    ap.add_argument("--ref-max-s", type=float, default=1200.0, help="skip the reference where its estimate exceeds this")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    width, ns = (64, a.n or [8, 16]) if a.smoke else (512, a.n or [128, 512, 2048])
    torch.manual_seed(0)
    model = mlp(784, 10, width=width, depth=4, act="relu").eval()                   # float32, orthogonal init
    O, P = 10, sum(p.numel() for p in model.parameters())
    if LIBC is not None: LIBC.mallopt(-3, 64 * 1024)    # M_MMAP_THRESHOLD fixed at 64 KiB: freed tensors leave RSS
    with PeakRSS() as pm: buf = torch.ones(50_000_000); del buf                    # calibration: 200 MB
    print(f"eNTK benchmark: {len(model) // 2}x{width} ReLU MLP, 784 -> {O}, P = {P:,} parameters, float32, CPU, "
          f"{a.threads} thread(s), torch {torch.__version__}")
    print(f"memory probe calibration: a 200.0 MB tensor measured as {pm.peak / 1e6:.1f} MB")
    ref_rate = None                                    # reference seconds per (n/128)² from the last n it ran at
    for n in ns:
        x = torch.randn(n, 784, generator=torch.Generator().manual_seed(n))
        entk(model, x[:4], method="structured"); entk(model, x[:2], method="jacobian")   # warm-up
        t_fl, w_fl, m_fl, _ = measure(floor_fn(model, x, O), a.repeats)
        t_st, w_st, m_st, K_st = measure(lambda: entk(model, x, method="structured"), a.repeats)
        print(f"n={n:5d}  floor (fwd + output-batched bwd): cpu {t_fl:8.3f} s  wall {w_fl:8.3f} s  peak {m_fl / 1e6:9.1f} MB")
        print(f"n={n:5d}  structured                     : cpu {t_st:8.3f} s  wall {w_st:8.3f} s  peak {m_st / 1e6:9.1f} MB")
        print(f"n={n:5d}  structured / floor time ratio: {t_st / t_fl:.2f}x")
        need = n * O * P * 4
        est = None if ref_rate is None else ref_rate * (n / 128) ** 2
        if need > 0.8 * mem_available() and est is not None and est > a.ref_max_s:
            print(f"n={n:5d}  jacobian skipped: its Jacobian needs {need / 1e9:.1f} GB (> {mem_available() / 1e9:.1f} GB "
                  f"available) and the chunked form would take ~{est / 60:.0f} min (> --ref-max-s {a.ref_max_s:.0f} s)")
            continue
        info = {}
        t_ref, w_ref, m_ref, K_ref = measure(lambda: entk(model, x, method="jacobian", max_mem=a.ref_mem_gb * 2**30, info=info), 1)
        ref_rate = t_ref / (n / 128) ** 2
        err = ((K_st.double() - K_ref.double()).norm() / K_ref.double().norm()).item()
        print(f"n={n:5d}  jacobian (chunk {info['chunk_size']}, {info['blocks']} blocks): cpu {t_ref:8.3f} s  wall "
              f"{w_ref:8.3f} s  peak {m_ref / 1e6:9.1f} MB   (rel. diff to structured {err:.1e})")
        print(f"n={n:5d}  ratio jacobian/structured: time {t_ref / t_st:.1f}x  peak memory {m_ref / max(m_st, 1):.1f}x")


if __name__ == "__main__":
    main()
