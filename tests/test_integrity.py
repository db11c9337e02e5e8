"""The results tree never lies: finished runs are never restarted in place, a SIGKILL at any instant leaves a run either
unfinished (and resumable, bit-identically) or finished and verified, damaged files are reported by name and left out,
diverged runs are counted and left out of the means, and two sweeps on one tree compute every run exactly once."""
import json, os, random, signal, subprocess, sys, time
import pytest

from isonb.continual.runner import RunConfig, run, read_run
from isonb.continual.sweeps import load_runs, aggregate
from isonb.continual.streams import StreamConfig
from isonb.results import ResultsError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SET = ["stream.n_tasks=5", "stream.train_per_task=128", "stream.epochs_per_task=2", "width=32", "depth=2", "probe_size=16",
       "device=cpu"]


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "isonb.continual.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env=ENV, timeout=600, **kw)


def cfg(**kw):
    s = StreamConfig(kind="random_label", dataset="mnist5k", n_tasks=5, train_per_task=128, epochs_per_task=2, batch_size=32)
    return RunConfig(**{**dict(stream=s, width=32, depth=2, lr=1e-3, probe_size=16, device="cpu"), **kw})


def test_a_finished_run_is_never_restarted_in_place(tmp_path):
    r = cli("sweep", "--presets", "demo", "--recipes", "adam", "--seeds", "0", "--results", str(tmp_path), "--set", *SET)
    assert r.returncode == 0, r.stderr
    d = tmp_path / "demo" / "adam" / "seed0"
    before = {f: (d / f).read_bytes() for f in ("metrics.csv", "result.json")}
    for args in (["run", "--preset", "demo", "--results", str(tmp_path), "--set", *SET],
                 ["run", "--preset", "demo", "--results", str(tmp_path), "--resume", "--set", *SET]):
        r = cli(*args)
        assert r.returncode == 0 and "(finished before)" in r.stdout, r.stderr
    assert {f: (d / f).read_bytes() for f in before} == before and not (d / "checkpoint.pt").exists()
    r = cli("run", "--preset", "demo", "--results", str(tmp_path), "--set", *SET, "lr=0.003")   # another config: refused
    assert r.returncode == 2 and "lr: 0.001 → 0.003" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_sigkill_at_any_instant_leaves_a_trustworthy_directory(tmp_path):
    ref = run(cfg(), progress=False)
    rng = random.Random(0)
    for trial in range(6):
        out = tmp_path / f"t{trial}"
        p = subprocess.Popen([sys.executable, "-m", "isonb.continual.cli", "run", "--out", str(out), "--config-json",
                              json.dumps(cfg().to_dict())], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 6.0))                    # anywhere: start-up, a task, a checkpoint, the commit
        p.send_signal(signal.SIGKILL); p.wait()
        found = load_runs([str(tmp_path)])
        assert not found["damaged"], found["damaged"]
        res = run(cfg(), out=str(out), resume=True, progress=False)
        assert res["status"] == "complete" and json.dumps(res["rows"]) == json.dumps(ref["rows"])
        assert read_run(str(out))["metrics_rows"] == 5


def test_damaged_and_diverged_runs_are_named_and_left_out(tmp_path):
    for s in (0, 1, 2): run(cfg(seed=s), out=str(tmp_path / f"adam{s}"), progress=False)
    run(cfg(recipe="sgd", lr=1e6), out=str(tmp_path / "sgd_diverged"), progress=False)
    (tmp_path / "adam1" / "metrics.csv").write_text((tmp_path / "adam1" / "metrics.csv").read_text()[:-30])   # truncated
    (tmp_path / "adam2" / "result.json").write_text('{"status": "comp')                                       # torn
    found = load_runs([str(tmp_path)])
    assert sorted(os.path.basename(d) for d, _ in found["damaged"]) == ["adam1", "adam2"]
    assert all(str(tmp_path / "adam") in d for d, _ in found["damaged"])
    agg = {r["recipe"]: r for r in aggregate(found["runs"], last=2)}
    assert agg["adam"]["seeds"] == 1 and agg["sgd"]["seeds"] == 0 and agg["sgd"]["diverged"] == 1
    r = cli("plot", str(tmp_path), "--out", str(tmp_path / "summary"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("damaged run") == 2 and "1 diverged run(s) counted and left out" in r.stderr
    assert "| random_label/mnist5k | sgd | 0 (+1 diverged) |" in r.stdout
    # a sweep over a damaged run records an error for it and goes on
    with pytest.raises(ResultsError, match="adam1/metrics.csv: does not match"): run(cfg(seed=1), out=str(tmp_path / "adam1"), progress=False)


def test_two_sweeps_on_one_tree_compute_every_run_once(tmp_path):
    args = [sys.executable, "-m", "isonb.continual.cli", "sweep", "--presets", "demo", "--recipes", "adam", "adamo_iso1",
            "--seeds", "0", "1", "--results", str(tmp_path), "--set", *SET]
    ps = [subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in ps]
    assert all(p.returncode == 0 for p in ps)
    computed = sum(l.strip().endswith(": complete") for o in outs for l in o.splitlines())
    assert computed == 4, outs                               # each of the 4 runs computed by exactly one sweep
    assert len(load_runs([str(tmp_path)])["runs"]) == 4
