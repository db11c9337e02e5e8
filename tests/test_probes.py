"""Probes (plain pytest): layer and input-output Jacobian spectra, unit/rank/weight metrics and the probe runner.
The notebooks nbs/50_probes.jacobian, 52_probes.units and 53_probes.callback hold the derivations and more checks."""
import importlib, importlib.machinery, math, os, sys, types, warnings
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from isonb.layers import mlp, init_orthogonal_
from isonb.testing import test_close as assert_close, tiny_classification, rand_orthogonal
from isonb.probes.jacobian import (layer_svals, layer_jacobians, io_svals, io_extreme_svals, spectrum_summary,
                                   jacobian_stats, split_layers, lanczos_eigs)
from isonb.probes.units import (hidden_activations, dead_frac, dormant_frac_1pct, redo_scores, redo_dormant_frac,
                                effective_rank, effective_rank_sq, rank99, stable_rank, weight_stats, param_snapshot,
                                distance_from_init, grad_norms)
from isonb.probes.callback import ProbeRunner, PROBES, DEFAULT_PROBES, read_probe_csv, append_probe_csv

D64 = torch.float64


def close(a, b, eps):
    "assert_close with Python numbers read as float64."
    f = lambda v: v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=D64)
    assert_close(f(a), f(b), eps)


def _brute_layer_svals(model, x):
    "Per layer, per input: svdvals of torch.autograd.functional.jacobian of that layer alone."
    prefix, layers = split_layers(model)
    h = x
    for m in prefix: h = m(h)
    out = {}
    for name, mods in layers.items():
        def f(hi, mods=mods):
            hi = hi[None]
            for m in mods: hi = m(hi)
            return hi[0]
        out[name] = torch.stack([torch.linalg.svdvals(torch.autograd.functional.jacobian(f, hi).reshape(f(hi).numel(), hi.numel()))
                                 for hi in h])
        for m in mods: h = m(h)
        h = h.detach()
    return out


# ---------------------------------------------------------------- Jacobians
@pytest.mark.parametrize("act", ["relu", "tanh", "identity", "maxmin", "groupsort", "crelu"])
def test_layer_svals_match_autograd_closed_form(act):
    torch.manual_seed(0)
    net = mlp(5, 3, width=8, depth=2, act=act, group_size=4, init="gaussian").double()
    x = torch.randn(6, 5, dtype=D64)
    got, ref = layer_svals(net, x, method="closed"), _brute_layer_svals(net, x)
    assert list(got) == ["layer1", "layer2", "layer3"]
    for k in ref: close(got[k], ref[k], 1e-10)


@pytest.mark.parametrize("kind", ["layernorm", "gelu", "conv"])
def test_layer_svals_match_autograd_fallback(kind):
    torch.manual_seed(0)
    if kind == "layernorm": net, x = mlp(5, 3, width=8, depth=2, norm="layernorm").double(), torch.randn(4, 5, dtype=D64)
    elif kind == "gelu": net, x = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 3)).double(), torch.randn(4, 5, dtype=D64)
    else:
        net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(8, 2)).double()
        x = torch.randn(3, 2, 4, 4, dtype=D64)
    got, ref = layer_svals(net, x), _brute_layer_svals(net, x)
    for k in ref: close(got[k], ref[k], 1e-10)


@pytest.mark.parametrize("act, gs", [("groupsort", 4), ("maxmin", 2), ("groupsort", 12)])
def test_groupsort_orthogonal_square_is_isometric(act, gs):
    torch.manual_seed(0)
    net = init_orthogonal_(mlp(12, 12, width=12, depth=4, act=act, group_size=gs).double())
    x = torch.randn(20, 12, dtype=D64)
    for s in layer_svals(net, x).values(): close(s, torch.ones_like(s), 1e-12)
    close(io_svals(net, x), torch.ones(20, 12, dtype=D64), 1e-12)
    # ReLU with the same kind of weights is not: closed gates give σ = 0
    s = layer_svals(init_orthogonal_(mlp(12, 12, width=12, depth=2).double()), x)["layer1"]
    assert (s[:, -1] < 1e-12).all()


