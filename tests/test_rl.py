"""Key properties of isonb.rl (the notebooks 70-72 hold the full derivations and tests). Smoke scale: two to three
minutes on one core, most of it the runs through the runner (`isonb run --preset rl_smoke`) in their own processes."""
import contextlib, io, json, math, os, re, subprocess, sys, time
import numpy as np
import pytest
import torch
import torch.nn as nn

from isonb.testing import test_close as assert_close, test_fail as assert_fails
from isonb.core import seed_everything
from isonb.adamo import AdamO
from isonb.continual.cli import main as isonb_main
from isonb.continual.methods import Method
from isonb.continual.recipes import RECIPES, build_training
from isonb.continual.runner import run, read_run, RunConfig
from isonb.continual.sweeps import preset_config
from isonb.regularizers import split_iso_params, L2Init, SpectralPenalty
from isonb.results import CheckpointError, ResultsError, load_checkpoint, read_csv, read_json, write_csv, write_json, sha256_file, verify_record
from isonb.rl.ppo import (gae, policy_loss, value_loss, categorical_entropy, minibatch_indices, ActorCritic, PPOConfig,
                          collect_rollout, ppo_update)
from isonb.rl.envs import action_table, channel_perm, pad_permute, task_schedule, GAMES, OBS_DIM, N_ACTIONS

f64 = lambda x: torch.tensor(x, dtype=torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
ISONB = [sys.executable, "-m", "isonb.continual.cli"]
strip = lambda rows: repr([{k: v for k, v in r.items() if k not in ("sps", "seconds")} for r in rows])   # repr: NaN == NaN


def test_gae_hand_example():
    r, v = f64([[1.], [2.], [3.]]), f64([[.5], [1.], [1.5]])
    A, R = gae(r, v, f64([[0.], [1.], [0.]]), f64([2.]), gamma=0.9, lam=0.8)
    assert_close(A[:, 0], f64([2.12, 1.0, 3.3]), eps=1e-12)
    assert_close(R[:, 0], f64([2.62, 2.0, 4.8]), eps=1e-12)


def test_clipped_losses():
    lp = torch.log(f64([1.5, 1.5, 0.5, 1.1])).requires_grad_()
    L, _ = policy_loss(lp, torch.zeros(4, dtype=torch.float64), f64([1., -1., -1., 1.]), 0.2)
    assert_close(L, f64((-1.2 + 1.5 + 0.8 - 1.1) / 4), eps=1e-12)
    L.backward()
    assert lp.grad[0] == 0                                                       # clipped samples carry no gradient
    assert lp.grad[2] == 0
    assert_close(value_loss(f64([1., 2.]), f64([3., 2.]), f64([.5, 1.]), 0.2), f64(0.5 * (5.29 + 1.0) / 2), eps=1e-12)
    logits = torch.randn(4, 6, dtype=torch.float64)
    assert_close(categorical_entropy(logits), torch.distributions.Categorical(logits=logits).entropy(), eps=1e-12)


def test_minibatches_partition():
    mbs = minibatch_indices(24, 4, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(mbs).tolist()) == list(range(24))
    assert {len(m) for m in mbs} == {6}
    assert_fails(lambda: minibatch_indices(10, 4), contains="must divide")


def test_head_gains():
    torch.manual_seed(0); ag = ActorCritic(OBS_DIM, 6, width=64, depth=4)
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
        assert t[:len(ms)].tolist() == list(ms)
        assert (t[len(ms):] == 0).all()


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
    assert len(rets) > 0
    assert rets == exp_r
    assert lens == exp_l


def _agent(recipe):
    "The agent of `recipe` as the RL trainer builds it (64 × 4, the recipe's architecture keywords), seed 0."
    seed_everything(0)
    return ActorCritic(OBS_DIM, N_ACTIONS, width=64, depth=4, **RECIPES[recipe].arch_kw)


def test_heads_excluded_from_isometry_params():
    for recipe in ("rl_baseline", "rl_nap"):
        ag = _agent(recipe)
        hidden = [m.weight for net in (ag.actor, ag.critic) for m in list(net)[:-1] if isinstance(m, nn.Linear)]
        iso = list(split_iso_params(ag)[0].values())
        assert len(iso) == 8
        assert all(p is q for p, q in zip(iso, hidden))                           # actor's hidden weights, then the critic's


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
    assert len(head_groups) == 2
    assert all(g["iso"] == 0.0 for g in head_groups)


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
                           rl_adamo_strong=("groupsort", False, None), rl_l2init=("relu", True, None),
                           rl_nap=("relu", False, "layernorm_noaffine"), rl_spectral=("relu", True, None))[recipe]
    seed_everything(0)
    ag = ActorCritic(OBS_DIM, N_ACTIONS, width=64, depth=4, act=act, bias=bias, norm=norm)
    W = [m.weight for net in (ag.actor, ag.critic) for m in list(net)[:-1] if isinstance(m, nn.Linear)]
    if recipe.startswith("rl_adamo"):
        ids = set(map(id, W))
        opt = AdamO([dict(params=W, iso=0.05, iso_lr=1.0 if recipe == "rl_adamo_strong" else None),
                     dict(params=[p for p in ag.parameters() if id(p) not in ids], iso=0.0)], lr=2.5e-4, iso_every=1)
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


