"""AdamO as its users meet it (plain pytest; 30_adamo and 20_regularizers hold the derivations and the detailed tests):
the paper's step by default, the amortised step's guard, capturable and hooked forms bit-identical to the default,
saved states of today's schema and of schema 1, torch.compile, and MuonO."""
import copy, io, warnings
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from isonb.adamo import AdamO, adamo, isometry_step, AMORTISED_VALIDATED
from isonb.layers import mlp
from isonb.optimizers import make_optimizer, MuonAdamW
from isonb.regularizers import isometry_grad, isometry_penalty, isometry_window_delta, sigma_max_bound, iso_param_groups
from isonb.testing import test_close, with_singular_values, tiny_classification


def _train(make_opt, steps=40, dtype=torch.float32, depth=3):
    torch.manual_seed(0)
    net = mlp(8, 3, width=16, depth=depth).to(dtype)
    X, y = tiny_classification(64, 8, 3, dtype=dtype)
    opt = make_opt(net)
    for t in range(steps):
        idx = torch.arange(t * 16, t * 16 + 16) % 64
        opt.zero_grad(); F.cross_entropy(net(X[idx]), y[idx]).backward(); opt.step()
    return [p.detach().clone() for p in net.parameters()]


def _same(a, b): return all(torch.equal(x, y) for x, y in zip(a, b))


def test_defaults_are_the_papers_step():
    "AdamO(params, lr, iso) is Eq. 20 at every step: r from θ_{t−1}, Adam, then −γλr."
    ref = []
    def reference(n):
        ps = list(n.parameters()); st = [(torch.tensor(0.0), torch.zeros_like(p), torch.zeros_like(p)) for p in ps]
        class Opt:
            def zero_grad(self):
                for p in ps: p.grad = None
            @torch.no_grad()
            def step(self):
                for p, (t, m, v) in zip(ps, st):
                    r = isometry_grad(p) if p.dim() >= 2 else None
                    t += 1; m.lerp_(p.grad, 0.1); v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                    s = t.item(); bc1, bc2 = 1 - 0.9 ** s, 1 - 0.999 ** s
                    p.addcdiv_(m, (v.sqrt() / bc2 ** 0.5).add_(1e-8), value=-1e-2 / bc1)
                    if r is not None: p.add_(r, alpha=-1e-2 * 0.05)
        return Opt()
    assert _same(_train(reference), _train(lambda n: AdamO(n.parameters(), lr=1e-2, iso=0.05)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 16])
@pytest.mark.parametrize("foreach", [False, True])
def test_capturable_and_hook_equal_default_bit_for_bit(dtype, k, foreach):
    a = _train(lambda n: AdamO(n.parameters(), lr=1e-2, iso=0.05, iso_every=k, foreach=foreach), dtype=dtype)
    b = _train(lambda n: AdamO(n.parameters(), lr=1e-2, iso=0.05, iso_every=k, foreach=foreach, capturable=True), dtype=dtype)
    c = _train(lambda n: isometry_step(torch.optim.Adam(n.parameters(), lr=1e-2, foreach=foreach), iso=0.05, iso_every=k).opt, dtype=dtype)
    assert _same(a, b)
    assert _same(a, c)


def test_window_step_never_overshoots():
    "Every singular value moves toward 1 without crossing it, for any C, including σ hidden from power iteration."
    g = torch.Generator().manual_seed(0)
    h = torch.tensor([(-1.0) ** i for i in range(16)], dtype=torch.float64) / 4
    Q = torch.linalg.qr(torch.cat([h[:, None], torch.randn(16, 15, generator=g, dtype=torch.float64)], 1)).Q
    hidden = 5 * torch.outer(Q[:, 0], Q[:, 0]) + torch.eye(16, dtype=torch.float64)          # σ = 6 along ±h
    for W in [hidden, with_singular_values(9, 5, [10.0, 6.0, 1.0, 0.5, 0.0], g), with_singular_values(5, 9, [2.0, 1.0, 1e-3, 0.5, 6.0], g)]:
        U, S, Vh = torch.linalg.svd(W, full_matrices=False)
        assert sigma_max_bound(W) >= S[0] * (1 - 1e-12)
        for C in [10.0 ** e for e in range(-6, 2)] + [0.016]:
            s1 = torch.diagonal(U.T @ (W + isometry_window_delta(W, C)) @ Vh.T)
            assert ((s1 - 1) * (S - 1) >= -1e-9).all(), C
            assert ((s1 - 1).abs() <= (S - 1).abs() + 1e-9).all(), C


