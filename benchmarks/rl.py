"""Throughput of isonb.rl (one process, torch threads = 1 by default).

  python benchmarks/rl.py              # env backends, training loop vs a plain single-file PPO loop, paper extrapolation
  python benchmarks/rl.py --envs-only  # only the vector-env comparison
  python benchmarks/rl.py --smoke      # seconds; used by tests/test_rl.py

Prints steps/s and ratios; never asserts a speed. Timings on a shared machine vary by tens of percent: compare ratios
taken in the same run.
"""
import argparse, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from isonb.rl.envs import GAMES, MinAtarVecEnv, gym_vector_env, channel_perm
from isonb.core import seed_everything
from isonb.continual.recipes import RECIPES, build_training
from isonb.rl.envs import OBS_DIM, N_ACTIONS
from isonb.rl.ppo import PPOConfig, ActorCritic, collect_rollout, ppo_update
from isonb.continual.sweeps import preset_config

CPU = preset_config("rl_cpu", "rl_baseline")          # the CPU scale: its PPO settings, network size and learning rate


def build(recipe: str, lr: float = CPU.lr, seed: int = 0):
    "Agent, optimizer and method of an RL recipe, built as the RL trainer (`PPOTrainer.build`) builds them."
    seed_everything(seed)
    agent = ActorCritic(OBS_DIM, N_ACTIONS, width=CPU.width, depth=CPU.depth, **RECIPES[recipe].arch_kw)
    return (agent, *build_training(recipe, agent, lr))


def env_sps(make, steps, n, seed=0):
    env = make(); env.reset()
    acts = np.random.default_rng(seed).integers(0, 6, size=(steps, n))
    t = time.perf_counter()
    for a in acts: env.step(a)
    dt = time.perf_counter() - t
    if hasattr(env, "close"): env.close()
    return steps * n / dt


def bench_envs(steps, n):
    print(f"\n== vector env, random actions, {n} envs, {steps} steps each (env steps/s) ==")
    print(f"{'game':<16}{'MinAtarVecEnv':>15}{'gym SyncVectorEnv':>19}{'ratio':>8}")
    out = {}
    for g in GAMES:
        p = channel_perm(0, g, 0)
        ours = env_sps(lambda: MinAtarVecEnv(g, n, p), steps, n)
        gym = env_sps(lambda: gym_vector_env(g, n, p), steps, n)
        out[g] = (ours, gym)
        print(f"{g:<16}{ours:>15.0f}{gym:>19.0f}{ours / gym:>8.2f}")
    return out


