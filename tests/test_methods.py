"""Defining properties of the continual-learning methods (isonb.continual.methods, .resets, .recipes); the notebooks
nbs/62_continual.methods.ipynb, 62a_continual.resets.ipynb and 62b_continual.recipes.ipynb hold the derivations and
more detailed inline tests."""
import copy, io, math
import pytest
import torch
import torch.nn as nn

from isonb.architectures import crelu_width, make_model
from isonb.optimizers import make_optimizer
from isonb.continual.methods import L2InitReg, IsoCoupledReg, ParsevalReg, SpectralReg, compose, supervised_step as method_step
from isonb.continual.resets import CBP, ReDo, NaP, HeadReset, ShrinkPerturb, draw_init, find_units
from isonb.continual.recipes import METHODS, make_method
from isonb.layers import mlp
from isonb.regularizers import parseval_penalty
from isonb.testing import test_close as assert_close, assert_orthonormal, tiny_classification

X, Y = tiny_classification(64, 8, 3, dtype=torch.float64)


def _net(arch="relu_mlp", width=16, seed=0, n_out=3):
    torch.manual_seed(seed)
    return make_model(arch, 8, n_out, width, 2).double()


def _batch(t):
    return X[(16 * t) % 64:][:16], Y[(16 * t) % 64:][:16]


def _run(net, opt, m, t0, t1, task_len=4):
    for t in range(t0, t1):
        if m.needs_task_boundary and t % task_len == 0: m.on_task_start(net, opt, t // task_len)
        method_step(net, opt, m, *_batch(t))


# ---------------------------------------------------------------- models and optimizers
@pytest.mark.parametrize("d, k, w, L", [(784, 10, 512, 4), (8, 3, 16, 2), (20, 5, 7, 3)])
def test_crelu_width_is_largest_not_exceeding_relu_params(d, k, w, L):
    n = lambda m: sum(p.numel() for p in m.parameters())
    relu = mlp(d, k, w, L, init="default")
    wc = crelu_width(d, k, w, L)
    assert n(mlp(d, k, wc, L, act="crelu", init="default")) <= n(relu) < n(mlp(d, k, wc + 1, L, act="crelu", init="default"))


def test_make_model_archs_and_init_record():
    for arch in ("relu_mlp", "crelu_mlp", "groupsort_mlp", "ortho_groupsort_mlp", "nap_mlp"):
        net = make_model(arch, 8, 3, 16, 2)
        assert net(torch.randn(4, 8)).shape == (4, 3) and isinstance(net[-1], nn.Linear)
        assert net.isonb_init == {"init": "orthogonal", "gain": 1.0}
    cnn = make_model("small_cnn", (3, 8, 8), 5, width=8, depth=2)
    assert cnn(torch.randn(2, 3, 8, 8)).shape == (2, 5)
    assert_orthonormal(cnn[0].weight.reshape(8, 27).double(), eps=1e-5)          # expanding conv: orthonormal flattened filters
    assert_orthonormal(cnn[3].weight[:, :, 1, 1].double(), eps=1e-5)            # 8 -> 8: delta-orthogonal centre tap
    off = cnn[3].weight.detach().clone(); off[:, :, 1, 1] = 0
    assert torch.equal(off, torch.zeros_like(off))                               # delta kernel: nothing off the centre tap


def test_make_optimizer_adamo_groups():
    net = make_model("relu_mlp", 8, 3, 16, 2)
    o = make_optimizer("adamo", net, 1e-3, iso=0.1)
    assert [len(g["params"]) for g in o.param_groups] == [2, 4] and o.param_groups[1]["iso"] == 0.0
    with pytest.raises(ValueError, match="`name` must be one of"): make_optimizer("lion", net, 1e-3)


# ---------------------------------------------------------------- penalties
def test_l2_init_zero_at_init_and_gradient():
    net = _net(); m = L2InitReg(0.3); m.setup(net, None)
    assert m.penalty(net).item() == 0.0
    theta0 = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters(): p.add_(torch.randn_like(p))
    for g, p, p0 in zip(torch.autograd.grad(m.penalty(net), list(net.parameters())), net.parameters(), theta0):
        assert_close(g, 2 * 0.3 * (p - p0), eps=1e-12)


def test_parseval_and_spectral_match_definitions():
    net = _net()
    with torch.no_grad():
        for p in net.parameters(): p.add_(0.5 * torch.randn_like(p))
    m = ParsevalReg(0.2, s=2.0); m.setup(net, None)
    assert_close(m.penalty(net), 0.2 * (parseval_penalty(net[0].weight, 2.0) + parseval_penalty(net[2].weight, 2.0)), eps=1e-12)
    s = SpectralReg(0.1, k=2.0, seed=0); s.setup(net, None)
    for _ in range(300): val = s.penalty(net)
    ref = 0.1 * sum((torch.linalg.svdvals(net[j].weight)[0] ** 2 - 1) ** 2 for j in (0, 2, 4))
    assert_close(val, ref, eps=1e-8)


def test_iso_coupled_equals_adamo_coupled():
    a = _net(); b = copy.deepcopy(a)
    oa, ob = make_optimizer("adam", a, 1e-2), make_optimizer("adamo", b, 1e-2, iso=0.05, coupled=True)
    ma, mb = IsoCoupledReg(0.05), make_method("none"); ma.setup(a, oa); mb.setup(b, ob)
    for t in range(10): method_step(a, oa, ma, *_batch(t)); method_step(b, ob, mb, *_batch(t))
    for p, q in zip(a.parameters(), b.parameters()): assert_close(p, q, eps=1e-10)


# ---------------------------------------------------------------- Shrink & Perturb
def test_shrink_perturb_sigma0_is_exact_shrink_and_init_noise_is_orthogonal():
    net = _net(); m = ShrinkPerturb(shrink=0.9, sigma=0.0, every=2); m.setup(net, None)
    before = [p.detach().clone() for p in net.parameters()]
    m.after_step(net, None, None)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before))          # only every 2nd step
    m.after_step(net, None, None)
    assert all(torch.equal(p, 0.9 * q) for p, q in zip(net.parameters(), before))
    m = ShrinkPerturb(shrink=0.5, sigma=0.5, seed=1); m.setup(net, None)
    W = net[2].weight.detach().clone(); m.after_step(net, None, None)
    assert_orthonormal((net[2].weight - 0.5 * W) / 0.5, eps=1e-12)


