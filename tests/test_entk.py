"""Plain pytest tests of isonb.probes.entk and isonb.probes.spectra (the notebooks nbs/51_probes.entk.ipynb and
nbs/51a_probes.spectra.ipynb hold the derivations and more inline tests): the three methods agree in float64 on MLPs,
a CNN and mixed models; closed forms; `auto` falls back and says so; the NTK operator; spectrum helpers; bad input
(including NaN/inf inputs); and the benchmark script runs (--smoke)."""
import logging, math, os, subprocess, sys, warnings
import pytest
import torch
import torch.nn as nn

from isonb.layers import mlp, init_orthogonal_
from isonb.probes.entk import (entk, entk_operator, kernel_matrix, structured_plan, EntkFallbackWarning,
                               StructuredUnsupported)
from isonb.probes.spectra import entk_eigs, kernel_eigvals, kernel_cond, kernel_erank, kernel_spectrum
from isonb.testing import test_close as assert_close

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F64 = torch.float64


def _rel(a, b): return ((a - b).norm() / b.norm()).item()


def _x(*shape, seed=0): return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _check_all_modes(model, x, x2=None, methods=("structured", "ntvp"), **kw):
    ref = {m: entk(model, x, x2, mode=m, method="jacobian") for m in ("trace", "full", "layers")}
    assert_close(sum(ref["layers"].values()), ref["full"], eps=1e-12)
    assert_close(ref["full"].diagonal(dim1=2, dim2=3).sum(-1), ref["trace"], eps=1e-12)
    for meth in methods:
        for mode in ("trace", "full"):
            assert _rel(entk(model, x, x2, mode=mode, method=meth, **kw), ref[mode]) < 1e-8, (meth, mode)
        lay = entk(model, x, x2, mode="layers", method=meth, **kw)
        assert list(lay) == list(ref["layers"])
        for k in lay: assert (lay[k] - ref["layers"][k]).norm() <= 1e-8 * ref["layers"][k].norm(), (meth, k)


@pytest.mark.parametrize("act, bias", [("relu", True), ("relu", False), ("groupsort", True), ("groupsort", False)])
def test_mlp_methods_agree(act, bias):
    torch.manual_seed(0)
    net = mlp(5, 3, width=8, depth=2, act=act, group_size=4 if act == "groupsort" else 2, bias=bias, init="gaussian").to(F64)
    _check_all_modes(net, _x(6, 5))
    _check_all_modes(net, _x(6, 5), _x(4, 5, seed=1), chunk_size=4, methods=("structured",))


def test_cnn_methods_agree():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(),
                        nn.Flatten(), nn.Linear(16, 5)).to(F64)
    _check_all_modes(cnn, _x(4, 2, 6, 6))
    _check_all_modes(cnn, _x(3, 2, 6, 6), _x(2, 2, 6, 6, seed=1), methods=("structured",))


def test_structured_symmetric_blocks_large_n():
    torch.manual_seed(0)
    net, x = mlp(3, 2, width=4, depth=1).to(F64), _x(600, 3)                 # N > 512: block-triangle Grams
    assert _rel(entk(net, x, method="structured"), entk(net, x, method="jacobian")) < 1e-10
    assert _rel(entk(net, x[:300], x[300:], method="structured"), entk(net, x[:300], x[300:], method="jacobian")) < 1e-10


def test_mixed_model_auto_falls_back(caplog):
    torch.manual_seed(0)
    mixed = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 3)).to(F64)
    x = _x(5, 4)
    assert set(structured_plan(mixed)[1]) == {"1.weight", "1.bias"}
    with pytest.raises(StructuredUnsupported, match=r"'1.weight' \(LayerNorm\)"): entk(mixed, x, method="structured")
    info = {}
    with caplog.at_level(logging.INFO, logger="isonb.probes.entk"):
        with pytest.warns(EntkFallbackWarning, match="LayerNorm"): K = entk(mixed, x, mode="full", info=info)
    assert info["method"] == "jacobian" and "LayerNorm" in info["fallback_reason"]
    assert "method=jacobian (requested auto)" in caplog.text
    assert torch.equal(K, entk(mixed, x, mode="full", method="jacobian"))
    _check_all_modes(mixed, x, methods=("ntvp",))
    info = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # a supported model must not warn
        entk(mlp(4, 3, width=6, depth=1).to(F64), x, info=info)
    assert info["method"] == "structured"


def test_tied_weight_is_detected():
    class Tied(nn.Module):
        def __init__(self): super().__init__(); self.a = nn.Linear(4, 6)
        def forward(self, x): return torch.tanh(self.a(x)) @ self.a.weight
    m, x = Tied().to(F64), _x(5, 4)
    with pytest.raises(StructuredUnsupported, match="does not factor through"): entk(m, x, method="structured")
    with pytest.warns(EntkFallbackWarning): K = entk(m, x)
    assert torch.equal(K, entk(m, x, method="jacobian"))


