"""Package-level tests (plain pytest). The notebooks hold the detailed inline tests; these check the installed
package as a user imports it, the acceptance properties of the foundation, and the command-line entry point."""
import copy, io, os, subprocess, sys
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import isonb
from isonb.core import check_number
from isonb.layers import GroupSort, MaxMin, bjorck, mlp, OrthoLinear
from isonb.adamo import AdamO
from isonb.regularizers import isometry_penalty, isometry_grad, iso_param_groups, split_iso_params
from isonb.testing import test_close, with_singular_values, tiny_classification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_version_and_modules():
    import importlib
    assert isonb.__version__ == "0.1.0"
    for m in ("core", "testing", "results", "stats", "data", "args", "layers", "transformer", "architectures", "regularizers",
              "adamo", "optimizers", "demo", "continual.methods", "continual.resets", "continual.recipes", "continual.runner",
              "continual.sweeps", "continual.ray", "continual.batched", "continual.analysis", "continual.cli", "probes.entk",
              "probes.spectra", "rl.envs", "rl.ppo", "rl.continual"):
        importlib.import_module(f"isonb.{m}")


def _train(opt_fn, steps=100, dtype=torch.float32):
    torch.manual_seed(0)
    net = mlp(8, 3, width=16, depth=2).to(dtype)
    X, y = tiny_classification(64, 8, 3, dtype=dtype)
    opt = opt_fn(net)
    for t in range(steps):
        idx = torch.arange(t * 16, t * 16 + 16) % 64
        opt.zero_grad(); F.cross_entropy(net(X[idx]), y[idx]).backward(); opt.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adamo_iso0_is_adam_bit_exact(foreach, wd):
    ref_cls = torch.optim.AdamW if wd else torch.optim.Adam
    ref = _train(lambda n: ref_cls(n.parameters(), lr=1e-2, weight_decay=wd, foreach=foreach))
    got = _train(lambda n: AdamO(n.parameters(), lr=1e-2, weight_decay=wd, iso=0.0, foreach=foreach))
    assert all(torch.equal(a, b) for a, b in zip(ref, got))


def test_adamo_foreach_matches_single_float64():
    a = _train(lambda n: AdamO(n.parameters(), lr=1e-2, iso=0.05, foreach=False), dtype=torch.float64)
    b = _train(lambda n: AdamO(n.parameters(), lr=1e-2, iso=0.05, foreach=True), dtype=torch.float64)
    for x, y in zip(a, b): test_close(x, y, eps=1e-12)


@pytest.mark.parametrize("shape", [(12, 5), (5, 12), (6, 6), (8, 3, 3, 3)])
def test_isometry_grad_matches_autograd(shape):
    W = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(isometry_penalty(W), W)
    test_close(isometry_grad(W.detach()), g, eps=1e-10)


def test_one_adamo_step_is_eq20():
    W0, G = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    W = nn.Parameter(W0.clone()); W.grad = G.clone()
    AdamO([W], lr=1e-2, iso=0.3, iso_lr=0.05).step()
    r = 4 * W0 @ (W0.T @ W0 - torch.eye(3, dtype=torch.float64))
    test_close(W.detach(), W0 - 1e-2 * G / (G.abs() + 1e-8) - 0.05 * 0.3 * r, eps=1e-12)


def test_state_dict_roundtrip_continues_identically():
    torch.manual_seed(0); net = mlp(8, 3, width=16, depth=2); X, y = tiny_classification(64, 8, 3)
    def step(n, o): o.zero_grad(); F.cross_entropy(n(X), y).backward(); o.step()
    ref = copy.deepcopy(net); oref = AdamO(iso_param_groups(ref), lr=1e-2, iso=0.1, iso_every=4)
    for _ in range(40): step(ref, oref)
    a = copy.deepcopy(net); oa = AdamO(iso_param_groups(a), lr=1e-2, iso=0.1, iso_every=4)
    for _ in range(25): step(a, oa)
    buf = io.BytesIO(); torch.save({"m": a.state_dict(), "o": oa.state_dict()}, buf); buf.seek(0); ck = torch.load(buf)
    b = copy.deepcopy(net); b.load_state_dict(ck["m"]); ob = AdamO(iso_param_groups(b)); ob.load_state_dict(ck["o"])
    for _ in range(15): step(b, ob)
    assert all(torch.equal(p, q) for p, q in zip(ref.parameters(), b.parameters()))