# ---------------------------------------------------------------- CBP
def test_cbp_bias_corrected_ema_by_hand():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).double()
    W1, b1 = torch.tensor([[1., -1.], [0.5, 2.], [-1., 0.]]), torch.tensor([0., -1., 0.5])
    with torch.no_grad(): net[0].weight.copy_(W1); net[0].bias.copy_(b1); net[2].weight.copy_(torch.tensor([[2., -0.5, 0.]]))
    m = CBP(rho=0.0, decay=0.5, init="orthogonal"); m.setup(net, None)
    xs = [torch.tensor([[1., 0.], [0., 1.]], dtype=torch.float64), torch.tensor([[2., 1.], [-1., 1.]], dtype=torch.float64)]
    u = f = 0.0
    for x in xs:
        net(x); m.after_step(net, None, x)
        h = torch.relu(x @ W1.double().T + b1.double())
        u = 0.5 * u + 0.5 * h.abs().mean(0) * torch.tensor([2., 0.5, 0.], dtype=torch.float64)
        f = 0.5 * f + 0.5 * h.mean(0)
    assert_close(m.util[0], u, eps=1e-14); assert_close(m.mean_act[0], f, eps=1e-14)
    assert_close(m.utility()[0], u / (1 - 0.5 ** 2), eps=1e-14)


def test_cbp_maturity_and_rate():
    def counts(steps, **kw):
        net = _net(); opt = make_optimizer("adam", net, 1e-3); m = CBP(**kw); m.setup(net, opt); out = []
        for t in range(steps): method_step(net, opt, m, *_batch(t)); out.append(len(m.last_replaced[0]))
        return out, m
    out, _ = counts(10, rho=1.0, maturity=4)
    assert out == [0, 0, 0, 0, 16, 0, 0, 0, 0, 16]
    _, m = counts(60, rho=0.03, maturity=0)
    assert all(abs(n - 0.03 * 16 * 60) < 1 for n in m.n_replaced)