@pytest.mark.parametrize("d_in, d_out, act", [(30, 6, "tanh"), (6, 30, "groupsort"), (10, 10, "relu")])
def test_lanczos_extremes_match_dense_svd(d_in, d_out, act):
    torch.manual_seed(0)
    net = mlp(d_in, d_out, width=20, depth=2, act=act, init="gaussian").double()
    x = torch.randn(4, d_in, dtype=D64)
    s = io_svals(net, x)
    n = s.shape[1]
    ex = io_extreme_svals(net, x, k=2, iters=n)                       # m = n: exact
    close(ex.top, s[:, :2], 1e-10)
    close(ex.bottom, s[:, -2:].flip(1), 1e-7)                          # zeros come back as ~sqrt(eps)
    for m in (3, 6):                                                   # m < n: interlacing bounds
        ex = io_extreme_svals(net, x, k=1, iters=m)
        assert (ex.top[:, 0] <= s[:, 0] * (1 + 1e-12)).all() and (ex.bottom[:, 0] >= s[:, -1] * (1 - 1e-12)).all()


def test_lanczos_closed_form_spectra():
    "The one Lanczos (batched, restarts, residual bounds, early stop) on Q diag(λ) Qᵀ with known spectra, float64."
    g = torch.Generator().manual_seed(0)
    lams = torch.stack([torch.arange(1., 11.), torch.tensor([2.] * 4 + [7.] * 6), 10.0 ** -torch.arange(10.)]).to(D64)
    Q = torch.stack([rand_orthogonal(10, 10, g) for _ in range(3)])
    M = Q @ torch.diag_embed(lams) @ Q.transpose(1, 2)                 # (3, 10, 10)
    mv = lambda q: torch.einsum("bij,bj->bi", M, q)
    r = lanczos_eigs(mv, 3, 10, 10)                                    # m = n: every eigenvalue, multiplicities too
    close(r.theta, lams.sort(1).values, 1e-12)
    close(r.theta, torch.linalg.eigvalsh(M), 1e-12)
    r = lanczos_eigs(mv, 3, 10, 10, k=1, tol=1e-10)                    # early stop on the residual bounds
    assert r.converged.all() and r.steps <= 10
    close(r.theta[:, -1], lams.max(1).values, 1e-10)
    close(r.theta[:, 0], lams.min(1).values, 1e-10 * lams.max(1).values)  # tol is relative to λ_max
    r = lanczos_eigs(mv, 3, 10, 4)                                     # m < n: residual bounds and interlacing
    assert ((r.theta[:, :, None] - lams[:, None]).abs().amin(2) <= r.res + 1e-12).all()
    assert ((r.theta >= lams.amin(1, keepdim=True) - 1e-12) & (r.theta <= lams.amax(1, keepdim=True) + 1e-12)).all()
    r = lanczos_eigs(lambda q: torch.einsum("ij,bj->bi", M[1], q), 1, 10, 10, tol=1e-12)
    assert r.steps == 2 and r.converged.all()                          # two distinct eigenvalues: invariant after 2
    close(r.theta[0], torch.tensor([2., 7.], dtype=D64), 1e-12)
    with pytest.raises(ValueError, match="`iters`"): lanczos_eigs(mv, 3, 10, 11)


def test_lanczos_conv_and_rng_untouched():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(32, 5)).double()
    x = torch.randn(3, 1, 4, 4, dtype=D64)
    s = io_svals(net, x)
    state = torch.get_rng_state()
    ex = io_extreme_svals(net, x, k=1, iters=5)
    assert torch.equal(state, torch.get_rng_state())
    close(ex.top[:, 0], s[:, 0], 1e-10); close(ex.bottom[:, 0], s[:, -1], 1e-8)


def test_io_jacobian_is_product_of_layer_jacobians():
    torch.manual_seed(0)
    net = mlp(7, 4, width=10, depth=3, act="crelu", init="gaussian").double()
    x = torch.randn(5, 7, dtype=D64)
    J = layer_jacobians(net, x)
    prod = J["layer4"] @ J["layer3"] @ J["layer2"] @ J["layer1"]
    close(io_svals(net, x), torch.linalg.svdvals(prod), 1e-12)


