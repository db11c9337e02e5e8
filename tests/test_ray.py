"""The Ray backend against a real local Ray cluster (no mocks): equality with the local backend, a worker killed in the
middle of a run, a driver killed in the middle of a sweep, and bad input. Skipped when Ray is not installed
(`pip install -e ".[ray]"`; CI installs it)."""
import json, os, signal, subprocess, sys, time
import pytest

ray = pytest.importorskip("ray")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# 3 runs of the demo stream at a few seconds each: enough tasks that a kill lands in the middle of a run
SET = ["stream.n_tasks=6", "stream.train_per_task=256", "stream.epochs_per_task=2", "width=64", "depth=2", "probe_size=32",
       "device=cpu", "record_steps=true"]
ARGS = ["--presets", "demo", "--recipes", "adam", "adamo", "--seeds", "0", "1"]


def isonb(*args, timeout=600, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "isonb.continual.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def files(tree):
    "Every metrics/steps file of a results tree, relative path -> bytes."
    out = {}
    for d, _, fs in os.walk(tree):
        for f in fs:
            if f in ("metrics.csv", "steps.csv"): out[os.path.relpath(os.path.join(d, f), tree)] = open(os.path.join(d, f), "rb").read()
    return out


@pytest.fixture(scope="module")
def local_tree(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("local"))
    r = isonb("sweep", *ARGS, "--results", d, "--set", *SET)
    assert r.returncode == 0, r.stderr
    return d


def test_ray_equals_local_byte_for_byte(local_tree, tmp_path):
    r = isonb("sweep", *ARGS, "--results", str(tmp_path), "--backend", "ray", "--num-cpus", "2", "--set", *SET)
    assert r.returncode == 0, r.stderr
    a, b = files(local_tree), files(str(tmp_path))
    assert len(a) == 8 and a == b                          # 4 runs × (metrics, steps), identical bytes
    again = isonb("sweep", *ARGS, "--results", str(tmp_path), "--backend", "ray", "--num-cpus", "2", "--set", *SET)
    assert again.returncode == 0 and again.stdout.count("(skipped)") == 4     # finished runs are skipped


def _wait_for(pred, timeout=300, what="condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v: return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _running_lock(tree, min_rows=2):
    "The .lock of a run that has recorded at least `min_rows` tasks and is still running."
    for d, _, fs in os.walk(tree):
        if ".lock" in fs and "checkpoint.pt" in fs and "metrics.csv" in fs:
            if len(open(os.path.join(d, "metrics.csv")).read().strip().splitlines()) > min_rows:
                try: return d, json.load(open(os.path.join(d, ".lock")))
                except (OSError, ValueError): return None
    return None


def test_worker_killed_mid_run_is_retried_bit_identically(local_tree, tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "isonb.continual.cli", "sweep", *ARGS, "--results", str(tmp_path),
                          "--backend", "ray", "--num-cpus", "2", "--set", *SET], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    d, lock = _wait_for(lambda: _running_lock(str(tmp_path)), what="a run in progress")
    os.kill(int(lock["pid"]), signal.SIGKILL)                # the Ray worker process executing that run
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    assert files(local_tree) == files(str(tmp_path))        # the retried run resumed from its checkpoint: same bytes
    results = [json.load(open(os.path.join(dd, "result.json"))) for dd, _, fs in os.walk(str(tmp_path)) if "result.json" in fs]
    assert len(results) == 4 and all(r["status"] == "complete" for r in results)   # nothing lost, nothing duplicated


def test_driver_killed_then_restarted_finishes_only_what_is_missing(local_tree, tmp_path):
    cmd = [sys.executable, "-m", "isonb.continual.cli", "sweep", *ARGS, "--results", str(tmp_path), "--backend", "ray",
           "--num-cpus", "2", "--set", *SET]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    _wait_for(lambda: any("result.json" in fs for _, _, fs in os.walk(str(tmp_path))), what="a finished run")
    _wait_for(lambda: _running_lock(str(tmp_path), min_rows=1), what="a run in progress")
    os.killpg(p.pid, signal.SIGKILL); p.wait()              # the driver (the local cluster it started dies with it)
    def settled():                                          # no run is still held by a live process
        from isonb.results import RunLock
        return all(not os.path.exists(os.path.join(dd, ".lock")) or RunLock(dd).stale()
                   for dd, _, fs in os.walk(str(tmp_path)) if "config.json" in fs)
    _wait_for(settled, timeout=120, what="the killed sweep's workers to stop")
    done_before = {dd: open(os.path.join(dd, "result.json"), "rb").read() for dd, _, fs in os.walk(str(tmp_path)) if "result.json" in fs}
    assert 1 <= len(done_before) <= 4
    r = isonb("sweep", *ARGS, "--results", str(tmp_path), "--backend", "ray", "--num-cpus", "2", "--set", *SET)
    assert r.returncode == 0, r.stderr
    # the finished runs are not run again: skipped, and their records untouched. (A worker of the killed cluster that
    # Ray has not yet reaped may finish one more run before the restart, so more may be skipped than were counted.)
    assert r.stdout.count("(skipped)") >= len(done_before)
    assert all(open(os.path.join(dd, "result.json"), "rb").read() == b for dd, b in done_before.items())
    assert files(local_tree) == files(str(tmp_path))


@pytest.mark.parametrize("args, flag", [
    (["--backend", "slurm"], "--backend"),
    (["--backend", "ray", "--num-cpus", "0"], "--num-cpus"),
    (["--backend", "ray", "--num-cpus", "-3"], "--num-cpus"),
    (["--backend", "ray", "--cpus-per-run", "0"], "--cpus-per-run"),
    (["--backend", "ray", "--num-cpus", "1", "--gpus-per-run", "0.125"], "--gpus-per-run"),
    (["--backend", "ray", "--address", "127.0.0.1:1"], "--address"),
    (["--backend", "ray", "--address", "nohost"], "--address"),
    (["--backend", "ray", "--address", "127.0.0.1:1", "--num-cpus", "2"], "--num-cpus"),
    (["--num-cpus", "2"], "--num-cpus"),
])
def test_bad_ray_input_is_one_line_naming_the_flag(args, flag, tmp_path):
    t0 = time.time()
    r = isonb("sweep", *ARGS, "--results", str(tmp_path), *args, "--set", *SET, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and flag in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert time.time() - t0 < 60                              # a clear error in bounded time, never a hang