def test_cbp_ranks_by_bias_corrected_utility():
    net = _net(); m = CBP(rho=0.0, maturity=4, decay=0.99); m.setup(net, None)
    def step(): net(X); m.after_step(net, None, X)
    for _ in range(20): step()
    c = torch.relu(net[0](X)).mean(0) * net[2].weight.abs().sum(0)      # constant contributions (fixed weights, batch)
    j = int(c.argmax()); m.age[0][j] = 0; m.util[0][j] = 0              # the most useful unit looks newborn
    for _ in range(6): step()
    assert int(m.util[0].argmin()) == j                                  # raw u would replace it
    m.rho = 1 / 16; m.acc = [0.0, 0.0]; step()
    assert m.last_replaced[0].tolist() == [int(c.argmin())]


@pytest.mark.parametrize("fold_bias", [True, False])
def test_cbp_fold_uses_bias_corrected_mean(fold_bias):
    net = _net(width=6); m = CBP(rho=0.5, maturity=3, decay=0.9, fold_bias=fold_bias); m.setup(net, None)
    xb = X[48:]
    for _ in range(4): net(xb); pre = copy.deepcopy(net); m.after_step(net, None, xb)
    i1, i2 = m.last_replaced
    assert len(i1) == len(i2) == 3
    h1 = torch.relu(pre[0](xb)); h2 = torch.relu(pre[2](h1))
    for j, idx, h in ((1, i1, h1), (3, i2, h2)):
        val = h.mean(0)[idx] if fold_bias else 0.0
        def hook(mod, a, out, idx=idx, val=val): out = out.clone(); out[:, idx] = val; return out
        pre[j].register_forward_hook(hook)
    probe = torch.randn(32, 8, dtype=torch.float64)
    assert_close(net(probe), pre(probe), eps=1e-12)


@pytest.mark.parametrize("fold_bias", [True, False])
def test_cbp_replacement_instant(fold_bias):
    net = _net(width=6); opt = make_optimizer("adam", net, 1e-2)
    m = CBP(rho=0.5, maturity=3, decay=0.0, fold_bias=fold_bias); m.setup(net, opt)
    _run(net, opt, m, 0, 3)
    xb = X[48:]; net(xb)
    pre, pre_state = copy.deepcopy(net), copy.deepcopy(opt.state_dict()["state"])
    acts = {}
    hooks = [pre[j].register_forward_hook(lambda mod, a, out, j=j: acts.__setitem__(j, out)) for j in (1, 3)]
    pre(xb)
    for h in hooks: h.remove()
    m.after_step(net, opt, xb)
    i1, i2 = m.last_replaced
    assert len(i1) == len(i2) == 3
    # function: the old network with the replaced units clamped to their mean activation (0 without the fold)
    for j, idx in zip((1, 3), (i1, i2)):
        val = acts[j].mean(0)[idx] if fold_bias else 0.0
        def hook(mod, a, out, idx=idx, val=val): out = out.clone(); out[:, idx] = val; return out
        pre[j].register_forward_hook(hook)
    probe = torch.randn(32, 8, dtype=torch.float64)
    assert_close(net(probe), pre(probe), eps=1e-12)
    # moments of exactly the replaced slices are zero, everything else untouched
    masks = {0: lambda k: k.__setitem__(i1, False), 1: lambda k: k.__setitem__(i1, False),
             2: lambda k: (k.__setitem__((slice(None), i1), False), k.__setitem__(i2, False)),
             3: lambda k: k.__setitem__(i2, False), 4: lambda k: k.__setitem__((slice(None), i2), False)}
    for n, p in enumerate(net.parameters()):
        for key in ("exp_avg", "exp_avg_sq"):
            v, v0 = opt.state[p][key], pre_state[n][key]
            keep = torch.ones_like(v, dtype=torch.bool)
            if n in masks: masks[n](keep); assert (v[~keep] == 0).all() and (v0[~keep] != 0).any()
            assert torch.equal(v[keep], v0[keep])
    assert (net[4].weight[:, i2] == 0).all() and (net[0].bias[i1] == 0).all()


def test_cbp_dead_units_replaced_without_changing_function():
    net = _net()
    with torch.no_grad(): net[0].bias[4] = -100.0; net[2].bias[7] = -100.0
    m = CBP(rho=1 / 16, maturity=0, decay=0.9); m.setup(net, None)
    pre = copy.deepcopy(net); net(X); m.after_step(net, None, X)
    assert [r.tolist() for r in m.last_replaced] == [[4], [7]]
    probe = torch.randn(50, 8, dtype=torch.float64)
    assert torch.equal(net(probe), pre(probe))