def test_spectrum_summary_closed_form():
    st = spectrum_summary(torch.tensor([[2.0, 1.0, 0.25], [1.0, 1.0, 1.0], [4.0, 0.5, 0.0]], dtype=D64))
    close(st["mean_abs_dev"], 6.25 / 9, 1e-12); close(st["cond"], 8.0, 1e-12); close(st["frac_in_band"], 6 / 9, 1e-12)
    net = init_orthogonal_(mlp(8, 8, width=8, depth=2, act="maxmin").double())
    st = jacobian_stats(net, torch.randn(4, 8, dtype=D64))
    for p in ("layer1", "layer3", "io"): close(st[f"{p}/jac_cond"], 1.0, 1e-12)


def test_jacobian_bad_input():
    net = mlp(5, 3, width=8, depth=1)
    x = torch.randn(4, 5)
    with pytest.raises(ValueError, match="`method` must be one of"): layer_svals(net, x, method="svd")
    with pytest.raises(ValueError, match="non-empty batch"): layer_svals(net, x[:0])
    with pytest.raises(ValueError, match="non-empty batch"): io_svals(net, x[0])
    with pytest.raises(TypeError, match="floating-point"): io_svals(net, x.long())
    with pytest.raises(TypeError, match="nn.Sequential"): layer_svals(nn.ReLU(), x)
    with pytest.raises(ValueError, match="do not support BatchNorm1d; supported modules"):
        layer_svals(nn.Sequential(nn.Linear(5, 3), nn.BatchNorm1d(3)), x)
    with pytest.raises(ValueError, match="no closed form"): layer_svals(mlp(5, 3, 8, 1, norm="layernorm"), x, method="closed")
    with pytest.raises(ValueError, match="`k`"): io_extreme_svals(net, x, k=4)
    with pytest.raises(ValueError, match="`max_elements`"): io_svals(net, x, max_elements=10)
    with pytest.raises(ValueError, match="`floor`"): spectrum_summary(torch.ones(3), floor=0)


# ---------------------------------------------------------------- units, ranks, weights
def _constructed_layer():
    x = torch.randn(200, 3, dtype=D64, generator=torch.Generator().manual_seed(0))
    x[:, 0] = -1.0; x[17, 0] = 1.0                                     # x0 > 0 on exactly one input
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1., 1., 1.], [1., 0., 0.], [-1., 0., 0.], [0., 1., 0.], [0., 0., 1.]]))
        net[0].bias.copy_(torch.tensor([-100., 0., 0., 0., 0.]))       # unit 0 dead
    return net, x


def test_dormancy_definitions_on_constructed_activations():
    net, x = _constructed_layer()
    H = hidden_activations(net, x)["layer1"]
    assert H.shape == (200, 5)
    assert dead_frac(H) == 1 / 5                                       # the -100 bias unit
    assert dormant_frac_1pct(H) == 2 / 5                               # ... and the unit active on 1 of 200 inputs
    m = H.abs().mean(0)
    close(redo_scores(H), m / m.mean(), 1e-12)
    close(redo_scores(H)[1], (1 / 200) / m.mean(), 1e-12)
    assert redo_dormant_frac(H, 0.0) == dead_frac(H) and redo_dormant_frac(H, 0.1) == 2 / 5
    close(redo_scores(torch.tensor([[0., 1., -3.], [0., 3., 1.]], dtype=D64)), torch.tensor([0., 1.5, 1.5], dtype=D64), 1e-12)


def test_ranks_of_diag_hand_computed():
    s = torch.tensor([3., 2., 1., 0.], dtype=D64)
    D = torch.diag(s)
    close(effective_rank(D), 2 ** (2 / 3) * 3 ** 0.5, 1e-12)
    q = torch.tensor([9., 4., 1.], dtype=D64) / 14
    close(effective_rank_sq(D), math.exp(-(q * q.log()).sum().item()), 1e-12)
    assert rank99(D) == 3 and rank99(D, thresh=0.8) == 2
    close(stable_rank(D), 14 / 9, 1e-12)
    A = rand_orthogonal(7, 4) @ D @ rand_orthogonal(4, 4).T
    for f in (effective_rank, effective_rank_sq, stable_rank): close(f(A), f(D), 1e-10)
    for f in (effective_rank, effective_rank_sq, rank99, stable_rank):
        close(f(torch.eye(6, dtype=D64)), 6.0, 1e-12)
        assert f(torch.zeros(3, 3)) == 0
    assert rank99(torch.tensor([99., 1.])) == 1


