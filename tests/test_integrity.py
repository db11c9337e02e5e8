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
NO_THREAD_ENV = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
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
                              json.dumps(cfg().to_dict())], cwd=ROOT, env=NO_THREAD_ENV if trial % 2 else ENV,   # the runner pins
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)                                # its threads
        time.sleep(rng.uniform(1.5, 6.0))                    # anywhere: start-up, a task, a checkpoint, the commit
        p.send_signal(signal.SIGKILL); p.wait()
        found = load_runs([str(tmp_path)])
        assert not found["damaged"], found["damaged"]
        res = run(cfg(), out=str(out), resume=True, progress=False)
        assert res["status"] == "complete" and json.dumps(res["rows"]) == json.dumps(ref["rows"])
        assert read_run(str(out))["files"]["metrics.csv"]["rows"] == 5


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
    assert "| random_label/mnist5k | sgd | 0 (+1 diverged, dropped) |" in r.stdout
    # a sweep over a damaged run records an error for it and goes on
    with pytest.raises(ResultsError, match="adam1/metrics.csv: does not match"): run(cfg(seed=1), out=str(tmp_path / "adam1"), progress=False)


def test_two_sweeps_on_one_tree_compute_every_run_once(tmp_path):
    args = [sys.executable, "-m", "isonb.continual.cli", "sweep", "--presets", "demo", "--recipes", "adam", "adamo",
            "--seeds", "0", "1", "--results", str(tmp_path), "--set", *SET]
    ps = [subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in ps]
    assert all(p.returncode == 0 for p in ps)
    computed = sum(l.strip().endswith(": complete") for o in outs for l in o.splitlines())
    assert computed == 4, outs                               # each of the 4 runs computed by exactly one sweep
    assert len(load_runs([str(tmp_path)])["runs"]) == 4


def test_an_edited_record_is_reported_naming_the_field(tmp_path):
    run(cfg(), out=str(tmp_path / "a"), progress=False)
    rp = tmp_path / "a" / "result.json"
    text = rp.read_text()
    for field, edit in (("status", lambda r: r.update(status="diverged")), ("config", lambda r: r["config"].update(lr=0.003)),
                        ("summary", lambda r: r["summary"].update(last_train_acc=0.99)), ("tasks", lambda r: r.update(tasks=4))):
        rec = json.loads(text); edit(rec); rp.write_text(json.dumps(rec))                  # edited by hand, seal kept
        found = load_runs([str(tmp_path)])
        assert not found["runs"] and len(found["damaged"]) == 1
        assert f"changed: {field}" in found["damaged"][0][1], found["damaged"][0][1]
        r = cli("plot", str(tmp_path), "--out", str(tmp_path / "summary"))
        assert r.returncode == 2 and f"changed: {field}" in r.stderr and "no finished runs" in r.stderr
    rp.write_text(text)
    assert len(load_runs([str(tmp_path)])["runs"]) == 1


def test_an_unknown_status_is_an_error_not_a_silent_drop(tmp_path):
    from isonb.results import read_json, write_json, seal_record, SEAL_FIELD
    run(cfg(), out=str(tmp_path / "a"), progress=False)
    rp = str(tmp_path / "a" / "result.json")
    rec = read_json(rp); rec.pop(SEAL_FIELD); rec["status"] = "paused"
    write_json(rp, seal_record(rec))                          # sealed, so only the status is wrong
    found = load_runs([str(tmp_path)])
    assert not found["runs"] and "unknown status 'paused'" in found["damaged"][0][1]


def test_another_config_is_refused_naming_only_what_differs(tmp_path):
    args = ["run", "--preset", "demo", "--results", str(tmp_path), "--set", *SET]
    assert cli(*args).returncode == 0
    r = cli(*args, "lr=0.003", "probes=[\"dead_frac\", \"iso_penalty\"]")       # probes as JSON: a list, not a change
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "(lr: 0.001 → 0.003)" in r.stderr and "probes" not in r.stderr and "stream.root" not in r.stderr, r.stderr


def test_diverged_runs_are_visible_and_can_be_scored_at_chance(tmp_path):
    from isonb.results import read_json, write_json, seal_record, SEAL_FIELD
    for s in (0, 1, 2): run(cfg(seed=s), out=str(tmp_path / f"adam{s}"), progress=False)
    rp = str(tmp_path / "adam2" / "result.json")                  # seed 2 recorded as diverged at task 1 (the runner's
    rec = read_json(rp); rec.pop(SEAL_FIELD)                      # own divergence rule is tested in 63_continual.runner)
    rec.update(status="diverged", diverged_task=1, reason="test"); write_json(rp, seal_record(rec))
    drop = cli("plot", str(tmp_path), "--out", str(tmp_path / "s1"), "--last", "2")
    chance = cli("plot", str(tmp_path), "--out", str(tmp_path / "s2"), "--last", "2", "--diverged", "chance")
    assert drop.returncode == chance.returncode == 0
    assert "| 2 (+1 diverged, dropped) |" in drop.stdout and "--diverged chance keeps them" in drop.stderr
    assert "| 3 (+1 diverged at chance) |" in chance.stdout and "scored at chance" in chance.stderr


def test_a_second_process_on_one_run_directory_is_refused_in_one_line(tmp_path):
    big = cfg(stream=StreamConfig(kind="random_label", dataset="mnist5k", n_tasks=40, train_per_task=512, epochs_per_task=4,
                                  batch_size=32), width=64)
    args = [sys.executable, "-m", "isonb.continual.cli", "run", "--out", str(tmp_path), "--config-json", json.dumps(big.to_dict())]
    p = subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (tmp_path / ".lock").exists() and time.time() - t0 < 60: time.sleep(0.05)
    r = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    p.send_signal(signal.SIGKILL); p.wait()
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "is locked by pid" in r.stderr, r.stderr
