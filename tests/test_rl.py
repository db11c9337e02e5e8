"""Key properties of isonb.rl (the notebooks 70-72 hold the full derivations and tests). Smoke scale: about a minute,
most of it the command-line table (one subprocess per bad input)."""
import math, os, re, subprocess, sys
import numpy as np
import pytest
import torch
import torch.nn as nn

from isonb.testing import test_close as assert_close, test_fail as assert_fails
from isonb.core import seed_everything
from isonb.continual.methods import Method
from isonb.continual.recipes import RECIPES, build_training
from isonb.optim import AdamO, EXACT_ISO
from isonb.regularizers import split_iso_params, L2Init, SpectralPenalty
from isonb.results import CheckpointError, load_checkpoint
from isonb.rl.ppo import (gae, policy_loss, value_loss, categorical_entropy, minibatch_indices, make_agent, PPOConfig,
                          collect_rollout, ppo_update)
from isonb.rl.envs import action_table, channel_perm, pad_permute, task_schedule, GAMES, OBS_DIM, N_ACTIONS

f64 = lambda x: torch.tensor(x, dtype=torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _agent(recipe):
    seed_everything(0)
    return make_agent(OBS_DIM, N_ACTIONS, "64x4", **RECIPES[recipe].arch_kw)


def test_heads_excluded_from_isometry_params():
    for recipe in ("rl_baseline", "rl_nap"):
        ag = _agent(recipe)
        hidden = [m.weight for net in (ag.actor, ag.critic) for m in list(net)[:-1] if isinstance(m, nn.Linear)]
        iso = list(split_iso_params(ag)[0].values())
        assert len(iso) == 8 and all(p is q for p, q in zip(iso, hidden))          # actor's hidden weights, then the critic's


def test_recipe_properties():
    ag = _agent("rl_nap"); opt, m = build_training("rl_nap", ag, 2.5e-4)
    n0 = [w.detach().norm() for w in split_iso_params(ag)[0].values()]
    x = torch.rand(16, OBS_DIM)
    loss = ag.logits(x).pow(2).sum() + ag.value(x).pow(2).sum()
    opt.zero_grad(); loss.backward(); opt.step(); m.after_step(ag, opt, x)
    for w, n in zip(split_iso_params(ag)[0].values(), n0): assert_close(w.norm(), n, eps=1e-6)
    ag = _agent("rl_l2init"); opt, m = build_training("rl_l2init", ag, 2.5e-4); assert m.penalty(ag).item() == 0.0
    ag = _agent("rl_adamo"); opt, m = build_training("rl_adamo", ag, 2.5e-4)
    head_groups = [g for g in opt.param_groups for p in g["params"] if p is ag.actor[-1].weight or p is ag.critic[-1].weight]
    assert len(head_groups) == 2 and all(g["iso"] == 0.0 for g in head_groups)


class _FakeEnv:
    "A vector env with sparse binary observations, random rewards and episode ends (no MinAtar needed)."
    def __init__(self, n, seed=0): self.n, self.g = n, torch.Generator().manual_seed(seed)
    def _obs(self): return (torch.rand(self.n, OBS_DIM, generator=self.g) < 0.05).float()
    def reset(self): return self._obs()
    def step(self, a):
        r, d = torch.rand(self.n, generator=self.g), torch.rand(self.n, generator=self.g) < 0.2
        return self._obs(), r, d, {"episode_return": r[d].tolist(), "episode_length": [1] * int(d.sum())}


class _Hooks(Method):
    "The hook pair of a hand-built training: a coupled penalty and a step after each update."
    def __init__(self, extra=None, after=None): self.extra, self.after = extra, after
    def penalty(self, model): return self.extra() if self.extra else 0.0
    def after_step(self, model, opt, x):
        if self.after: self.after()


def _manual(recipe):
    "The agent, optimizer and hooks of `recipe` built by hand, without the registry (the reference of the next test)."
    act, bias, norm = dict(rl_baseline=("relu", True, None), rl_adamo=("groupsort", False, None), rl_adamo_relu=("relu", False, None),
                           rl_adamo_iso1=("groupsort", False, None), rl_l2init=("relu", True, None),
                           rl_nap=("relu", False, "layernorm_noaffine"), rl_spectral=("relu", True, None))[recipe]
    seed_everything(0)
    ag = make_agent(OBS_DIM, N_ACTIONS, "64x4", act=act, bias=bias, norm=norm)
    W = [m.weight for net in (ag.actor, ag.critic) for m in list(net)[:-1] if isinstance(m, nn.Linear)]
    if recipe.startswith("rl_adamo"):
        ids = set(map(id, W))
        opt = AdamO([dict(params=W, iso=0.05, iso_lr=1.0 if recipe == "rl_adamo_iso1" else None),
                     dict(params=[p for p in ag.parameters() if id(p) not in ids], iso=0.0)], lr=2.5e-4, **EXACT_ISO)
    else: opt = torch.optim.Adam(ag.parameters(), lr=2.5e-4)
    if recipe == "rl_l2init": reg = L2Init(W); return ag, opt, _Hooks(lambda: 1e-3 * reg())
    if recipe == "rl_spectral": sp = SpectralPenalty(W); return ag, opt, _Hooks(lambda: 1e-3 * sp())
    if recipe == "rl_nap":
        n0 = [w.detach().norm() for w in W]
        def project():
            with torch.no_grad():
                for w, n in zip(W, n0): w.mul_(n / w.norm())
        return ag, opt, _Hooks(after=project)
    return ag, opt, _Hooks()


@pytest.mark.parametrize("recipe", ["rl_baseline", "rl_adamo", "rl_adamo_iso1", "rl_l2init", "rl_nap", "rl_spectral"])
def test_recipe_equals_manual_build(recipe):
    "Built from `RECIPES` or by hand, a recipe trains bit for bit alike through `ppo_update`."
    cfg = PPOConfig(num_envs=4, num_steps=8, num_minibatches=2, update_epochs=2)
    runs = []
    for build in ("recipe", "manual"):
        if build == "recipe": ag = _agent(recipe); opt, m = build_training(recipe, ag, 2.5e-4)
        else: ag, opt, m = _manual(recipe)
        env, g, logs = _FakeEnv(4), torch.Generator().manual_seed(1), []
        obs = env.reset()
        for _ in range(2):
            ro = collect_rollout(ag, env, obs, cfg.num_steps, g); obs = ro["next_obs"]
            logs.append(ppo_update(ag, opt, ro, cfg, g, m))
        runs.append((ag, logs))
    (a, la), (b, lb) = runs
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters())) and repr(la) == repr(lb)
    assert (la[-1]["extra_loss"] > 0) == (recipe in ("rl_l2init", "rl_spectral"))