def test_weights_distance_and_grad_norms():
    torch.manual_seed(0)
    net = mlp(5, 3, width=8, depth=2).double()
    theta0 = param_snapshot(net)
    assert distance_from_init(net, theta0) == 0.0
    with torch.no_grad(): net[0].weight[0, 0] += 3.0; net[2].bias[1] += 4.0
    close(distance_from_init(net, theta0), 5.0, 1e-12)
    st = weight_stats(net)
    assert list(st) == ["layer1", "layer2", "layer3"]
    close(st["layer2"]["iso_penalty"], 0.0, 1e-10)
    x, y = torch.randn(8, 5, dtype=D64), torch.randint(0, 3, (8,))
    g = grad_norms(net, F.cross_entropy(net(x), y))
    assert all(p.grad is None for p in net.parameters())
    F.cross_entropy(net(x), y).backward()
    close(g["total"], torch.cat([p.grad.flatten() for p in net.parameters()]).norm(), 1e-12)


def test_units_bad_input():
    H = torch.rand(10, 4)
    with pytest.raises(ValueError, match="`tau` must be in"): redo_dormant_frac(H, -0.1)
    with pytest.raises(ValueError, match="B ≥ 1"): dead_frac(torch.zeros(0, 4))
    with pytest.raises(ValueError, match="non-empty batch"): hidden_activations(mlp(4, 2, 8, 1), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="`thresh`"): rank99(H, thresh=1.5)
    with pytest.raises(ValueError, match="same parameter names"):
        distance_from_init(mlp(4, 2, 8, 1), param_snapshot(mlp(4, 2, 8, 2)))


# ---------------------------------------------------------------- the runner
def _train(tmp_path=None, every=None, steps=24, tasks=2):
    torch.manual_seed(0)
    X, _ = tiny_classification(64, 8, 3)
    net = mlp(8, 3, width=16, depth=2); net = nn.Sequential(*net[:2], nn.Dropout(0.2), *net[2:])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    runner = None
    if every:
        runner = ProbeRunner(net, X[:32], probes=("dead_frac", "rank99", "iso_penalty", "jacobian", "dist_from_init",
                                                  "redo_dormant_frac", "effective_rank_sq", "weight_svals"),
                             every=every, csv_path=str(tmp_path / "probes.csv"))
    for task in range(tasks):
        y = torch.randint(0, 3, (64,))
        for step in range(task * steps, (task + 1) * steps):
            idx = torch.randint(0, 64, (16,))
            opt.zero_grad(); F.cross_entropy(net(X[idx]), y[idx]).backward(); opt.step()
            if runner: runner(step)
        if runner: runner.run(step, task=task)
    return net, runner


def test_runner_in_a_training_loop(tmp_path):
    net_p, runner = _train(tmp_path, every=5)
    assert len(runner.records) == math.ceil(48 / 5) + 2
    assert [r["step"] for r in runner.records[:3]] == [0, 5, 10]
    assert all(math.isfinite(v) for r in runner.records for v in r.values())
    back = read_probe_csv(str(tmp_path / "probes.csv"))
    assert len(back) == len(runner.records)
    for a, b in zip(back, runner.records):
        assert all(a[k] == b[k] for k in b)                            # exact round trip
        assert all(math.isnan(a[k]) for k in set(a) - set(b))          # `task` only in boundary rows
    net_0, _ = _train(every=None)                                      # same loop without probes: bit-identical
    assert all(torch.equal(p, q) for p, q in zip(net_p.parameters(), net_0.parameters()))


def test_runner_restores_modes_and_leaves_model_alone():
    torch.manual_seed(0)
    X, y = tiny_classification(32, 8, 3)
    net = mlp(8, 3, width=16, depth=2); net.train(); net[1].eval()
    modes = [m.training for m in net.modules()]
    before = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad(): out0 = net(X)
    probes = [p for p in PROBES if p not in ("entk", "attention_entropy")]          # the latter needs a transformer
    rec = ProbeRunner(net, X, probes=probes, every=None, loss_fn=lambda m, x: F.cross_entropy(m(x), y)).run(3)
    assert rec["step"] == 3 and all(math.isfinite(v) for v in rec.values())
    assert [m.training for m in net.modules()] == modes
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters())) and all(p.grad is None for p in net.parameters())
    with torch.no_grad(): assert torch.equal(net(X), out0)