def test_batched_gradient_and_functional_core():
    Ws = torch.randn(4, 7, 5, dtype=torch.float64)
    test_close(isometry_grad(Ws, batch_dims=1), torch.stack([isometry_grad(W) for W in Ws]), eps=1e-10)
    test_close(isometry_penalty(Ws, batch_dims=1), torch.stack([isometry_penalty(W) for W in Ws]), eps=1e-10)
    sep = [W.clone() for W in Ws]; z = torch.zeros_like
    sa = ([z(Ws)], [z(Ws)], [torch.tensor(0.0)], [{}])
    sb = ([z(W) for W in sep], [z(W) for W in sep], [torch.tensor(0.0) for _ in sep], [{} for _ in sep])
    for _ in range(8):
        G = torch.randn(4, 7, 5, dtype=torch.float64)
        kw = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, iso=0.5, iso_every=4)
        adamo([Ws], [G], *sa, batch_dims=1, **kw); adamo(sep, list(G), *sb, **kw)
    test_close(Ws, torch.stack(sep), eps=1e-12)


def _schema_1(sd):
    "An AdamO state_dict in schema 1: window options in every group (the amortised step of that schema)."
    sd = copy.deepcopy(sd)
    for g in sd["param_groups"]: g.pop("capturable"); g.update(iso_step="clipped", iso_spread=False, iso_stagger=True)
    for st in sd["state"].values():
        if "iso_count" in st: st["iso_v"] = torch.ones(2)
    return sd


def test_state_dicts_old_and_new_resume_bit_identically():
    torch.manual_seed(0); net = mlp(8, 3, width=16, depth=2); X, y = tiny_classification(64, 8, 3)
    def step(n, o): o.zero_grad(); F.cross_entropy(n(X), y).backward(); o.step()
    ref = copy.deepcopy(net); oref = AdamO(ref.parameters(), lr=1e-2, iso=0.02, iso_every=16)
    for _ in range(30): step(ref, oref)
    for convert in (lambda sd: sd, _schema_1):
        a = copy.deepcopy(net); oa = AdamO(a.parameters(), lr=1e-2, iso=0.02, iso_every=16)
        for _ in range(13): step(a, oa)
        buf = io.BytesIO(); torch.save(convert(oa.state_dict()), buf); buf.seek(0)
        b = copy.deepcopy(a); ob = AdamO(b.parameters()); ob.load_state_dict(torch.load(buf))
        for _ in range(17): step(b, ob)
        assert _same(ref.parameters(), b.parameters())


@pytest.mark.parametrize("edit, msg", [
    (lambda g: g.update(iso_step="flow"), "iso_step='flow'"),
    (lambda g: g.update(iso_step="clipped", iso_spread=True), "iso_spread=True"),
    (lambda g: g.update(iso_step="euler"), "iso_step='euler' with iso_every=16"),
    (lambda g: g.update(iso_every=0), "`iso_every` must be in [1, inf)"),
    (lambda g: g.update(iso_every=2.5), "`iso_every` must be an integer"),
    (lambda g: g.pop("iso"), "not an AdamO state_dict"),
])
def test_unsupported_states_are_refused(edit, msg):
    p = nn.Parameter(torch.randn(4, 3)); o = AdamO([p], iso_every=16); p.grad = torch.zeros_like(p); o.step()
    sd = copy.deepcopy(o.state_dict()); edit(sd["param_groups"][0]); before = copy.deepcopy(o.state_dict())
    with pytest.raises((ValueError, TypeError)) as e: o.load_state_dict(sd)
    assert msg in str(e.value)
    assert o.state_dict()["param_groups"] == before["param_groups"]


