"""Bad input at the command lines: every case exits with status 2 and prints exactly one line naming the flag (or
the field) and what is allowed, with no traceback, before any training starts (table-driven). The RL entry point has
its own table in tests/test_rl.py."""
import contextlib, io, json, os, subprocess, sys, tempfile
import pytest

from isonb.continual.cli import main as isonb_main
from isonb.demo import main as demo_main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = tempfile.mkdtemp(prefix="isonb-cli-")
FILE = os.path.join(TMP, "a-file"); open(FILE, "w").close()
OUT = os.path.join(TMP, "cj")
RO = os.path.join(TMP, "read-only"); os.makedirs(RO); os.chmod(RO, 0o555)
EMPTY = os.path.join(TMP, "empty"); os.makedirs(EMPTY)
RUN = ["run", "--preset", "demo", "--results", os.path.join(TMP, "r")]
SWEEP = ["sweep", "--presets", "demo", "--recipes", "adam", "--results", os.path.join(TMP, "s")]
GOOD = json.dumps({"stream": {"kind": "random_label", "dataset": "mnist5k", "n_tasks": 1, "train_per_task": 32, "batch_size": 32},
                   "recipe": "adam", "width": 8, "depth": 1, "lr": 1e-3, "probe_size": 0, "device": "cpu"})