# ---------------------------------------------------------------- ReDo
def test_redo_resets_exactly_the_dormant_unit():
    net = _net(); opt = make_optimizer("adam", net, 1e-2)
    m = ReDo(tau=0.0, every=4); m.setup(net, opt)
    _run(net, opt, m, 0, 3)
    assert m.n_reset == [0, 0]
    with torch.no_grad(): net[2].bias[9] = -100.0
    pre, pre_state = copy.deepcopy(net), copy.deepcopy(opt.state_dict()["state"])
    m.after_step(net, opt, X)
    assert [r.tolist() for r in m.last_reset] == [[], [9]]
    probe = torch.randn(50, 8, dtype=torch.float64)
    assert torch.equal(net(probe), pre(probe))
    assert (net[4].weight[:, 9] == 0).all() and net[2].bias[9] == 0
    for n, p in enumerate(net.parameters()):
        sel = {2: (9,), 3: (9,), 4: (slice(None), 9)}.get(n)
        for key in ("exp_avg", "exp_avg_sq"):
            v, v0 = opt.state[p][key].clone(), pre_state[n][key].clone()
            if sel is not None:
                assert (v[sel] == 0).all() and (v0[sel] != 0).any()
                v[sel] = 0; v0[sel] = 0
            assert torch.equal(v, v0)
    rows = [j for j in range(16) if j != 9]
    assert torch.equal(net[2].weight[rows], pre[2].weight[rows])


def test_redo_score_is_layer_normalised_mean_abs_activation():
    net = _net(); m = ReDo(); m.setup(net, None)
    h1 = torch.relu(net[0](X)); a = h1.abs().mean(0)
    assert_close(m.scores(net, X)[0], a / a.mean(), eps=1e-14)


# ---------------------------------------------------------------- NaP, head reset
def test_nap_keeps_initial_frobenius_norms():
    net = _net("nap_mlp"); opt = make_optimizer("adam", net, 5e-2); m = NaP(); m.setup(net, opt)
    Ws = [l.weight for l in net if isinstance(l, nn.Linear)]; n0 = [W.norm().item() for W in Ws]
    for t in range(5):
        method_step(net, opt, m, *_batch(t))
        for W, n in zip(Ws, n0): assert abs(W.norm().item() / n - 1) < 1e-13
    with pytest.raises(ValueError, match="LayerNorm before every activation"): NaP().setup(_net(), None)


def test_head_reset_is_a_fresh_draw_and_rest_untouched():
    net = _net(); opt = make_optimizer("adam", net, 1e-2); m = HeadReset(seed=5); m.setup(net, opt)
    _run(net, opt, make_method("none"), 0, 2)
    before = copy.deepcopy(net)
    m.on_task_start(net, opt, 1)
    w, b = draw_init(net[4], "orthogonal", 1.0, torch.Generator().manual_seed(5))
    assert torch.equal(net[4].weight, w) and torch.equal(net[4].bias, b)
    assert all(torch.equal(p, q) for p, q in zip(list(net.parameters())[:4], list(before.parameters())[:4]))
    assert net[4].weight not in opt.state


# ---------------------------------------------------------------- resume and mechanism-off
FIRE = {"none": {}, "l2": dict(lam=1e-2), "l2_init": dict(lam=1e-1), "parseval": dict(lam=1e-2),
        "spectral": dict(lam=1e-2, seed=3), "iso_coupled": dict(lam=1e-2),
        "shrink_perturb": dict(shrink=0.99, sigma=1e-2, every=2, seed=3),
        "cbp": dict(rho=0.2, maturity=2, seed=3), "redo": dict(tau=0.8, every=3, seed=3), "nap": {},
        "head_reset": dict(seed=3), "compose": None}


def _build(name, seed=0):
    net = _net("nap_mlp" if name in ("nap", "compose") else "relu_mlp", seed=seed); opt = make_optimizer("adam", net, 1e-2)
    m = (compose(make_method("cbp", **FIRE["cbp"]), make_method("nap"), make_method("head_reset", seed=4))
         if name == "compose" else make_method(name, **FIRE[name]))
    return net, opt, m


