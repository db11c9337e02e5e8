"""isonb.stats against SciPy's reference implementations (skipped where SciPy is not installed): the IQM is SciPy's
25 % trimmed mean when 4 divides n, and the t-test p-values are SciPy's. The notebook 02a_stats holds the closed-form
tests; these compare with an independent implementation on many random inputs."""
import math, random
import pytest
import torch

from isonb.stats import iqm, t_test_p, paired_t_p, holm, stratified_bootstrap_ci

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("n", [4, 8, 12, 16, 40, 100])
def test_iqm_is_trim_mean_when_4_divides_n(n):
    g = torch.Generator().manual_seed(n)
    for _ in range(20):
        x = torch.randn(n, generator=g, dtype=torch.float64) * 3 + 1
        assert abs(iqm(x) - float(stats.trim_mean(x.numpy(), 0.25))) <= 1e-12 * (1 + abs(iqm(x)))


def test_iqm_differs_from_trim_mean_otherwise():
    x = [0.0, 1.0, 2.0, 10.0, 100.0]                     # trim_mean drops one value per end: 13/3; the IQM weights 0.3, 0.4, 0.3
    assert float(stats.trim_mean(x, 0.25)) == pytest.approx(13 / 3, rel=1e-12)
    assert iqm(x) == pytest.approx(4.1, rel=1e-12)


def test_iqm_keeps_float32_along_dim():
    x = torch.randn(3, 8, dtype=torch.float32)
    r = iqm(x, dim=1)
    assert r.dtype == torch.float32
    assert r.shape == (3,)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_t_test_p_matches_scipy(n):
    rng = random.Random(n)
    for _ in range(50):
        d = [rng.gauss(rng.uniform(-1, 1), rng.uniform(0.1, 2)) for _ in range(n)]
        ref = float(stats.ttest_1samp(d, 0.0).pvalue)
        assert abs(t_test_p(d) - ref) <= 1e-12, (d, t_test_p(d), ref)


def test_paired_t_p_matches_scipy_ttest_rel():
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(2, 12)
        a = [rng.gauss(0.8, 0.05) for _ in range(n)]
        b = [x - rng.gauss(0.02, 0.03) for x in a]
        assert abs(paired_t_p(a, b) - float(stats.ttest_rel(a, b).pvalue)) <= 1e-12


def test_holm_against_the_closed_testing_shortcut():
    # Holm's adjusted p-value of H_(k) is the largest Bonferroni p over the intersections that contain it among the
    # hypotheses not rejected before it; for m ≤ 6 enumerate that definition directly.
    import itertools
    rng = random.Random(1)
    for _ in range(200):
        m = rng.randint(1, 6)
        p = [rng.random() ** 3 for _ in range(m)]
        adj, _ = holm(p)
        for i in range(m):
            ref = max(min(1.0, len(S) * min(p[j] for j in S))
                      for r in range(1, m + 1) for S in itertools.combinations(range(m), r) if i in S)
            assert abs(adj[i] - ref) <= 1e-15, (p, i, adj[i], ref)


def test_bootstrap_interval_matches_a_plain_loop():
    # the vectorised resampling against a loop that draws the same indices one replicate at a time
    S = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ci = stratified_bootstrap_ci(S, "mean", level=0.9, reps=300, seed=7)
    g = torch.Generator().manual_seed(7)
    I = torch.randint(4, (300, 4, 3), generator=g)
    reps = sorted(float(sum(S[I[b, i, j], j] for i in range(4) for j in range(3)) / 12) for b in range(300))
    q = lambda p: reps[math.floor(299 * p)] + (299 * p - math.floor(299 * p)) * (reps[min(math.floor(299 * p) + 1, 299)] - reps[math.floor(299 * p)])
    assert ci["low"] == pytest.approx(q(0.05), abs=1e-14)
    assert ci["high"] == pytest.approx(q(0.95), abs=1e-14)
