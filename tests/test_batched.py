"""Batched engine: a batched sweep killed with SIGKILL mid-task resumes — regrouped into other batches — to the very files
an uninterrupted batch writes; the benchmark script runs."""
import csv, json, os, signal, subprocess, sys, time

from isonb.continual.runner import read_run, same_rows

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SWEEP = dict(presets=["demo_smoke"], recipes=["adamo", "spectral"], seeds=[0, 1, 2],
             overrides={"device": "cpu", "stream.n_tasks": 5, "stream.train_per_task": 512, "stream.epochs_per_task": 1})


def _jobs(results):
    from isonb.continual.sweeps import sweep_configs
    return sweep_configs(SWEEP["presets"], SWEEP["recipes"], SWEEP["seeds"], results=results, overrides=SWEEP["overrides"])


def _rows_done(d) -> int:
    p = os.path.join(d, "metrics.csv")
    return len(open(p).read().strip().splitlines()) - 1 if os.path.exists(p) else 0


def test_sigkill_then_regrouped_resume_is_bit_identical(tmp_path):
    from isonb.continual.batched import batched_sweep
    killed, ref = str(tmp_path / "killed"), str(tmp_path / "ref")
    code = ("import json, sys; from isonb.continual.sweeps import sweep_configs; from isonb.continual.batched import batched_sweep; "
            f"s = json.loads(sys.argv[1]); batched_sweep(sweep_configs(s['presets'], s['recipes'], s['seeds'], results={killed!r}, "
            "overrides=s['overrides']), max_batch=3, progress=False)")
    p = subprocess.Popen([sys.executable, "-c", code, json.dumps(SWEEP)], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    first = _jobs(killed)[0]["dir"]
    t0 = time.time()
    while _rows_done(first) < 2:                             # two tasks recorded: mid-stream, a checkpoint on disk
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
        assert time.time() - t0 < 300, "the batched sweep recorded no task within 300 s"
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    assert os.path.exists(os.path.join(first, "checkpoint.pt")) and not os.path.exists(os.path.join(first, "result.json"))
    resumed = batched_sweep(_jobs(killed), max_batch=2, progress=False)          # regrouped: 2 + 1 runs per recipe
    whole = batched_sweep(_jobs(ref), max_batch=3, progress=False)
    assert [r["status"] for r in resumed] == [r["status"] for r in whole] == ["complete"] * 6
    for a, b in zip(_jobs(killed), _jobs(ref)):
        assert open(os.path.join(a["dir"], "metrics.csv"), "rb").read() == open(os.path.join(b["dir"], "metrics.csv"), "rb").read()
        assert same_rows(read_run(a["dir"])["rows"], read_run(b["dir"])["rows"])
        assert json.load(open(os.path.join(a["dir"], "result.json")))["engine"]["engine"] == "batched"


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.csv"
    r = subprocess.run([sys.executable, "benchmarks/batched.py", "--smoke", "--csv", str(out)], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = list(csv.DictReader(open(out)))
    assert [(x["opt"], x["N"]) for x in rows] == [(o, n) for o in ("adam", "adamo_exact", "adamo_k16") for n in ("1", "4")]
    assert all(float(x["batched_run_steps_per_s"]) > 0 and float(x["runner_run_steps_per_s"]) > 0 for x in rows)