# ---- a plain single-file PPO loop (CleanRL's structure, everything inline), the reference for the loop overhead ----
def plain_ppo(env, cfg: PPOConfig, iters: int, seed=0, lr: float = CPU.lr):
    torch.manual_seed(seed)
    def net(out, gain):
        layers, d = [], 1000
        for _ in range(4):
            l = nn.Linear(d, 64); nn.init.orthogonal_(l.weight, math.sqrt(2)); nn.init.zeros_(l.bias); layers += [l, nn.ReLU()]; d = 64
        h = nn.Linear(64, out); nn.init.orthogonal_(h.weight, gain); nn.init.zeros_(h.bias)
        return nn.Sequential(*layers, h)
    actor, critic = net(6, 0.01), net(1, 1.0)
    params = list(actor.parameters()) + list(critic.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    T, N = cfg.num_steps, cfg.num_envs
    obs_b, act_b, lp_b, val_b = torch.zeros(T, N, 1000), torch.zeros(T, N, dtype=torch.long), torch.zeros(T, N), torch.zeros(T, N)
    rew_b, done_b = torch.zeros(T, N), torch.zeros(T, N)
    obs = env.reset()
    for _ in range(iters):
        for t in range(T):
            with torch.no_grad():
                dist = torch.distributions.Categorical(logits=actor(obs))
                a = dist.sample(); obs_b[t], act_b[t], lp_b[t], val_b[t] = obs, a, dist.log_prob(a), critic(obs).squeeze(-1)
            obs, r, d, _ = env.step(a); rew_b[t], done_b[t] = r, d.float()
        with torch.no_grad():
            nv, adv, last = critic(obs).squeeze(-1), torch.zeros(T, N), torch.zeros(N)
            for t in reversed(range(T)):
                nxt = nv if t == T - 1 else val_b[t + 1]
                delta = rew_b[t] + cfg.gamma * nxt * (1 - done_b[t]) - val_b[t]
                adv[t] = last = delta + cfg.gamma * cfg.gae_lambda * (1 - done_b[t]) * last
            ret = adv + val_b
        bo, ba, blp, bv, badv, bret = obs_b.flatten(0, 1), act_b.flatten(), lp_b.flatten(), val_b.flatten(), adv.flatten(), ret.flatten()
        for _ in range(cfg.update_epochs):
            for idx in torch.randperm(T * N).view(cfg.num_minibatches, -1):
                dist = torch.distributions.Categorical(logits=actor(bo[idx]))
                ratio = (dist.log_prob(ba[idx]) - blp[idx]).exp()
                ma = (badv[idx] - badv[idx].mean()) / (badv[idx].std() + 1e-8)
                pg = torch.max(-ma * ratio, -ma * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
                v = critic(bo[idx]).squeeze(-1)
                vc = bv[idx] + (v - bv[idx]).clamp(-cfg.clip_coef, cfg.clip_coef)
                vl = 0.5 * torch.max((v - bret[idx]) ** 2, (vc - bret[idx]) ** 2).mean()
                loss = pg - cfg.ent_coef * dist.entropy().mean() + cfg.vf_coef * vl
                opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(params, cfg.max_grad_norm); opt.step()


def isonb_ppo(env, cfg: PPOConfig, iters: int, recipe="rl_baseline", seed=0):
    agent, opt, method = build(recipe, seed=seed)
    g = torch.Generator().manual_seed(seed)
    obs = env.reset()
    for _ in range(iters):
        ro = collect_rollout(agent, env, obs, cfg.num_steps, g); obs = ro["next_obs"]
        ppo_update(agent, opt, ro, cfg, g, method)


def bench_loop(cfg, iters, games, recipes):
    print(f"\n== training loop, PPO {cfg.num_envs} envs x {cfg.num_steps} steps, {cfg.update_epochs} epochs x "
          f"{cfg.num_minibatches} minibatches, {iters} iterations per game (env steps/s, incl. updates) ==")
    print(f"{'game':<16}{'plain loop':>12}" + "".join(f"{'isonb ' + a:>18}{'ratio':>7}" for a in recipes))
    plain_ppo(MinAtarVecEnv(games[0], cfg.num_envs), cfg, 1); isonb_ppo(MinAtarVecEnv(games[0], cfg.num_envs), cfg, 1)  # warm-up
    for g in games:
        p = channel_perm(0, g, 0)
        t = time.perf_counter(); plain_ppo(MinAtarVecEnv(g, cfg.num_envs, p), cfg, iters); plain = iters * cfg.batch_size / (time.perf_counter() - t)
        row = f"{g:<16}{plain:>12.0f}"
        for a in recipes:
            t = time.perf_counter(); isonb_ppo(MinAtarVecEnv(g, cfg.num_envs, p), cfg, iters, a)
            ours = iters * cfg.batch_size / (time.perf_counter() - t)
            row += f"{ours:>18.0f}{ours / plain:>7.2f}"
        print(row, flush=True)


def bench_paper(num_steps=8):
    """Extrapolate the paper scale from a shortened iteration at the paper's width: 2048 envs, minibatch 2048."""
    cfg = PPOConfig(num_envs=2048, num_steps=num_steps, update_epochs=1, num_minibatches=num_steps)   # minibatch 2048
    print(f"\n== paper-scale extrapolation: 2048 envs, minibatch 2048, measured on {num_steps}-step rollouts ==")
    agent, opt, method = build("rl_adamo")
    per_game = {}
    for g in GAMES:
        env = MinAtarVecEnv(g, 2048, channel_perm(0, g, 0)); obs = env.reset()
        gen = torch.Generator().manual_seed(0)
        t = time.perf_counter(); ro = collect_rollout(agent, env, obs, num_steps, gen); t_roll = time.perf_counter() - t
        t = time.perf_counter(); ppo_update(agent, opt, ro, cfg, gen, method); t_upd = time.perf_counter() - t
        roll_sps, upd_sps = cfg.batch_size / t_roll, cfg.batch_size / t_upd        # env steps/s; samples/s per epoch
        per_game[g] = 1 / roll_sps + 4 / upd_sps                                 # seconds per env step with 4 epochs
        print(f"{g:<16} rollout {roll_sps:8.0f} steps/s   update {upd_sps:8.0f} samples/s/epoch   -> {1 / per_game[g]:7.0f} steps/s")
    sec_per_step = np.mean(list(per_game.values()))
    total = 20 * 4 * 15_000_000
    h = total * sec_per_step / 3600
    print(f"EXTRAPOLATION (not a measurement of a full run): 1.2e9 steps/seed at {1 / sec_per_step:.0f} steps/s "
          f"= {h:.0f} h per seed on one CPU core ({h / 24:.1f} days); 8 seeds x 6 recipes = {48 * h / 24:.0f} core-days.")
    return sec_per_step


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--envs-only", action="store_true"); ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.smoke:
        bench_envs(20, 4)
        bench_loop(PPOConfig(num_envs=4, num_steps=16, update_epochs=1, num_minibatches=2), 1, ["breakout"], ["rl_baseline"])
    else:
        bench_envs(300, 16)
        if not a.envs_only:
            bench_loop(CPU.stream.ppo, 3, ["breakout", "space_invaders"], ["rl_baseline", "rl_adamo"])   # the rl_cpu preset's PPO
            bench_paper()