@pytest.mark.parametrize("name", list(FIRE))
def test_resume_is_bit_identical(name):
    ref = _build(name); ref[2].setup(*ref[:2]); _run(*ref, 0, 12)
    a = _build(name); a[2].setup(*a[:2]); _run(*a, 0, 5)
    buf = io.BytesIO(); torch.save({"m": a[0].state_dict(), "o": a[1].state_dict(), "x": a[2].state_dict()}, buf); buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    net, opt, m = _build(name, seed=1)
    net.load_state_dict(ck["m"]); opt.load_state_dict(ck["o"]); m.setup(net, opt); m.load_state_dict(ck["x"])
    _run(net, opt, m, 5, 12)
    assert all(torch.equal(p, q) for p, q in zip(ref[0].parameters(), net.parameters()))


def test_all_registered_methods_are_covered():
    assert set(METHODS) <= set(FIRE)


@pytest.mark.parametrize("name, kw", [("l2", dict(lam=0.0)), ("l2_init", dict(lam=0.0)), ("parseval", dict(lam=0.0)),
                                      ("spectral", dict(lam=0.0)), ("iso_coupled", dict(lam=0.0)),
                                      ("shrink_perturb", dict(shrink=1.0, sigma=0.0)), ("cbp", dict(rho=0.0)),
                                      ("redo", dict(every=10**9))])
def test_mechanism_off_is_plain_adam(name, kw):
    def final(method):
        net = _net(); opt = make_optimizer("adam", net, 1e-2); method.setup(net, opt); _run(net, opt, method, 0, 8)
        return list(net.parameters())
    assert all(torch.equal(p, q) for p, q in zip(final(make_method("none")), final(make_method(name, **kw))))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("name, kw, msg", [
    ("cbp", dict(rho=1.5), "`rho` must be in [0, 1]"), ("cbp", dict(rho=-0.1), "`rho`"), ("cbp", dict(maturity=-1), "`maturity`"),
    ("cbp", dict(decay=1.0), "`decay` must be in [0, 1)"), ("redo", dict(tau=-0.1), "`tau`"), ("redo", dict(every=0), "`every`"),
    ("shrink_perturb", dict(shrink=1.1), "`shrink`"), ("shrink_perturb", dict(sigma=-1.0), "`sigma`"),
    ("shrink_perturb", dict(noise="laplace"), "`noise` must be one of"), ("l2", dict(lam=-1.0), "`lam`"),
    ("parseval", dict(s=-1.0), "`s`"), ("head_reset", dict(mode="shrink"), "`mode`")])
def test_bad_method_args(name, kw, msg):
    with pytest.raises(ValueError) as e: make_method(name, **kw)
    assert msg in str(e.value)


def test_bad_names_and_unsupported_models():
    with pytest.raises(ValueError, match="`name` must be one of"): make_method("dropout")
    with pytest.raises(TypeError, match="unknown argument"): make_method("cbp", replacement_rate=0.1)
    with pytest.raises(ValueError, match="`arch` must be one of"): make_model("resnet", 8, 3)
    with pytest.raises(ValueError, match="GroupSort"): CBP().setup(make_model("groupsort_mlp", 8, 3, 16, 2), None)
    with pytest.raises(ValueError, match="hard-orthogonal"): find_units(make_model("ortho_groupsort_mlp", 8, 3, 16, 2))
    with pytest.raises(ValueError, match="pass init="): ReDo().setup(mlp(8, 3, 16, 2), None)
    with pytest.raises(RuntimeError, match="call setup"): CBP().after_step(_net(), None, X)
    m = HeadReset(); m.setup(_net(), None)
    with pytest.raises(ValueError, match="`task`"): m.on_task_start(None, None, -1)


def test_benchmark_smoke():
    import os, subprocess, sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "baselines.py"), "--smoke"], cwd=root,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    from isonb.continual.recipes import RECIPES
    lines = [l for l in r.stdout.splitlines() if l and not l.startswith(("#", "recipe"))]
    assert len(lines) == sum(r.arch != "actor_critic" for r in RECIPES.values()) and all(float(l.split()[-1]) > 0 for l in lines)
