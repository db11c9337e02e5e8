"""No file isonb reads runs code: crafted checkpoints and CIFAR batches are refused before anything they reference is
called; completion records cover their own fields."""
import io
import json
import os
import pickle
import random

import numpy as np
import pytest
import torch

from isonb.data import DataFileError, expected_files, load_dataset, write_cifar
from isonb.results import CheckpointError, ResultsError, load_checkpoint, read_json, save_checkpoint, sha256_bytes, write_json

MAGIC = b"ISONB-CHECKPOINT-1\n"


class Touch:
    "Unpickling this object creates the file `path` (a stand-in for any code a forged file could run)."
    def __init__(self, path): self.path = path
    def __reduce__(self): return (open, (self.path, "w"))


def _forge_checkpoint(path, payload: bytes):
    "A checkpoint with a valid header and a matching checksum over `payload`: what a forger can always write."
    with open(path, "wb") as f:
        f.write(MAGIC + sha256_bytes(payload).encode() + b"\n" + payload)


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("form", ["torch_zip", "raw_pickle"])
def test_forged_checkpoint_runs_no_code(tmp_path, form):
    marker, ck = tmp_path / "marker", tmp_path / "checkpoint.pt"
    evil = dict(model={"w": torch.ones(2)}, rng=Touch(str(marker)))
    _forge_checkpoint(ck, _torch_bytes(evil) if form == "torch_zip" else pickle.dumps(evil))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(str(ck))
    msg = str(e.value)
    assert not marker.exists(), "unpickling the forged checkpoint ran code"
    assert msg.startswith(f"checkpoint {ck}: refused"), msg
    assert "\n" not in msg, msg
    if form == "torch_zip":
        assert "io.open" in msg, msg                                             # names what the file asked for


def test_numpy_random_state_is_refused_at_save(tmp_path):
    "What a weights-only load would refuse is refused when saving, naming the offending type, and nothing is written."
    ck = tmp_path / "ck.pt"
    with pytest.raises(TypeError, match=r"`state` holds .*numpy\.ndarray"):
        save_checkpoint(str(ck), dict(numpy=np.random.get_state()))
    assert not ck.exists()


def _draws():
    "Draws from all four generators, including the cached second normal of NumPy's and Python's Box-Muller pairs."
    out = [torch.rand(3), np.random.rand(3), np.random.randn(1), [random.random(), random.gauss(0, 1)], torch.randn(2)]
    if torch.cuda.is_available():
        out.append(torch.rand(3, device="cuda").cpu())
    return out


def _same_draws(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor):
            assert torch.equal(x, y)
        else:
            assert np.array_equal(np.asarray(x), np.asarray(y))


def test_rng_state_round_trip(tmp_path):
    from isonb.results import rng_state, set_rng_state
    torch.manual_seed(1); np.random.seed(2); random.seed(3)
    np.random.randn(1); random.gauss(0, 1)                                      # leave a cached normal in both
    s = rng_state()
    assert s["numpy"]["has_gauss"] == 1
    assert s["python"]["gauss_next"] is not None
    first = _draws()
    set_rng_state(s)
    _same_draws(first, _draws())
    ck = tmp_path / "ck.pt"                                                     # through a weights-only checkpoint
    save_checkpoint(str(ck), dict(rng=s))
    torch.manual_seed(99); np.random.seed(99); random.seed(99)
    set_rng_state(load_checkpoint(str(ck))["rng"])
    _same_draws(first, _draws())
    set_rng_state(s)                                                            # NumPy's own view of its state is restored
    k0, key0, pos0, g0, c0 = np.random.get_state()
    assert np.array_equal(key0, s["numpy"]["key"].numpy().astype(np.uint32))
    assert (pos0, g0, c0) == (s["numpy"]["pos"], s["numpy"]["has_gauss"], s["numpy"]["cached_gaussian"])


