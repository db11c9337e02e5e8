"""Continual runner: a real SIGKILL mid-run, then --resume, ends bit-identical to an uninterrupted run, whatever the
environment's thread settings."""
import json, os
import pytest
from isonb.continual.runner import RunConfig, run, same_rows, CheckpointError
from helpers import kill_and_resume
from isonb.continual.sweeps import preset_config
from isonb.continual.streams import StreamConfig


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    s = StreamConfig(kind="permuted", dataset="mnist5k", n_tasks=5, train_per_task=128, test_per_task=0, batch_size=16)
    cfg = RunConfig(stream=s, recipe="adamo", width=32, depth=2, lr=1e-3, probe_size=32, device="cpu")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}   # the child's default threads
    res = kill_and_resume(cfg, str(tmp_path), env=env)
    ref = run(cfg, progress=False)
    assert res["status"] == "complete" and len(res["rows"]) == 5
    assert same_rows(res["rows"], ref["rows"])


def test_resume_refuses_other_config(tmp_path):
    s = StreamConfig(kind="random_label", dataset="mnist5k", n_tasks=3, train_per_task=64, batch_size=32)
    cfg = RunConfig(stream=s, width=16, depth=1, lr=1e-3, probe_size=0, device="cpu")
    run(cfg, out=str(tmp_path), progress=False, stop_after=1)
    with pytest.raises(CheckpointError, match=r"belongs to another config \(lr: 0.001 → 0.005\)"):
        run(RunConfig(**{**cfg.to_dict(), "lr": 5e-3}), out=str(tmp_path), resume=True, progress=False)


def test_presets_build_valid_configs():
    from isonb.continual.sweeps import PRESETS
    from isonb.continual.recipes import RECIPES
    for p in PRESETS:
        for m in (("rl_baseline", "rl_adamo") if p.startswith("rl_") else ("adam", "adamo")):
            c = preset_config(p, m, seed=1)
            assert c.stream.seed == 1 and c.recipe == m
    assert {"adam", "adamo", "adamo_paper", "adamo_every_step", "adamo_paper_every_step", "cbp", "redo", "nap", "shrink_perturb", "l2_init", "head_reset",
            "groupsort"} <= set(RECIPES)
