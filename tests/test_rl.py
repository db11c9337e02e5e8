"""Key properties of isonb.rl (the notebooks 70-72 hold the full derivations and tests). Smoke scale: well under 60 s."""
import math, os, subprocess, sys
import numpy as np
import pytest
import torch

from isonb.testing import test_close as assert_close, test_fail as assert_fails
from isonb.rl.ppo import gae, policy_loss, value_loss, categorical_entropy, minibatch_indices, make_agent, PPOConfig
from isonb.rl.envs import action_table, channel_perm, pad_permute, task_schedule, GAMES, OBS_DIM

torch.set_num_threads(1)
f64 = lambda x: torch.tensor(x, dtype=torch.float64)


def test_gae_hand_example():
    r, v = f64([[1.], [2.], [3.]]), f64([[.5], [1.], [1.5]])
    A, R = gae(r, v, f64([[0.], [1.], [0.]]), f64([2.]), gamma=0.9, lam=0.8)
    assert_close(A[:, 0], f64([2.12, 1.0, 3.3]), eps=1e-12)
    assert_close(R[:, 0], f64([2.62, 2.0, 4.8]), eps=1e-12)


def test_clipped_losses():
    lp = torch.log(f64([1.5, 1.5, 0.5, 1.1])).requires_grad_()
    L, _ = policy_loss(lp, torch.zeros(4, dtype=torch.float64), f64([1., -1., -1., 1.]), 0.2)
    assert_close(L, f64((-1.2 + 1.5 + 0.8 - 1.1) / 4), eps=1e-12)
    L.backward(); assert lp.grad[0] == 0 and lp.grad[2] == 0                  # clipped samples carry no gradient
    assert_close(value_loss(f64([1., 2.]), f64([3., 2.]), f64([.5, 1.]), 0.2), f64(0.5 * (5.29 + 1.0) / 2), eps=1e-12)
    logits = torch.randn(4, 6, dtype=torch.float64)
    assert_close(categorical_entropy(logits), torch.distributions.Categorical(logits=logits).entropy(), eps=1e-12)


def test_minibatches_partition():
    mbs = minibatch_indices(24, 4, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(mbs).tolist()) == list(range(24)) and {len(m) for m in mbs} == {6}
    assert_fails(lambda: minibatch_indices(10, 4), contains="must divide")


def test_head_gains():
    torch.manual_seed(0); ag = make_agent(OBS_DIM, 6)
    W = ag.actor[-1].weight.double()
    assert_close(W @ W.T, 1e-4 * torch.eye(6, dtype=torch.float64), eps=1e-9)
    assert_close(ag.critic[-1].weight.norm(), torch.tensor(1.0), eps=1e-6)


def test_stream_determinism_and_padding():
    assert np.array_equal(channel_perm(3, "freeway", 4), channel_perm(3, "freeway", 4))
    assert len({tuple(channel_perm(0, g, c)) for g in GAMES for c in range(20)}) == 80
    assert task_schedule(5, 2) == task_schedule(5, 3)[:8]
    S = np.random.default_rng(0).random((2, 10, 10, 7)) < 0.5
    p = channel_perm(0, "freeway", 0); O = pad_permute(S, p).reshape(2, 10, 10, 10)
    for j in range(10): assert np.array_equal(O[..., j], S[..., p[j]] if p[j] < 7 else np.zeros((2, 10, 10)))


def test_action_mapping_matches_minatar():
    minatar = pytest.importorskip("minatar")
    for g in GAMES:
        ms = minatar.Environment(g).minimal_action_set()
        t = action_table(g)
        assert t[:len(ms)].tolist() == list(ms) and (t[len(ms):] == 0).all()


def test_episode_bookkeeping():
    pytest.importorskip("minatar")
    from isonb.rl.envs import MinAtarVecEnv
    env = MinAtarVecEnv("breakout", 3, channel_perm(0, "breakout", 0), seed=2); env.reset()
    acc, ln, rets, lens, exp_r, exp_l = np.zeros(3), np.zeros(3, int), [], [], [], []
    for a in np.random.default_rng(0).integers(0, 6, size=(250, 3)):
        _, r, d, info = env.step(a)
        acc += r.numpy(); ln += 1
        for i in np.flatnonzero(d.numpy()): exp_r.append(acc[i]); exp_l.append(ln[i]); acc[i] = 0; ln[i] = 0
        rets += info["episode_return"]; lens += info["episode_length"]
    assert len(rets) > 0 and rets == exp_r and lens == exp_l


def test_arm_properties():
    pytest.importorskip("minatar")
    from isonb.rl.continual import build_arm, hidden_weights
    torch.manual_seed(0)
    ag, opt, hk = build_arm("nap")
    n0 = [w.detach().norm() for w in hidden_weights(ag).values()]
    x = torch.rand(16, OBS_DIM)
    loss = ag.logits(x).pow(2).sum() + ag.value(x).pow(2).sum()
    opt.zero_grad(); loss.backward(); opt.step(); hk.after_step()
    for w, n in zip(hidden_weights(ag).values(), n0): assert_close(w.norm(), n, eps=1e-6)
    ag, opt, hk = build_arm("l2init"); assert hk.extra_loss().item() == 0.0
    ag, opt, hk = build_arm("adamo")
    head_groups = [g for g in opt.param_groups for p in g["params"] if p is ag.actor[-1].weight or p is ag.critic[-1].weight]
    assert len(head_groups) == 2 and all(g["iso"] == 0.0 for g in head_groups)


def test_smoke_run_and_resume(tmp_path):
    pytest.importorskip("minatar")
    from isonb.rl.continual import preset, run_continual, load_checkpoint
    cfg = preset("smoke", arm="baseline")
    full = run_continual(cfg, str(tmp_path / "full"), log=lambda *a: None)
    run_continual(cfg, str(tmp_path / "part"), stop_after=1, log=lambda *a: None)
    res = run_continual(cfg, str(tmp_path / "part"), log=lambda *a: None)
    strip = lambda rows: repr([{k: v for k, v in r.items() if k not in ("sps", "seconds")} for r in rows])
    for k in ("iterations", "tasks", "evals"): assert strip(res[k]) == strip(full[k])
    a, b = load_checkpoint(tmp_path / "full" / "checkpoint.pt"), load_checkpoint(tmp_path / "part" / "checkpoint.pt")
    assert all(torch.equal(a["agent"][k], b["agent"][k]) for k in a["agent"])


def test_benchmark_smoke():
    pytest.importorskip("minatar")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "rl.py"), "--smoke"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "MinAtarVecEnv" in r.stdout and "plain loop" in r.stdout