def test_set_rng_state_rejects_incomplete_states():
    from isonb.results import rng_state, set_rng_state
    s = rng_state()
    before = torch.get_rng_state()
    with pytest.raises(ValueError, match="`state` lacks 'python'"):
        set_rng_state({k: v for k, v in s.items() if k != "python"})
    with pytest.raises(ValueError, match=r"`state\['numpy'\]\['key'\]` must hold 624"):
        set_rng_state({**s, "numpy": {**s["numpy"], "key": s["numpy"]["key"][:10]}})
    with pytest.raises(TypeError, match="`state` must be a dict"):
        set_rng_state([1, 2])
    assert torch.equal(torch.get_rng_state(), before)                          # checked before anything is restored


def test_runner_shaped_checkpoints_load_weights_only(tmp_path):
    "Every recipe's model, optimizer and method state, generator states and rows survive a weights-only load."
    from isonb.architectures import ARCHS
    from isonb.continual.methods import supervised_step
    from isonb.continual.recipes import RECIPES, build_recipe
    from isonb.results import rng_state
    x, y = torch.randn(8, 12), torch.randint(0, 3, (8,))
    for name, r in RECIPES.items():
        if r.arch not in ARCHS:                                                  # RL recipes: built by isonb.rl.continual
            continue
        torch.manual_seed(0)
        model, opt, method = build_recipe(name, 12, 3, width=8, depth=2, lr=1e-3)
        if method.needs_task_boundary:
            method.on_task_start(model, opt, 1)
        for _ in range(2):
            supervised_step(model, opt, method, x, y)
        state = dict(model=model.state_dict(), opt=opt.state_dict(), method=method.state_dict(), rng=rng_state(),
                     rows=[dict(task=0, loss=float("nan"), online_acc=0.5)], next_task=1, key="abc")
        ck = tmp_path / f"{name}.pt"
        save_checkpoint(str(ck), state)
        back = load_checkpoint(str(ck))
        assert torch.equal(back["rng"]["torch"], state["rng"]["torch"]), name
        groups = lambda sd: sd["param_groups"] if "param_groups" in sd else [g for part in sd.values() for g in part["param_groups"]]
        assert groups(back["opt"]) == groups(state["opt"]), name                      # MuonAdamW: one state per part
        assert repr(back["method"]) == repr(state["method"]), name
        assert all(torch.equal(back["model"][k], v) for k, v in state["model"].items()), name


def test_torch_optimizer_states_load_weights_only(tmp_path):
    "torch.optim state_dicts (momentum buffers, step counters, amsgrad maxima) pass the save-time scan and the load."
    lin = torch.nn.Linear(4, 3)
    opts = [torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9), torch.optim.Adam(lin.parameters(), amsgrad=True),
            torch.optim.AdamW(lin.parameters()), torch.optim.RMSprop(lin.parameters(), centered=True)]
    if hasattr(torch.optim, "Muon"):
        opts.append(torch.optim.Muon([lin.weight]))
    for opt in opts:
        lin(torch.randn(5, 4)).sum().backward()
        opt.step()
        ck = tmp_path / f"{type(opt).__name__}.pt"
        save_checkpoint(str(ck), dict(opt=opt.state_dict()))
        back = load_checkpoint(str(ck))["opt"]
        for k, v in opt.state_dict()["state"].items():
            for name, t in v.items():
                assert torch.equal(torch.as_tensor(back["state"][k][name]), torch.as_tensor(t)), (type(opt).__name__, name)


# ---------------------------------------------------------------- completion records

REC = dict(status="complete", reason=None, summary=dict(avg_online_acc=0.1 + 0.2, tasks=3), config=dict(lr=1e-3, seed=0),
           metrics_sha256="ab" * 32, seconds=float("nan"), tasks=3)


def _sealed_file(tmp_path):
    from isonb.results import seal_record
    p = tmp_path / "result.json"
    write_json(str(p), seal_record(REC))
    return p


def _edit(p, f):
    rec = json.loads(p.read_text())
    f(rec)
    p.write_text(json.dumps(rec, indent=1, sort_keys=True))


