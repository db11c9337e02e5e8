"""Test fixtures shared by several test files (not part of the library)."""
import json, os, signal, subprocess, sys, time

from isonb.continual.runner import RunConfig, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kill_and_resume(cfg: RunConfig, workdir: str, kill_after_tasks: int = 2, timeout: float = 300, env=None) -> dict:
    "Run `cfg` through the CLI in a child process, SIGKILL it after `kill_after_tasks` recorded tasks, then resume in process."
    out = os.path.join(workdir, "killed")
    p = subprocess.Popen([sys.executable, "-m", "isonb.continual.cli", "run", "--out", out, "--config-json", json.dumps(cfg.to_dict())],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    mp, t_start = os.path.join(out, "metrics.csv"), time.time()
    while time.time() - t_start < timeout:
        if os.path.exists(mp) and len(open(mp).read().strip().splitlines()) > kill_after_tasks: break
        if p.poll() is not None: raise RuntimeError(f"child ended before the kill: {p.stderr.read().decode()[-2000:]}")
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()
    if not os.path.exists(os.path.join(out, "checkpoint.pt")) or os.path.exists(os.path.join(out, "result.json")):
        raise RuntimeError("the child was not killed mid-run")
    return run(cfg, out=out, resume=True, progress=False)