@pytest.mark.parametrize("recipe", ["rl_baseline", "rl_adamo", "rl_adamo_relu", "rl_adamo_strong", "rl_l2init", "rl_nap", "rl_spectral"])
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
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert repr(la) == repr(lb)
    assert (la[-1]["extra_loss"] > 0) == (recipe in ("rl_l2init", "rl_spectral"))


def _smoke(recipe="rl_baseline", seed=26, **over):
    return preset_config("rl_smoke", recipe, seed=seed, **over)


def test_smoke_run_and_resume(tmp_path):
    "A run stopped after one task and resumed is, at every checkpoint and at the end, the run that never stopped."
    pytest.importorskip("minatar")
    cfg = _smoke(**{"stream.cycles": 2})                                          # 4 tasks
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    assert run(cfg, out=full, progress=False, stop_after=3)["status"] == "stopped"
    run(cfg, out=part, progress=False, stop_after=1)
    assert run(cfg, out=part, resume=True, progress=False, stop_after=2)["status"] == "stopped"
    a, b = load_checkpoint(f"{full}/checkpoint.pt"), load_checkpoint(f"{part}/checkpoint.pt")
    assert (a["next_task"], b["next_task"]) == (3, 3)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert repr(a["method"]) == repr(b["method"])
    assert torch.equal(a["trainer"]["generator"], b["trainer"]["generator"])    # the action/minibatch generator
    assert strip(a["rows"]) == strip(b["rows"])
    ra, rb = run(cfg, out=full, resume=True, progress=False), run(cfg, out=part, resume=True, progress=False)
    assert (ra["status"], rb["status"], len(ra["rows"])) == ("complete", "complete", 4)
    assert strip(ra["rows"]) == strip(rb["rows"])
    for k in ("iterations", "evals"): assert strip(ra["records"][k]) == strip(rb["records"][k])
    assert [r["game"] for r in ra["rows"]] == [t.game for t in task_schedule(26, 2, cfg.stream.games)]