def test_sealed_record_reads_back(tmp_path):
    from isonb.results import verify_record
    p = _sealed_file(tmp_path)
    back = verify_record(read_json(str(p)), str(p))
    assert json.dumps(back, sort_keys=True) == json.dumps(REC, sort_keys=True)


EDITS = [
    ("status", lambda r: r.update(status="diverged"), "changed: status"),
    ("config.lr", lambda r: r["config"].update(lr=1e-2), "changed: config"),
    ("summary", lambda r: r["summary"].update(avg_online_acc=0.99), "changed: summary"),
    ("seconds", lambda r: r.update(seconds=1.0), "changed: seconds"),
    ("added", lambda r: r.update(note="fine"), "added: note"),
    ("deleted", lambda r: r.pop("reason"), "missing: reason"),
    ("two", lambda r: r.update(status="diverged", tasks=4), "changed: status, tasks"),
    ("unsealed", lambda r: r.pop("field_sha256"), "not sealed"),
    ("seal_edited", lambda r: r["field_sha256"].update(status="00" * 32), "changed: status"),
]


@pytest.mark.parametrize("case,edit,msg", EDITS, ids=[e[0] for e in EDITS])
def test_edited_record_names_the_field(tmp_path, case, edit, msg):
    from isonb.results import verify_record
    p = _sealed_file(tmp_path)
    _edit(p, edit)
    with pytest.raises(ResultsError) as e:
        verify_record(read_json(str(p)), str(p))
    assert str(e.value).startswith(f"{p}: "), str(e.value)
    assert msg in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_status_is_named(tmp_path):
    from isonb.results import RUN_STATUSES, check_status
    p = str(tmp_path / "result.json")
    for s in RUN_STATUSES:
        assert check_status(s, p) == s
    with pytest.raises(ResultsError, match=rf"{p}: unknown status 'finished' \(allowed: complete, diverged\)"):
        check_status("finished", p)
    assert check_status("stopped", p, allowed=("complete", "stopped")) == "stopped"


# ---------------------------------------------------------------- CIFAR batches

@pytest.mark.parametrize("where", ["whole_file", "inside_dict"])
def test_forged_cifar_batch_runs_no_code(tmp_path, where):
    marker = tmp_path / "marker"
    root = write_cifar(str(tmp_path / "root"), "cifar10", n_train=5, n_test=5)
    path = expected_files("cifar10", root)[2]
    obj = Touch(str(marker)) if where == "whole_file" else {b"data": Touch(str(marker)), b"labels": [0] * 5}
    with open(path, "wb") as f:
        pickle.dump(obj, f)
    with pytest.raises(DataFileError) as e:
        load_dataset("cifar10", root)
    msg = str(e.value)
    assert not marker.exists(), "unpickling the forged batch ran code"
    assert msg.startswith(f"{path}: refused"), msg
    assert "io.open" in msg, msg
    assert "\n" not in msg, msg


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_batches_of_every_pickle_protocol_load(tmp_path, protocol):
    "The official batches (Python 2, protocol 2: byte strings, lists, a uint8 array) and re-created ones all load."
    rng = np.random.default_rng(protocol)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [1, 2, 3, 4], b"data": data,
             b"filenames": [b"a.png", b"b.png", b"c.png", b"d.png"]}
    root = write_cifar(str(tmp_path), "cifar10", n_train=4, n_test=4)
    for p in expected_files("cifar10", root):
        with open(p, "wb") as f:
            pickle.dump(batch, f, protocol=protocol)
    X, y = load_dataset("cifar10", root, train=False)
    assert torch.equal(X.flatten(1), torch.from_numpy(data).float() / 255)
    assert y.tolist() == [1, 2, 3, 4]
    with open(expected_files("cifar10", root)[0], "wb") as f:                     # labels as an array of NumPy scalars
        pickle.dump({b"data": data, b"labels": np.array([1, 2, 3, 4], np.int64), b"extra": [np.int64(1), np.float32(2)]},
                    f, protocol=protocol)
    assert load_dataset("cifar10", root)[1][:4].tolist() == [1, 2, 3, 4]