def test_adam_state_is_refused_not_adopted():
    p = nn.Parameter(torch.randn(4, 3))
    with pytest.raises(ValueError, match="not an AdamO state_dict"): AdamO([p]).load_state_dict(torch.optim.Adam([p]).state_dict())


def test_warns_once_outside_the_validated_range():
    p = nn.Parameter(torch.randn(4, 3)); k = AMORTISED_VALIDATED["iso_every_max"]
    o = AdamO([p], lr=1.0, iso=2 * AMORTISED_VALIDATED["kc_max"] / k, iso_every=k)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3): p.grad = torch.zeros_like(p); o.step()
    assert len(caught) == 1 and issubclass(caught[0].category, UserWarning)


@pytest.mark.parametrize("k", [1, 16])
def test_step_compiles_fullgraph(k):
    torch._dynamo.reset()
    torch.manual_seed(0); a = mlp(8, 3, width=16, depth=2); b = copy.deepcopy(a); X, y = tiny_classification(64, 8, 3)
    oa, ob = AdamO(a.parameters(), lr=1e-2, iso=0.01, iso_every=k), AdamO(b.parameters(), lr=1e-2, iso=0.01, iso_every=k)
    compiled = torch.compile(ob.step, fullgraph=True, backend="eager")
    for _ in range(2 * k):
        for n, st in ((a, oa.step), (b, compiled)):
            n.zero_grad(); F.cross_entropy(n(X), y).backward(); st()
    for p, q in zip(a.parameters(), b.parameters()): test_close(p, q, eps=1e-5)


def test_muono_routes_trains_and_resumes():
    torch.manual_seed(0); net = mlp(8, 3, width=16, depth=2); X, y = tiny_classification(64, 8, 3)
    o = make_optimizer("muono", net, 1e-2, iso=1e-2, iso_every=4)
    assert isinstance(o, MuonAdamW)
    assert [tuple(p.shape) for p in o.muon.param_groups[0]["params"]] == [(16, 8), (16, 16)]
    def run(n, m, o):
        losses = []
        for _ in range(n):
            loss = F.cross_entropy(m(X), y); o.zero_grad(); loss.backward(); o.step(); losses.append(loss.item())
        return losses
    ref = copy.deepcopy(net); oref = make_optimizer("muono", ref, 1e-2, iso=1e-2, iso_every=4); losses = run(20, ref, oref)
    assert losses[-1] < 0.8 * losses[0]
    a = copy.deepcopy(net); oa = make_optimizer("muono", a, 1e-2, iso=1e-2, iso_every=4); run(10, a, oa)
    b = copy.deepcopy(a); ob = make_optimizer("muono", b, 1e-2, iso=1e-2, iso_every=4); ob.load_state_dict(copy.deepcopy(oa.state_dict()))
    run(10, b, ob)
    assert _same(ref.parameters(), b.parameters())


def test_bad_arguments_name_themselves():
    p = [nn.Parameter(torch.randn(3, 3))]
    for kw, exc, msg in [(dict(iso_every=0), ValueError, "`iso_every`"), (dict(iso_every="x"), TypeError, "`iso_every`"),
                         (dict(capturable=1), TypeError, "`capturable`"), (dict(coupled=True, iso_every=4), ValueError, "`coupled`"),
                         (dict(foreach="yes"), TypeError, "`foreach`")]:
        with pytest.raises(exc, match=msg): AdamO(p, **kw)
    with pytest.raises(ValueError, match="AdamO with iso ≠ 0"): isometry_step(AdamO(p))
    with pytest.raises(ValueError, match="`C` must be in"): isometry_window_delta(p[0].detach(), -1.0)