def test_smoke_run_and_resume(tmp_path):
    pytest.importorskip("minatar")
    from isonb.rl.continual import preset, run_continual
    cfg = preset("smoke", recipe="rl_baseline")
    full = run_continual(cfg, str(tmp_path / "full"), log=lambda *a: None)
    run_continual(cfg, str(tmp_path / "part"), stop_after=1, log=lambda *a: None)
    res = run_continual(cfg, str(tmp_path / "part"), log=lambda *a: None)
    strip = lambda rows: repr([{k: v for k, v in r.items() if k not in ("sps", "seconds")} for r in rows])
    for k in ("iterations", "tasks", "evals"): assert strip(res[k]) == strip(full[k])
    a, b = load_checkpoint(str(tmp_path / "full" / "checkpoint.pt")), load_checkpoint(str(tmp_path / "part" / "checkpoint.pt"))
    assert all(torch.equal(a["agent"][k], b["agent"][k]) for k in a["agent"])
    assert repr(a["method"]) == repr(b["method"]) and a["next_task"] == b["next_task"] == 2


def test_corrupt_checkpoint_names_file(tmp_path):
    pytest.importorskip("minatar")
    from isonb.rl.continual import preset, run_continual
    cfg = preset("smoke", recipe="rl_spectral")
    run_continual(cfg, str(tmp_path), stop_after=1, log=lambda *a: None)
    ck = tmp_path / "checkpoint.pt"
    data = bytearray(ck.read_bytes()); data[-10] ^= 0xFF; ck.write_bytes(bytes(data))          # one flipped byte
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {ck}: corrupt")): run_continual(cfg, str(tmp_path), log=lambda *a: None)
    ck.write_bytes(b"")                                                                        # an empty file
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {ck}: not an isonb checkpoint")): run_continual(cfg, str(tmp_path))
    with pytest.raises(ValueError, match=r"different config.json \(recipe: 'rl_spectral' → 'rl_nap'\)"):
        run_continual(preset("smoke", recipe="rl_nap"), str(tmp_path))


BAD_INPUTS = [                                               # (arguments, the flag the error must name)
    (["--recipe", "nope"], "--recipe"), (["--recipe", "adam"], "--recipe"), (["--arm", "adamo"], "--arm"),
    (["--stop-after", "0"], "--stop-after"), (["--stop-after", "-1"], "--stop-after"), (["--seed", "-1"], "--seed"),
    (["--seed", "x"], "--seed"), (["--games", "pong"], "--games"), (["--games", "breakout", "breakout"], "--games"),
    (["--device", "cuda"], "--device"), (["--device", "tpu"], "--device"), (["--scale", "huge"], "--scale"),
    (["--cycles", "0"], "--cycles"), (["--steps-per-game", "10"], "--steps-per-game"),
    (["--num-minibatches", "3"], "--num-minibatches"), (["--lr", "-1"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--threads", "0"], "--threads"), (["--preset", "32x2"], "--preset"), (["--num-envs", "0"], "--num-envs"),
    (["--out", "{file}"], "--out"), (["--out", "{file}/run"], "--out"), (["--no-out"], "--out"),
]


@pytest.mark.parametrize("args,flag", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_cli_bad_input(tmp_path, args, flag):
    if args == ["--device", "cuda"] and torch.cuda.is_available(): pytest.skip("CUDA is available here")
    (tmp_path / "file").write_text("")
    args = [a.format(file=tmp_path / "file") for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "run")]
    argv = ["--scale", "smoke", *([] if args == ["--no-out"] else args + out)]
    r = subprocess.run([sys.executable, "-m", "isonb.rl.continual", *argv], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) == 1, (r.returncode, r.stderr)
    assert lines[0].startswith("isonb.rl.continual: error: ") and flag in lines[0] and "Traceback" not in r.stderr
    assert r.stdout == "" and not (tmp_path / "run" / "config.json").exists()            # nothing ran


def test_cli_debug_shows_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "isonb.rl.continual", "--scale", "smoke", "--seed", "-1", "--out", str(tmp_path),
                        "--debug"], capture_output=True, text=True, timeout=60, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 2 and "Traceback" in r.stderr and r.stderr.splitlines()[-1].startswith("isonb.rl.continual: error: --seed")


def test_benchmark_smoke():
    pytest.importorskip("minatar")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "rl.py"), "--smoke"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "MinAtarVecEnv" in r.stdout and "plain loop" in r.stdout