def test_runner_bad_input_and_csv_new_keys(tmp_path):
    net, X = mlp(8, 3, width=16, depth=1), torch.randn(8, 8)
    with pytest.raises(ValueError, match=r"`probes` must be one of \["): ProbeRunner(net, X, probes=("dead", ))
    with pytest.raises(ValueError, match="needs `loss_fn"): ProbeRunner(net, X, probes=("grad_norm",))
    with pytest.raises(ValueError, match="`every`"): ProbeRunner(net, X, every=0)
    with pytest.raises(ValueError, match="`csv_mode`"): ProbeRunner(net, X, csv_mode="w")
    p = str(tmp_path / "x.csv")
    append_probe_csv(p, {"step": 0, "a": 1.5})
    append_probe_csv(p, {"step": 1, "b": 0.1, "arm": "adam"})
    rows = read_probe_csv(p)
    assert open(p).readline().strip() == "step,a,b,arm"
    assert rows[0]["a"] == 1.5 and math.isnan(rows[0]["b"]) and math.isnan(rows[1]["a"]) and rows[1]["arm"] == "adam"


def test_runner_tensorboard_optional(tmp_path):
    net, X = mlp(8, 3, width=16, depth=1), torch.randn(8, 8)
    try: has_tb = importlib.import_module("torch.utils.tensorboard") is not None
    except ImportError: has_tb = False
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = ProbeRunner(net, X, probes=("dead_frac",), every=2, tb_dir=str(tmp_path / "tb"))
    for s in range(5): r(s)
    r.close()
    assert len(r.records) == 3
    if has_tb: assert any(f.startswith("events") for f in os.listdir(tmp_path / "tb"))
    else: assert any("TensorBoard logging disabled" in str(x.message) for x in w)


def _brute_entk(model, x, x2=None, mode="trace", method="auto"):
    params = {k: v.detach() for k, v in model.named_parameters()}
    f = lambda p, xi: torch.func.functional_call(model, p, (xi[None],))[0]
    J = torch.func.vmap(torch.func.jacrev(f), (None, 0))(params, x)
    J = torch.cat([j.flatten(2) for j in J.values()], 2).double()     # (N, O, P)
    return torch.einsum("aop,bop->ab", J, J)


def test_entk_probe_against_brute_force(monkeypatch):
    torch.manual_seed(0)
    net, x = mlp(6, 3, width=8, depth=2).double(), torch.randn(10, 6, dtype=D64)
    lam = torch.linalg.eigvalsh(_brute_entk(net, x[:8])).flip(0)
    import isonb.probes.entk as real_entk
    fake = types.ModuleType("isonb.probes.entk"); fake.entk = _brute_entk
    fake.kernel_matrix = real_entk.kernel_matrix                      # only Θ is replaced (the spectrum: isonb.probes.spectra)
    fake.__spec__ = importlib.machinery.ModuleSpec("isonb.probes.entk", None)
    with monkeypatch.context() as mp:                                  # the wiring, with a stand-in module
        mp.setitem(sys.modules, "isonb.probes.entk", fake)
        rec = ProbeRunner(net, x, probes=("entk",), every=None, entk_n=8).run(0)
    close(rec["entk/lambda_max"], lam[0], 1e-10); close(rec["entk/cond"], lam[0] / lam[-1], 1e-10)
    close(rec["entk/trace"], lam.sum(), 1e-10)
    real = pytest.importorskip("isonb.probes.entk", reason="isonb.probes.entk (nbs/51_probes.entk) not exported yet")
    close(real.entk(net, x, mode="trace"), _brute_entk(net, x), 1e-10)
    rec = ProbeRunner(net, x, probes=("entk",), every=None, entk_n=8).run(0)
    close(rec["entk/cond"], lam[0] / lam[-1], 1e-8)