@pytest.mark.parametrize("method", ["structured", "jacobian", "ntvp"])
def test_linear_model_closed_form(method):
    lin, x, x2 = nn.Linear(5, 3).to(F64), _x(7, 5), _x(4, 5, seed=1)
    eye = torch.eye(3, dtype=F64)
    assert_close(entk(lin, x, mode="full", method=method), torch.einsum("nm,op->nmop", x @ x.T + 1, eye), eps=1e-12)
    assert_close(entk(lin, x, x2, method=method, chunk_size=3), 3 * (x @ x2.T + 1), eps=1e-12)
    assert_close(entk(nn.Linear(5, 3, bias=False).to(F64), x, method=method), 3 * (x @ x.T), eps=1e-12)


def test_isometric_mlp_spreads_the_trace_evenly():
    """Orthogonal GroupSort MLP (width ≥ input dim): B_ℓB_ℓᵀ = I and ‖h_ℓ‖ = ‖x‖, so every layer's diagonal is O(‖x‖² + 1)."""
    torch.manual_seed(0)
    net, x = init_orthogonal_(mlp(6, 3, width=8, depth=3, act="groupsort", group_size=4).to(F64)), _x(5, 6)
    layers = entk(net, x, mode="layers", trace_layers=True)
    assert len(layers) == 4
    for K in layers.values(): assert_close(K.diagonal(), 3 * (x.pow(2).sum(1) + 1), eps=1e-12)


def test_operator_matches_dense_kernel():
    torch.manual_seed(0)
    net, x = mlp(6, 3, width=8, depth=2, act="tanh").to(F64), _x(5, 6)
    for mode in ("trace", "full"):
        mv, dim = entk_operator(net, x, mode)
        K = kernel_matrix(entk(net, x, mode=mode, method="jacobian"))
        v = _x(dim, seed=3)
        assert dim == len(K) and _rel(mv(v), K @ v) < 1e-10


def test_lanczos_matches_dense_spectrum():
    torch.manual_seed(0)
    net, x = mlp(6, 3, width=8, depth=2, act="groupsort").to(F64), _x(7, 6)
    for mode in ("trace", "full"):
        ev = kernel_eigvals(entk(net, x, mode=mode, method="jacobian"))
        r = entk_eigs(net, x, k=2, mode=mode)
        assert r.converged
        assert_close(r.largest, ev[:2], eps=1e-10)
        assert ((r.smallest - ev.flip(0)[:2]).abs() <= 1e-10 * ev[0]).all()


def test_spectrum_helpers_closed_forms():
    Q = torch.linalg.qr(_x(5, 5)).Q
    lam = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.0], dtype=F64)
    s = kernel_spectrum(Q @ torch.diag(lam) @ Q.T)
    assert s["n_below_floor"] == 1 and s["floor"] == 5 * torch.finfo(F64).eps
    assert_close(s["kappa"], 1 / s["floor"], eps=1e-6)
    assert_close(kernel_cond(lam[:4]), 8.0, eps=1e-12)
    assert_close(kernel_erank(torch.ones(4, dtype=F64)), 4.0, eps=1e-12)
    p = lam[:4] / lam.sum()
    assert_close(kernel_erank(lam), math.exp(-(p * p.log()).sum().item()), eps=1e-12)
    assert kernel_cond(torch.zeros(3)) == math.inf and kernel_erank(torch.zeros(3)) == 0.0


def test_bad_input():
    net, x = mlp(6, 3, width=8, depth=1).to(F64), _x(4, 6)
    with pytest.raises(ValueError, match="`mode` must be one of"): entk(net, x, mode="diag")
    with pytest.raises(ValueError, match="`method` must be one of"): entk(net, x, method="fast")
    with pytest.raises(ValueError, match="`x2` must have the per-example shape"): entk(net, x, _x(3, 5))
    with pytest.raises(TypeError, match="`x` has dtype torch.float32"): entk(net, x.float())
    with pytest.raises(ValueError, match="`chunk_size`"): entk(net, x, chunk_size=0)
    with pytest.raises(TypeError, match="`model` must be an nn.Module"): entk(lambda z: z, x)
    xnan, xinf = x.clone(), x.clone()
    xnan[1, 2], xinf[0, 0] = float("nan"), float("-inf")
    for method in ("auto", "structured", "jacobian", "ntvp"):
        with pytest.raises(ValueError, match=r"`x` contains NaN or inf \(1 of 24 entries\)"): entk(net, xnan, method=method)
    with pytest.raises(ValueError, match="`x2` contains NaN or inf"): entk(net, x, xinf)
    with pytest.raises(ValueError, match="`x` contains NaN or inf"): entk_eigs(net, xinf)
    bn = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)).to(F64)
    with pytest.raises(ValueError, match=r"train mode.*Call model.eval\(\)"): entk(bn, x)
    bn.eval()
    with pytest.warns(EntkFallbackWarning, match="BatchNorm1d"): entk(bn, x)      # eval mode: fine (affine -> jacobian)


def test_benchmark_smoke():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "entk.py"), "--smoke"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "ratio jacobian/structured: time" in r.stdout and "structured / floor time ratio" in r.stdout, r.stdout