def test_corrupt_checkpoint_names_file(tmp_path):
    pytest.importorskip("minatar")
    cfg = _smoke("rl_spectral")
    run(cfg, out=str(tmp_path / "a"), stop_after=1, progress=False)
    ck = tmp_path / "a" / "checkpoint.pt"
    data = bytearray(ck.read_bytes()); data[-10] ^= 0xFF; ck.write_bytes(bytes(data))          # one flipped byte
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {ck}: corrupt")):
        run(cfg, out=str(tmp_path / "a"), resume=True, progress=False)
    ck.write_bytes(b"")                                                                        # an empty file
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint {ck}: not an isonb checkpoint")):
        run(cfg, out=str(tmp_path / "a"), resume=True, progress=False)
    run(cfg, out=str(tmp_path / "b"), stop_after=1, progress=False)
    with pytest.raises(CheckpointError, match=r"belongs to another config \(recipe: 'rl_spectral' → 'rl_nap'\)"):
        run(_smoke("rl_nap"), out=str(tmp_path / "b"), resume=True, progress=False)
    with pytest.raises(CheckpointError, match=re.escape("computed with 1 thread(s), this run asks for 2")):
        run(_smoke("rl_spectral", threads=2), out=str(tmp_path / "b"), resume=True, progress=False)


def _one_line(argv):
    "Run `isonb` in this process: (exit status, stdout, lines of stderr)."
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out): code = isonb_main(argv)
    return code, out.getvalue(), err.getvalue().strip().splitlines()


