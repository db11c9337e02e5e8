"""Damaged dataset files fail at load time with a one-line `DataFileError` that names the file; bad arguments are named;
the first-use unpack is safe to run concurrently (no network)."""
import gzip
import os
import pickle

import numpy as np
import pytest
import torch

from isonb.data import (DataFileError, debian_fashion_mnist, expected_files, flatten_images, idx_bytes, load_dataset,
                        load_images, read_idx, take, write_cifar, write_mnist)

RNG = np.random.default_rng(0)
IMGS = RNG.integers(0, 256, (30, 28, 28), dtype=np.uint8)
LABS = RNG.integers(0, 10, 30, dtype=np.uint8)


def _expect(root, name, path, msg, train=True):
    "load_dataset fails with a DataFileError whose single-line message is `path: ...msg...`."
    with pytest.raises(DataFileError) as e:
        load_dataset(name, str(root), train=train)
    text = str(e.value)
    assert isinstance(e.value, ValueError)
    assert "\n" not in text, text
    assert text.startswith(f"{path}: "), text
    assert msg in text, text
    return text


def _idx_root(tmp_path, i, content, gz=False, name="mnist"):
    "A fixture root whose i-th IDX file (0 train images, 1 train labels, 2 test images, 3 test labels) is `content`."
    write_mnist(str(tmp_path), name, n_train=30, n_test=30, gz=gz)
    path = expected_files(name, str(tmp_path))[i] + (".gz" if gz else "")
    with open(path, "wb") as f:
        f.write(gzip.compress(content) if gz else content)
    return path