CASES = [  # (command line, text that the one line must contain)
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: cmd"),
    (["run"], "--preset is required"),
    (["run", "--preset", "imagenet"], "argument --preset: invalid choice: 'imagenet'"),
    (RUN + ["--recipe", "magic"], "argument --recipe: invalid choice: 'magic'"),
    (RUN + ["--recipe", "rl_adamo"], "preset 'demo' is for 'supervised' recipes, but recipe 'rl_adamo' uses trainer 'ppo'"),
    (["run", "--preset", "rl_smoke", "--recipe", "adam", "--results", os.path.join(TMP, "rl")], "preset 'rl_smoke' is for 'ppo' recipes"),
    (RUN + ["--seeds", "x"], "argument --seeds: invalid int value: 'x'"),
    (RUN + ["--seeds", "-1"], "--seeds: seeds must be integers in [0, 2**63 - 1], got -1"),
    (RUN + ["--seeds", str(2**64)], "--seeds: seeds must be integers in [0, 2**63 - 1]"),
    (RUN + ["--seeds", "2", "2"], "--seeds: 2 listed more than once"),
    (RUN + ["--set", "bogus=1"], "unknown override 'bogus'; valid keys:"),
    (RUN + ["--set", "seed=3"], "use the `seed` argument (--seeds on the command line)"),
    (RUN + ["--set", "method=adam"], "use the `recipe` argument"),
    (RUN + ["--set", "recipe=adam"], "use the `recipe` argument"),
    (RUN + ["--set", "stream.seed=1"], "use the `seed` argument"),
    (RUN + ["--set", "nokey"], "--set: expected key=value"),
    (RUN + ["--set", "lr=1e-3", "lr=2e-3"], "--set: lr given more than once"),
    (RUN + ["--set", "threads=0"], "`threads`"),
    (RUN + ["--set", "schema=1"], "`schema` cannot be overridden"),
    (RUN + ["--root", "/data"], "--root /data: the embedded mnist5k digits need no data root"),
    (RUN + ["--set", "stream.root=/data"], "need no data root"),
    (["run", "--preset", "cpu_permuted_fmnist", "--root", "/a", "--set", "stream.root=/b", "--results", os.path.join(TMP, "r3")],
     "--root /a and --set stream.root=/b disagree"),
    (RUN + ["--set", "lr=0"], "`lr` must be in (0, inf)"),
    (RUN + ["--set", "lr=-1e-3"], "`lr`"),
    (RUN + ["--set", "lr=abc"], "`lr` must be a real number"),
    (RUN + ["--set", "width=0"], "`width`"),
    (RUN + ["--set", "width=2.5"], "`width` must be an integer"),
    (RUN + ["--set", "depth=-1"], "`depth`"),
    (RUN + ["--set", "iso=1e-3"], "but recipe 'adam' uses 'adam'"),
    (RUN + ["--recipe", "adamo", "--set", "iso=-1"], "`iso`"),
    (RUN + ["--recipe", "adamo", "--set", 'opt_kw={"iso_every": 0}'], "`iso_every`"),
    (RUN + ["--set", 'method_kw={"cbp": {"rho": 0.1}}'], "has methods none"),
    (RUN + ["--set", "probes=[\"vibes\"]"], "`probes` must be one of"),
    (RUN + ["--set", "probe_size=-3"], "`probe_size`"),
    (RUN + ["--set", "device=tpu9"], "`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    (RUN + ["--set", "arch=resnet"], "`arch` must be one of"),
    (RUN + ["--set", "stream.kind=spiral"], "`kind` must be one of"),
    (RUN + ["--set", "stream.dataset=svhn"], "`dataset` must be one of"),
    (RUN + ["--set", "stream.n_tasks=0"], "`n_tasks`"),
    (RUN + ["--set", "stream.batch_size=0"], "`batch_size`"),
    (RUN + ["--set", "stream.train_per_task=6000"], "`train_per_task`=6000 exceeds"),
    (RUN + ["--set", "stream.batch_size=2048"], "batch_size"),
    (RUN + ["--set", "stream.input_range=wide"], "`input_range` must be one of"),
    (RUN + ["--set", "diverge_loss=0"], "`diverge_loss`"),
    (RUN + ["--set", "record_steps=1"], "`record_steps` must be True or False"),
    (["run", "--preset", "demo", "--results", FILE], "--results " + FILE + ": exists and is not a directory"),
    (["run", "--preset", "demo", "--results", os.path.join(FILE, "sub")], "not writable"),
    (["run", "--preset", "demo", "--out", os.path.join(TMP, "o"), "--seeds", "0", "1"], "--out names one run directory"),
    (["run", "--config-json", "{", "--out", OUT], "--config-json: not valid JSON"),
    (["run", "--config-json", '{"methd": 1}', "--out", OUT], "unknown config field(s) ['methd']"),
    (["run", "--config-json", '{"stream": {"n_task": 1}}', "--out", OUT], "['stream.n_task']"),
    (["run", "--config-json", '{"lr": -1}', "--out", OUT], "`lr`"),
    (["run", "--config-json", "[1, 2]", "--out", OUT], "a RunConfig must come from a dict"),
    (["run", "--config-json", GOOD, "--preset", "demo", "--out", OUT], "--config-json replaces --preset, --recipe, --seeds and --set; got --preset"),
    (["run", "--config-json", GOOD], "--config-json needs --out DIR"),
    (["run", "--config-json", '{"recipe": "rl_adamo", "stream": {"kind": "permuted"}}', "--out", OUT], "['stream.kind']"),
    (["run", "--preset", "cpu_permuted_fmnist", "--root", "/nonexistent/isonb-data", "--results", os.path.join(TMP, "r2")], "not found under `root`"),
    (SWEEP[:1], "the following arguments are required: --presets, --recipes"),
    (SWEEP + ["--seeds", "0", "0"], "--seeds: 0 listed more than once"),
    (SWEEP + ["--recipes", "adam", "adam"], "`recipes` lists adam more than once"),
    (SWEEP + ["--backend", "slurm"], "argument --backend: invalid choice: 'slurm'"),
    (SWEEP + ["--address", "auto"], "--address: only with --backend ray"),
    (SWEEP + ["--num-cpus", "2"], "--num-cpus: only with --backend ray"),
    (SWEEP + ["--gpus-per-run", "0.5"], "--gpus-per-run: only with --backend ray"),
    (SWEEP + ["--max-batch", "8"], "--max-batch: only with --backend batched"),
    (SWEEP + ["--backend", "ray", "--max-batch", "8"], "--max-batch: only with --backend batched"),
    (SWEEP[:2] + ["rl_cpu", "--recipes", "adam", "--results", os.path.join(TMP, "s2")], "no recipe of ['adam'] fits"),
    (SWEEP + ["--set", "width=x"], "`width` must be an integer"),
    (["sweep", "--presets", "demo", "--recipes", "adam", "--results", FILE], "exists and is not a directory"),
    (["plot"], "the following arguments are required: paths"),
    (["plot", "/nonexistent/isonb-runs"], "does not exist"),
    (["plot", EMPTY], "no finished runs under"),
    (["plot", EMPTY, "--last", "0"], "--last: must be a positive integer"),
    (["plot", EMPTY, "--diverged", "ignore"], "argument --diverged: invalid choice: 'ignore'"),
    (["migrate", "/nonexistent/isonb-runs"], "migrate: /nonexistent/isonb-runs does not exist"),
]
if os.geteuid() != 0: CASES.append((["run", "--preset", "demo", "--results", os.path.join(RO, "x")], "not writable"))
if not __import__("torch").cuda.is_available(): CASES.append((RUN + ["--set", "device=cuda"], "CUDA is not available"))

DEMO = [
    (["--recipes", "sgdx"], "argument --recipes: invalid choice: 'sgdx'"),
    (["--seed", "-3"], "--seed: must be a non-negative integer"),
    (["--seed", "x"], "argument --seed: invalid int value"),
    (["--recipes", "adam", "adam"], "--recipes: a recipe is listed twice"),
    (["--smoke", "--out", FILE], "exists and is not a directory"),
    (["--smoke", "--set", "width=0", "--out", os.path.join(TMP, "d1")], "`width`"),
    (["--smoke", "--set", "bogus=1", "--out", os.path.join(TMP, "d2")], "unknown override 'bogus'"),
    (["--smoke", "--set", "stream.dataset=mnist", "--out", os.path.join(TMP, "d3")], "`root` is required"),
    (["--smoke", "--set", "lr=1", "lr=2", "--out", os.path.join(TMP, "d4")], "--set: lr given more than once"),
    (["--bogus-flag"], "unrecognized arguments: --bogus-flag"),
]


def _one_line(fn, argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()): code = fn(argv)
    lines = err.getvalue().strip().splitlines()
    return code, lines, err.getvalue()


@pytest.mark.parametrize("argv, text", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_isonb_bad_input(argv, text):
    code, lines, raw = _one_line(isonb_main, argv)
    assert code == 2 and len(lines) == 1 and "Traceback" not in raw, raw
    assert text in lines[0], lines[0]


@pytest.mark.parametrize("argv, text", DEMO, ids=[" ".join(a) for a, _ in DEMO])
def test_demo_bad_input(argv, text):
    code, lines, raw = _one_line(demo_main, argv)
    assert code == 2 and len(lines) == 1 and "Traceback" not in raw, raw
    assert text in lines[0], lines[0]


def test_table_size():
    assert len(CASES) + len(DEMO) >= 60


@pytest.mark.parametrize("argv", [["isonb", "run", "--preset", "demo", "--set", "bogus=1"], ["isonb-demo", "--seed", "-1"]])
def test_console_scripts_exit_2_with_one_line(argv):
    exe = os.path.join(os.path.dirname(sys.executable), argv[0])
    r = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_debug_shows_the_traceback():
    code, lines, raw = _one_line(isonb_main, ["--debug"] + RUN + ["--set", "width=0"])
    assert code == 2 and "Traceback" in raw