BAD_INPUTS = [  # (arguments after `isonb run --preset rl_smoke`, text the one line must contain)
    (["--recipe", "nope"], "argument --recipe: invalid choice: 'nope'"),
    (["--recipe", "adam"], "preset 'rl_smoke' is for 'ppo' recipes, but recipe 'adam' uses trainer 'supervised'"),
    (["--arm", "adamo"], "unrecognized arguments: --arm adamo"),
    (["--seeds", "-1"], "--seeds: seeds must be integers in [0, 2**63 - 1], got -1"),
    (["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
    (["--set", 'stream.games=["pong"]'], "`games` must be one of"),
    (["--set", 'stream.games=["breakout", "breakout"]'], "`games` lists 'breakout' more than once"),
    (["--set", "device=tpu"], "`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    (["--set", "stream.cycles=0"], "`cycles`"),
    (["--set", "stream.steps_per_game=10"], "`steps_per_game`"),
    (["--set", 'stream.ppo={"num_envs": 4, "num_steps": 16, "num_minibatches": 3}'], "`num_minibatches`=3 must divide"),
    (["--set", 'stream.ppo={"num_envs": 0}'], "`num_envs`"),
    (["--set", 'stream.ppo={"lr": 1e-3}'], "`ppo` has unknown field(s) ['lr']; PPO fields:"),
    (["--set", "lr=-1"], "`lr`"),
    (["--set", "lr=nan"], "`lr`"),
    (["--set", "threads=0"], "`threads`"),
    (["--set", "width=0"], "`width`"),
    (["--set", "stream.sticky_action_prob=2"], "`sticky_action_prob`"),
    (["--set", "stream.eval_episodes=0"], "`eval_episodes`"),
    (["--set", "stream.reset_optimizer=1"], "`reset_optimizer` must be True or False"),
    (["--set", "stream.kind=permuted"], "unknown override 'stream.kind'"),
    (["--set", "arch=small_cnn"], "`arch`: RL recipes use the actor-critic"),
    (["--set", "record_steps=true"], "`record_steps`: the RL trainer always writes iterations.csv"),
    (["--set", 'probes=["dead_frac"]'], "`probes`: the RL trainer has its own boundary probes"),
    (["--set", "iso=0.1"], "but recipe 'rl_baseline' uses 'adam'"),
    (["--out", "{file}"], "exists and is not a directory"),
    (["--out", "{file}/run"], "not writable"),
]
if not torch.cuda.is_available(): BAD_INPUTS.append((["--set", "device=cuda"], "CUDA is not available"))


@pytest.mark.parametrize("args,text", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_cli_bad_input(tmp_path, args, text):
    "`isonb run --preset rl_smoke` with bad input: exit status 2, one line naming the field, nothing run."
    (tmp_path / "file").write_text("")
    args = [a.replace("{file}", str(tmp_path / "file")) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "run")]
    code, stdout, lines = _one_line(["run", "--preset", "rl_smoke", *args, *out])
    assert code == 2, (code, lines)
    assert len(lines) == 1, lines
    assert text in lines[0], lines
    assert lines[0].startswith("isonb: error: ") or lines[0].startswith("isonb run: error: "), lines
    assert stdout == ""
    assert not (tmp_path / "run" / "config.json").exists()                       # nothing ran


def test_cli_bad_input_subprocess_and_debug(tmp_path):
    "The same through the console entry point: one line without --debug, the traceback with it."
    argv = ["run", "--preset", "rl_smoke", "--seeds", "-1", "--out", str(tmp_path / "run")]
    r = subprocess.run([*ISONB, *argv], capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == ["isonb: error: --seeds: seeds must be integers in [0, 2**63 - 1], got -1"]
    assert r.stdout == ""
    r = subprocess.run([*ISONB, "--debug", *argv], capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 2
    assert "Traceback" in r.stderr
    assert r.stderr.splitlines()[-1].startswith("isonb: error: --seeds")


def test_run_directory_is_sealed(tmp_path):
    "`isonb run` on an RL preset commits a sealed result.json that lists every CSV of the directory with its checksum."
    pytest.importorskip("minatar")
    d = tmp_path / "run"
    r = subprocess.run([*ISONB, "run", "--preset", "rl_smoke", "--recipe", "rl_adamo", "--seeds", "26", "--out", str(d)],
                       capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    res = verify_record(read_json(str(d / "result.json")), str(d / "result.json"))     # the seal holds
    assert res["status"] == "complete"
    assert sorted(res["files"]) == ["evals.csv", "iterations.csv", "metrics.csv"]
    assert sorted(f for f in os.listdir(d) if f.endswith(".csv")) == sorted(res["files"])
    for f, ent in res["files"].items():
        assert ent["sha256"] == sha256_file(str(d / f))
        assert ent["rows"] == len(read_csv(str(d / f)))
    assert not (d / "checkpoint.pt").exists()
    assert res["key"] == _smoke("rl_adamo").key()
    assert (len(read_run(str(d))["rows"]), res["tasks"]) == (2, 2)
    (d / "evals.csv").write_text((d / "evals.csv").read_text().replace("boundary", "boundarY", 1))
    with pytest.raises(ResultsError, match="evals.csv: does not match"): read_run(str(d))


def test_two_processes_one_out(tmp_path):
    "A second RL process on a directory that a live one holds is refused in one line; the directory is the first one's."
    pytest.importorskip("minatar")
    d, over = tmp_path / "run", ["--set", "stream.steps_per_game=4096"]              # 64 iterations per visit: it runs a while
    first = subprocess.Popen([*ISONB, "run", "--preset", "rl_smoke", "--seeds", "26", "--out", str(d), *over],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    t0 = time.time()
    while not (d / ".lock").exists():
        assert first.poll() is None, first.communicate()
        assert time.time() - t0 < 120, "the first process never took the lock"
        time.sleep(0.05)
    second = subprocess.run([*ISONB, "run", "--preset", "rl_smoke", "--seeds", "27", "--out", str(d), *over],
                            capture_output=True, text=True, timeout=300, env=ENV)
    alive = first.poll() is None
    out, err = first.communicate(timeout=600)
    assert alive, "the first process ended before the second was refused; the test proves nothing"
    assert first.returncode == 0, err
    assert second.returncode == 2
    assert len(second.stderr.splitlines()) == 1, second.stderr
    assert f"is locked by pid {first.pid}" in second.stderr
    res = read_run(str(d))
    seed26 = preset_config("rl_smoke", "rl_baseline", seed=26, **{"stream.steps_per_game": 4096})
    assert (res["config"]["seed"], res["config"]["stream"]["seed"], res["key"]) == (26, 26, seed26.key())
    assert read_json(str(d / "config.json"))["key"] == seed26.key()
    assert {r["task"] for r in read_csv(str(d / "iterations.csv"))} == {0, 1}


def test_migrate_older_rl_run(tmp_path):
    "`isonb migrate` turns a finished run directory of the older RL layout into a run directory, numbers untouched."
    d = tmp_path / "adamo_iso1_s26"; d.mkdir()
    ppo = dict(num_envs=4, num_steps=16, update_epochs=1, num_minibatches=2, gamma=0.99, gae_lambda=0.95, clip_coef=0.2,
               clip_vloss=True, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, lr=2.5e-4, norm_adv=True)
    write_json(str(d / "config.json"), dict(recipe="rl_adamo_iso1", seed=26, cycles=1, games=["breakout", "freeway"], steps_per_game=128,
               preset="64x4", ppo=ppo, reset_optimizer=True, eval_every=64, eval_episodes=2, eval_max_steps=50, probe_size=32,
               probe_jacobian=True, max_episode_steps=200, sticky_action_prob=0.1, device="auto"))
    tasks = [dict(task=0, cycle=0, game="freeway", train_return=0.1, train_episodes=3, eval_return=0.5, seconds=2.5),
             dict(task=1, cycle=0, game="breakout", train_return=math.nan, train_episodes=0, eval_return=1.0, seconds=7.0)]
    write_csv(str(d / "tasks.csv"), tasks)
    write_csv(str(d / "iterations.csv"), [dict(task=t, iteration=0, episode_return=0.25 * t) for t in (0, 1)])
    write_csv(str(d / "evals.csv"), [dict(task=0, at="boundary", game="freeway", eval_return=0.5)])
    write_json(str(d / "summary.json"), dict(tasks_done=2))
    code, stdout, lines = _one_line(["migrate", str(tmp_path)])
    assert (code, lines) == (0, []), lines
    assert stdout.strip() == "isonb migrate: 1 of 1 run directories upgraded (0 already current)"
    res = read_run(str(d))
    assert res["config"]["recipe"] == "rl_adamo_strong"                          # the schema-1 name, renamed
    assert (res["config"]["width"], res["config"]["depth"], res["config"]["lr"]) == (64, 4, 2.5e-4)
    assert res["key"] == _smoke("rl_adamo_strong").key()                         # the rl_smoke preset's run
    assert strip(res["rows"]) == strip(tasks)
    assert [r["seconds"] for r in res["rows"]] == [2.5, 4.5]                       # cumulative -> per task
    assert sorted(os.listdir(d)) == ["config.json", "evals.csv", "iterations.csv", "metrics.csv", "result.json"]
    assert _one_line(["migrate", str(tmp_path)])[1].strip() == "isonb migrate: 0 of 1 run directories upgraded (1 already current)"


def test_migrate_refuses_unfinished_older_run(tmp_path):
    d = tmp_path / "r"; d.mkdir()
    write_json(str(d / "config.json"), dict(recipe="rl_baseline", seed=0, cycles=2, games=["breakout"], steps_per_game=128,
               ppo=dict(num_envs=4, num_steps=16, num_minibatches=2), probe_size=32))
    write_csv(str(d / "tasks.csv"), [dict(task=0, cycle=0, game="breakout", train_return=1.0, seconds=1.0)])
    code, _, lines = _one_line(["migrate", str(tmp_path)])
    assert code == 2
    assert len(lines) == 1
    assert "an unfinished run of the older RL runner (1 of 2 tasks)" in lines[0]


def test_old_entry_point_points_to_the_runner():
    "`python -m isonb.rl.continual` (the entry point of the older RL runner) says where RL runs go, on one line, status 2."
    r = subprocess.run([sys.executable, "-m", "isonb.rl.continual", "--scale", "cpu", "--recipe", "rl_adamo"],
                       capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "isonb run --preset rl_cpu --recipe rl_adamo --seeds 26" in lines[0]
    assert r.stdout == ""


def test_benchmark_smoke():
    pytest.importorskip("minatar")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "rl.py"), "--smoke"], capture_output=True, text=True,
                       timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "MinAtarVecEnv" in r.stdout
    assert "plain loop" in r.stdout
