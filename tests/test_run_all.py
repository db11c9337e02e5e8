"""Run All is safe: every notebook, executed top to bottom by a Jupyter kernel exactly as a reader's Run All would
(cell flags such as `#| slow` are comments to Jupyter), finishes without error at the default (smoke) scale and leaves
the committed results untouched: `git status` of nbs/results is the same before and after."""
import os, subprocess, sys, time
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NBS = sorted(f for f in os.listdir(os.path.join(ROOT, "nbs")) if f.endswith(".ipynb") and not f.startswith(("_", ".")))


def _results_state() -> str:
    r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "nbs/results"], cwd=ROOT,
                       capture_output=True, text=True)
    if r.returncode != 0: pytest.skip(f"not a git checkout: {r.stderr.strip()}")
    return r.stdout


def _run_all(nb: str, timeout: int = 900) -> float:
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    path = os.path.join(ROOT, "nbs", nb)
    book = nbformat.read(path, as_version=4)
    env_full = os.environ.pop("ISONB_FULL", None)              # the reader's default: smoke scale
    t0 = time.perf_counter()
    try: ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(book, {"metadata": {"path": os.path.join(ROOT, "nbs")}})
    finally:
        if env_full is not None: os.environ["ISONB_FULL"] = env_full
    return time.perf_counter() - t0


def test_run_all_is_safe():
    before = _results_state()
    times, failed = {}, {}
    for nb in NBS:
        try: times[nb] = _run_all(nb)
        except Exception as e: failed[nb] = f"{type(e).__name__}: {str(e)[-1500:]}"
    after = _results_state()
    print("Run All seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(times.items(), key=lambda kv: -kv[1])))
    assert not failed, failed
    assert after == before, f"Run All changed the committed results:\n{after}"