def test_groupsort_is_sorted_permutation_and_norm_preserving():
    x = torch.randn(32, 24, dtype=torch.float64)
    for g in (2, 3, 4, 6, 24):
        y = GroupSort(g)(x)
        assert torch.equal(y.view(32, -1, g), x.view(32, -1, g).sort(-1, descending=True).values)
        test_close(y.norm(dim=1), x.norm(dim=1))
    assert torch.equal(MaxMin()(x), GroupSort(2)(x))


def test_bjorck_singular_values_within_1e4():
    for shape in [(64, 32), (32, 64), (48, 48)]:
        s = torch.linalg.svdvals(bjorck(torch.randn(*shape, dtype=torch.float64), iters=30))
        assert ((s - 1).abs() <= 1e-4).all()
    lin = OrthoLinear(10, 20).double()
    s = torch.linalg.svdvals(lin.weight)
    assert ((s - 1).abs() <= 1e-4).all()


def test_split_is_exhaustive():
    net = mlp(10, 3, width=8, depth=3, norm="layernorm")
    iso, rest = split_iso_params(net)
    assert len(iso) + len(rest) == len(list(net.parameters())) and not set(iso) & set(rest)


@pytest.mark.parametrize("kw, msg", [
    (dict(lr=-1.0), "`lr`"), (dict(iso=-1.0), "`iso`"), (dict(eps=-1.0), "`eps`"),
    (dict(betas=(0.9, 1.0)), "`betas[1]`"), (dict(iso_lr=-0.1), "`iso_lr`"), (dict(weight_decay=-1.0), "`weight_decay`"),
])
def test_adamo_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        AdamO([nn.Parameter(torch.randn(2, 2))], **kw)


def test_bad_input_elsewhere():
    with pytest.raises(ValueError, match="`group_size`=4 must divide"): GroupSort(4)(torch.randn(2, 6))
    with pytest.raises(ValueError, match="`act` must be one of"): mlp(3, 2, act="swish")
    with pytest.raises(TypeError, match="floating point"): AdamO([torch.zeros(2, dtype=torch.long)])
    with pytest.raises(TypeError, match="`seed`"): check_number("seed", "0", integer=True)
    from isonb.data import load_images
    with pytest.raises(ValueError, match="`dataset` must be one of"): load_images("svhn")
    with pytest.raises(FileNotFoundError, match="FashionMNIST/raw/train-images-idx3-ubyte"): load_images("fashion_mnist", root="/nonexistent")


def test_demo_cli_smoke(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "isonb.demo", "--smoke", "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "adamo_every_step" in r.stdout and "last 5" in r.stdout
    for f in ("demo.csv", "summary.csv", "demo.png"): assert (out / f).stat().st_size > 0
    rows = (out / "demo.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4 * 3
    for rec in ("adam", "adamo_paper", "adamo", "adamo_every_step"): assert (out / "runs" / rec / "result.json").exists()


def test_demo_cli_bad_dataset():
    r = subprocess.run([sys.executable, "-m", "isonb.demo", "--smoke", "--set", "stream.dataset=mnist", "--out", "/tmp/isonb-demo-x"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "`root` is required" in r.stderr and len(r.stderr.strip().splitlines()) == 1


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian package dataset-fashion-mnist not installed")
def test_demo_images_from_real_fashion_mnist(tmp_path):
    """The --dataset/--root path on the full Fashion-MNIST training set (60,000 images), laid out as torchvision expects."""
    import gzip, shutil
    raw = tmp_path / "FashionMNIST" / "raw"; raw.mkdir(parents=True)
    for f in os.listdir(FASHION):
        with gzip.open(os.path.join(FASHION, f)) as src, open(raw / f[:-3], "wb") as dst: shutil.copyfileobj(src, dst)
    from isonb.data import load_images
    X = load_images("fashion_mnist", n=60000, root=str(tmp_path))
    assert X.shape == (60000, 784) and X.dtype == torch.float32 and 0 <= X.min() and X.max() == 1
    with pytest.raises(ValueError, match="exceeds the 60000 available"): load_images("fashion_mnist", n=60001, root=str(tmp_path))