IMAGE_CASES = [
    ("empty", b"", "truncated: the {what} has 0 bytes, fewer than the 4-byte IDX magic number"),
    ("header_cut", idx_bytes(IMGS)[:9], "truncated: the {what} has 9 bytes, fewer than the 16-byte IDX header"),
    ("truncated", idx_bytes(IMGS)[:1000],
     "truncated: header says 30×28×28 images (23520 bytes after the 16-byte header), the {what} has 984 bytes after it"),
    ("garbage", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not an IDX images file: magic number"),
    ("labels_instead", idx_bytes(LABS), "magic number 2049 (0x00000801), that of IDX labels, expected 2051 (0x00000803)"),
    ("trailing", idx_bytes(IMGS) + b"\0" * 100, "100 bytes of trailing data after the 30×28×28 images"),
    ("wrong_size", idx_bytes(RNG.integers(0, 256, (30, 32, 32), dtype=np.uint8)), "images are 32×32, expected 28×28"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("case,content,msg", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_damaged_idx_images(tmp_path, case, content, msg, gz, train):
    path = _idx_root(tmp_path, 0 if train else 2, content, gz)
    _expect(tmp_path, "mnist", path, msg.format(what="decompressed file" if gz else "file"), train=train)


LABEL_CASES = [
    ("truncated", idx_bytes(LABS)[:20], "truncated: header says 30 labels (30 bytes after the 8-byte header)"),
    ("images_instead", idx_bytes(IMGS), "not an IDX labels file: magic number 2051 (0x00000803), that of IDX images"),
    ("too_few", idx_bytes(LABS[:29]), "29 labels for the 30 images of"),
    ("too_many", idx_bytes(np.concatenate([LABS, LABS])), "60 labels for the 30 images of"),
    ("out_of_range", idx_bytes(np.where(np.arange(30) == 7, 10, LABS).astype(np.uint8)),
     "1 of 30 labels outside 0..9 (first: 10 at index 7)"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("case,content,msg", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_damaged_idx_labels(tmp_path, case, content, msg, gz):
    path = _idx_root(tmp_path, 1, content, gz, name="fashion_mnist")
    _expect(tmp_path, "fashion_mnist", path, msg)


@pytest.mark.parametrize("cut", [0, 10, 0.5, -1])
def test_damaged_gzip_stream(tmp_path, cut):
    write_mnist(str(tmp_path), gz=True)
    path = expected_files("mnist", str(tmp_path))[0] + ".gz"
    data = open(path, "rb").read()
    n = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    with open(path, "wb") as f:
        f.write(data[:n])
    _expect(tmp_path, "mnist", path, "not a valid gzip file")


def test_gzip_of_garbage(tmp_path):
    write_mnist(str(tmp_path), gz=True)
    path = expected_files("mnist", str(tmp_path))[3] + ".gz"
    with open(path, "wb") as f:
        f.write(b"this is not gzip")
    _expect(tmp_path, "mnist", path, "not a valid gzip file", train=False)


def test_raw_and_gz_read_the_same(tmp_path):
    a, b = write_mnist(str(tmp_path / "a"), seed=3), write_mnist(str(tmp_path / "b"), seed=3, gz=True)
    for train in (True, False):
        (Xa, ya), (Xb, yb) = load_dataset("mnist", a, train), load_dataset("mnist", b, train)
        assert torch.equal(Xa, Xb) and torch.equal(ya, yb) and Xa.shape[1:] == (1, 28, 28)


def test_read_idx_checks_kind(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(idx_bytes(IMGS))
    assert read_idx(str(p), "images").shape == (30, 28, 28)
    with pytest.raises(DataFileError, match="not an IDX labels file"):
        read_idx(str(p), "labels")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        read_idx(str(p), "pixels")


def _cifar_root(tmp_path, name, i, content):
    write_cifar(str(tmp_path), name, n_train=30, n_test=30)
    path = expected_files(name, str(tmp_path))[i]
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else pickle.dumps(content))
    return path


GOOD = pickle.dumps({b"data": np.zeros((30, 3072), np.uint8), b"labels": [0] * 30})
CIFAR_CASES = [
    ("empty", b"", "not a readable CIFAR batch: unpickling failed (EOFError"),
    ("truncated", GOOD[: len(GOOD) // 2], "not a readable CIFAR batch: unpickling failed"),
    ("garbage", bytes(range(256)) * 8, "not a readable CIFAR batch: unpickling failed"),
    ("text", b"data_batch_1 placeholder\n", "not a readable CIFAR batch: unpickling failed"),
    ("not_dict", [1, 2, 3], "a CIFAR batch must be a dict, got list"),
    ("no_data", {b"labels": [0] * 30}, "missing key 'data' (keys: labels)"),
    ("no_labels", {b"data": np.zeros((30, 3072), np.uint8)}, "missing key 'labels' (keys: data)"),
    ("fine_labels_only", {b"data": np.zeros((30, 3072), np.uint8), b"fine_labels": [0] * 30}, "missing key 'labels'"),
    ("image_shape", {b"data": np.zeros((30, 3, 32, 32), np.uint8), b"labels": [0] * 30}, "`data` must have shape (N, 3072)"),
    ("short_rows", {b"data": np.zeros((30, 1024), np.uint8), b"labels": [0] * 30}, "got (30, 1024)"),
    ("float_pixels", {b"data": np.full((30, 3072), 0.5), b"labels": [0] * 30}, "`data` must hold pixel values 0..255"),
    ("big_pixels", {b"data": np.full((30, 3072), 300), b"labels": [0] * 30}, "`data` must hold pixel values 0..255"),
    ("few_labels", {b"data": np.zeros((30, 3072), np.uint8), b"labels": [0] * 29}, "29 labels for the 30 images"),
    ("many_labels", {b"data": np.zeros((30, 3072), np.uint8), b"labels": [0] * 31}, "31 labels for the 30 images"),
    ("label_10", {b"data": np.zeros((30, 3072), np.uint8), b"labels": [0] * 5 + [10] + [0] * 24},
     "1 of 30 labels outside 0..9 (first: 10 at index 5)"),
    ("label_neg", {b"data": np.zeros((30, 3072), np.uint8), b"labels": [-1] * 30}, "30 of 30 labels outside 0..9"),
    ("label_str", {b"data": np.zeros((30, 3072), np.uint8), b"labels": ["cat"] * 30}, "`labels` must be a sequence of integers"),
]


@pytest.mark.parametrize("case,content,msg", CIFAR_CASES, ids=[c[0] for c in CIFAR_CASES])
@pytest.mark.parametrize("i,train", [(0, True), (4, True), (5, False)], ids=["batch1", "batch5", "test"])
def test_damaged_cifar10(tmp_path, case, content, msg, i, train):
    path = _cifar_root(tmp_path, "cifar10", i, content)
    _expect(tmp_path, "cifar10", path, msg, train=train)


def test_damaged_cifar100(tmp_path):
    ok = {b"data": np.zeros((30, 3072), np.uint8), b"fine_labels": list(range(30)), b"coarse_labels": [0] * 30}
    path = _cifar_root(tmp_path, "cifar100", 0, {**ok, b"fine_labels": [99] * 29 + [100]})
    _expect(tmp_path, "cifar100", path, "1 of 30 fine_labels outside 0..99 (first: 100 at index 29)")
    path = _cifar_root(tmp_path, "cifar100", 1, {b"data": ok[b"data"], b"labels": [0] * 30})
    _expect(tmp_path, "cifar100", path, "missing key 'fine_labels'", train=False)
    _cifar_root(tmp_path, "cifar100", 0, ok)
    X, y = load_dataset("cifar100", str(tmp_path))
    assert X.shape == (30, 3, 32, 32) and y.tolist() == list(range(30))


def test_cifar_str_keys_accepted(tmp_path):
    "A re-created batch pickled with str keys (Python 3) reads like the official bytes-keyed one."
    _cifar_root(tmp_path, "cifar10", 0, {"data": np.full((30, 3072), 255, np.uint8), "labels": [3] * 30})
    X, y = load_dataset("cifar10", str(tmp_path))
    assert X.shape == (150, 3, 32, 32) and (X[:30] == 1).all() and (y[:30] == 3).all()


def test_debian_unpack_names_the_damaged_source(tmp_path):
    src = os.path.join(write_mnist(str(tmp_path / "pkg"), "fashion_mnist", gz=True), "FashionMNIST", "raw")
    bad = os.path.join(src, "t10k-images-idx3-ubyte.gz")
    data = open(bad, "rb").read()
    with open(bad, "wb") as f:
        f.write(data[: len(data) // 2])
    dest = str(tmp_path / "dest")
    with pytest.raises(DataFileError) as e:
        debian_fashion_mnist(dest, src=src)
    assert str(e.value).startswith(f"{bad}: cannot be decompressed")
    raw = os.path.join(dest, "FashionMNIST", "raw")
    assert sorted(os.listdir(raw)) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]   # the good ones whole, no temp file


def _unpack_each(dests, src, barrier, q):
    "In a child process: for each fresh `dest`, wait for the other children, then unpack into it; report each outcome."
    out = []
    for d in dests:
        barrier.wait(timeout=60)
        try:
            debian_fashion_mnist(d, src=src)
            out.append(None)
        except Exception as e:                                          # reported to the parent, which fails the test
            out.append(f"{type(e).__name__}: {e}")
    q.put(out)


def test_concurrent_first_use_of_debian_unpack(tmp_path):
    "Three processes unpacking into the same fresh directory at once all succeed, and leave exactly the four files."
    import multiprocessing as mp
    src = os.path.join(write_mnist(str(tmp_path / "pkg"), "fashion_mnist", n_train=2000, n_test=500, gz=True),
                       "FashionMNIST", "raw")                           # the package's layout: the four .gz files
    dests = [str(tmp_path / f"home{i}") for i in range(6)]
    ctx = mp.get_context("fork")
    barrier, q = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_unpack_each, args=(dests, src, barrier, q)) for _ in range(3)]
    for p in procs:
        p.start()
    outcomes = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [e for o in outcomes for e in o if e]
    assert not errors, f"{len(errors)} of {3 * len(dests)} unpacks failed: {errors[:3]}"
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for d in dests:
        raw = os.path.join(d, "FashionMNIST", "raw")
        assert sorted(os.listdir(raw)) == sorted(names)                 # no temporary file left behind
        for f in names:
            with open(os.path.join(raw, f), "rb") as a, gzip.open(os.path.join(src, f + ".gz")) as b:
                assert a.read() == b.read(), f
        X, y = load_dataset("fashion_mnist", d)
        assert X.shape == (2000, 1, 28, 28)


def test_debian_unpack_bad_arguments(tmp_path):
    src = os.path.join(write_mnist(str(tmp_path / "pkg"), "fashion_mnist", gz=True), "FashionMNIST", "raw")
    os.remove(os.path.join(src, "t10k-labels-idx1-ubyte.gz"))
    with pytest.raises(FileNotFoundError, match=r"`src`=.* lacks t10k-labels-idx1-ubyte\.gz"):
        debian_fashion_mnist(str(tmp_path / "a"), src=src)
    with pytest.raises(FileNotFoundError, match=r"`src`=.* not found"):
        debian_fashion_mnist(str(tmp_path / "a"), src=str(tmp_path / "nowhere"))
    (tmp_path / "afile").write_text("x")
    write_mnist(str(tmp_path / "pkg2"), "fashion_mnist", gz=True)
    with pytest.raises(NotADirectoryError, match=r"`dest`=.*afile.*cannot hold"):
        debian_fashion_mnist(str(tmp_path / "afile"), src=os.path.join(str(tmp_path / "pkg2"), "FashionMNIST", "raw"))


BAD_ARGS = [                                    # (call, exception type, text the message must hold)
    (lambda r: load_dataset("cifar10", r, train="test"), TypeError, "`train` must be True or False, got 'test'"),
    (lambda r: load_dataset("cifar10", r, download="no"), TypeError, "`download` must be True or False, got 'no'"),
    (lambda r: load_dataset("cifar10", 3), TypeError, "`root` must be a path"),
    (lambda r: expected_files("mnist", None), TypeError, "`root` must be a path"),
    (lambda r: write_cifar(r, n_train=0), ValueError, "`n_train` must be in [1, inf)"),
    (lambda r: write_cifar(r, n_test=-1), ValueError, "`n_test` must be in [1, inf)"),
    (lambda r: write_cifar(r, seed=-1), ValueError, "`seed` must be in [0, inf)"),
    (lambda r: write_mnist(r, n_test=2.5), TypeError, "`n_test` must be an integer"),
    (lambda r: write_mnist(r, gz="yes"), TypeError, "`gz` must be True or False, got 'yes'"),
    (lambda r: load_images("mnist5k", 5, seed="x"), TypeError, "`seed` must be an integer"),
    (lambda r: take(torch.zeros(5, 2), torch.zeros(4), 2, torch.Generator()), ValueError, "`X` has 5 examples, `y` has 4"),
    (lambda r: take(torch.zeros(5, 2), torch.zeros(6), 2, torch.Generator()), ValueError, "`X` has 5 examples, `y` has 6"),
    (lambda r: take(torch.zeros(5, 2), torch.zeros(5), 2, 0), TypeError, "`generator` must be a torch.Generator, got int"),
    (lambda r: take([[1]] * 5, torch.zeros(5), 2, torch.Generator()), TypeError, "`X` must be a tensor, got list"),
    (lambda r: flatten_images(torch.zeros(5)), ValueError, "`X` must have shape (N, ...) with at least 2 dims, got (5,)"),
]


@pytest.mark.parametrize("i", range(len(BAD_ARGS)))
def test_bad_arguments_are_named(tmp_path, i):
    call, exc, msg = BAD_ARGS[i]
    root = write_cifar(str(tmp_path / "c"), n_train=3, n_test=3)
    with pytest.raises(exc) as e:
        call(root)
    assert msg in str(e.value), str(e.value)
