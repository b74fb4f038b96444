#!/usr/bin/env bash
# GPU check (issue 20): on a machine with an NVIDIA GPU, builds Kiln's addon against a CUDA
# libtorch, trains a GPT-2-124M-shaped model (12 layers, 12 heads, width 768, context 1024) in
# bf16 for a few dozen steps with Kiln and with the PyTorch on that machine (same model shape,
# initialisation scheme, data and batch order), and prints tokens/s, MFU and the losses of both.
#
#   bash scripts/gpu-check.sh [--steps N] [--batch N] [--peak-tflops X]
#
# Needs: nvidia-smi and a visible GPU; Node.js ≥ 20 (the GPU images have none: carry one, e.g.
# `xz -c "$(command -v node)" > .gpu/node.xz` here and `KILN_NODE_XZ=.gpu/node.xz` there) and
# Node's headers for node-gyp (/usr/include/node, or KILN_NODE_HEADERS=DIR); dist/ built here
# (`npx tsc -p tsconfig.json`) and node_modules/node-addon-api; python3 with a CUDA PyTorch,
# whose libtorch the addon is built against (or LIBTORCH=DIR).
# Then the Trainer itself on the GPU: `kiln pretrain --device cuda` in bf16 and in fp16 (loss
# scaling), that run resumed on the CPU, and `kiln generate --device cuda` against the CPU's tokens.
# Without a GPU it stops, before anything that needs one, with a line saying what is missing.
# KILN_GPU_CHECK_DEVICE=cpu runs step 6 alone on the CPU (its rehearsal).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[gpu-check] $*" >&2; }
stop() { say "$*"; exit 3; }
steps=40 batch=8 peak=989
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --peak-tflops) peak="$2"; shift 2 ;;
    *) stop "unknown argument $1 (use --steps N --batch N --peak-tflops X)" ;;
  esac
done

# 6. The Trainer on `dev`: pretraining in bf16 and fp16, resumed on the CPU, generation against the CPU's.
trainer_check() {
  local dev=$1 run=/tmp/kiln-gpu-run
  rm -rf "$run" "$run-fp16"
  local base=(--arch gpt --layers 4 --heads 4 --dim 256 --block-size 128 --batch-size 32 --eval-every 20 --log-every 10 --threads 4)
  node dist/src/cli/main.js pretrain "${base[@]}" --device "$dev" --precision bf16 --max-steps 40 --out "$run" >/tmp/kiln-gpu-run.log 2>&1 ||
    { tail -20 /tmp/kiln-gpu-run.log >&2; stop "kiln pretrain --device $dev --precision bf16 failed (log above)"; }
  say "trainer: pretrain --device $dev bf16: $(tail -1 "$run/metrics.jsonl")"
  node dist/src/cli/main.js pretrain "${base[@]}" --device "$dev" --precision fp16 --max-steps 20 --out "$run-fp16" >/tmp/kiln-gpu-fp16.log 2>&1 &&
    say "trainer: pretrain --device $dev fp16: $(grep -v val_loss "$run-fp16/metrics.jsonl" | tail -1)" ||
    say "trainer: fp16 on $dev: $(tail -1 /tmp/kiln-gpu-fp16.log)"
  # A run killed after a checkpoint on $dev, resumed on the CPU: the state saved on one device loads on the other.
  rm -rf "$run-moved"
  local small=(--arch gpt --layers 2 --heads 2 --dim 64 --block-size 64 --batch-size 8 --eval-every 10 --log-every 10 --threads 4 --max-steps 300)
  node dist/src/cli/main.js pretrain "${small[@]}" --device "$dev" --out "$run-moved" >/tmp/kiln-gpu-moved.log 2>&1 &
  local pid=$!
  until [ -f "$run-moved/state/state.json" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  node dist/src/cli/main.js pretrain "${small[@]}" --device cpu --resume --out "$run-moved" >/tmp/kiln-gpu-resume.log 2>&1 ||
    { tail -20 /tmp/kiln-gpu-resume.log >&2; stop "resuming the $dev run on the CPU failed (log above)"; }
  say "trainer: killed on $dev after a checkpoint, resumed on the CPU: $(grep -c . "$run-moved/metrics.jsonl") metrics lines, last $(tail -1 "$run-moved/metrics.jsonl")"
  local on_dev on_cpu
  on_dev=$(node dist/src/cli/main.js generate --model "$run/best" --prompt 'Call me' --max-new-tokens 40 --temperature 0 --device "$dev")
  on_cpu=$(node dist/src/cli/main.js generate --model "$run/best" --prompt 'Call me' --max-new-tokens 40 --temperature 0 --device cpu)
  [ "$on_dev" = "$on_cpu" ] && say "trainer: generate --device $dev = --device cpu (40 greedy tokens)" ||
    say "trainer: generate differs: $dev ${on_dev@Q} vs cpu ${on_cpu@Q}"
}
if [ "${KILN_GPU_CHECK_DEVICE:-}" = cpu ]; then trainer_check cpu; exit 0; fi

# 1. What does not need a GPU: Node, the compiled TypeScript, the addon's build inputs.
if [ -n "${KILN_NODE_XZ:-}" ] && ! command -v node >/dev/null; then
  mkdir -p /tmp/kiln-node/bin && xz -dc "$KILN_NODE_XZ" > /tmp/kiln-node/bin/node && chmod +x /tmp/kiln-node/bin/node
  export PATH="/tmp/kiln-node/bin:$PATH"
fi
command -v node >/dev/null || stop "Node.js is not on this machine: carry a node binary (KILN_NODE_XZ=path to an xz-compressed one)"
[ -f dist/bench/gpu-check.js ] || stop "dist/ is missing: build the TypeScript first (npx tsc -p tsconfig.json) and carry dist"
[ -d node_modules/node-addon-api ] || stop "node_modules/node-addon-api is missing: carry it (the addon's build reads its headers)"

# 2. The GPU.
command -v nvidia-smi >/dev/null || stop "no NVIDIA GPU here (nvidia-smi is not installed): this check needs one; nothing was built or run"
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
[ -n "$gpu" ] || stop "nvidia-smi lists no GPU: this check needs one; nothing was built or run"
say "GPU: $gpu"

# 3. A CUDA libtorch: LIBTORCH, else the one inside python3's PyTorch wheel.
if [ -z "${LIBTORCH:-}" ]; then
  LIBTORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null) || stop "python3 cannot import torch: set LIBTORCH to a CUDA libtorch"
fi
[ -f "$LIBTORCH/lib/libtorch_cuda.so" ] || stop "$LIBTORCH has no lib/libtorch_cuda.so: not a CUDA libtorch"
export LIBTORCH
say "building the addon against $LIBTORCH"
# Straight g++ (no node-gyp, which a lone node binary lacks): N-API needs only node_api.h and its three siblings.
headers=${KILN_NODE_HEADERS:-/usr/include/node}
[ -f "$headers/node_api.h" ] || stop "Node's N-API headers are not in $headers: carry node_api.h, node_api_types.h, js_native_api.h and js_native_api_types.h (KILN_NODE_HEADERS=DIR)"
includes=$(node native/libtorch.cjs include); defines=$(node native/libtorch.cjs defines)
mkdir -p native/build/Release
# shellcheck disable=SC2046,SC2086
g++ -shared -fPIC -O3 -std=c++17 -fexceptions -frtti -fno-math-errno -fno-trapping-math -ffp-contract=off -DNAPI_EXPERIMENTAL -DNODE_ADDON_API_DISABLE_DEPRECATED \
  $(for d in $defines; do printf -- '-D%s ' "$d"; done) $(node native/libtorch.cjs cflags) \
  -I"$headers" -I"$(node -p "require('node-addon-api').include_dir")" $(for d in $includes; do printf -- '-I%s ' "$d"; done) \
  native/src/*.cc -o native/build/Release/kiln.node $(node native/libtorch.cjs libs) >/tmp/kiln-gpu-build.log 2>&1 ||
  { tail -30 /tmp/kiln-gpu-build.log >&2; stop "the addon did not build against $LIBTORCH (log above)"; }
node --input-type=module -e "const k = await import('./dist/src/index.js'); const b = k.buildInfo(); console.error('[gpu-check] libtorch', b.torchVersion, 'cuda', b.cuda, 'visible', k.cudaAvailable()); if (!k.cudaAvailable()) process.exit(3);" || stop "the addon sees no CUDA device"

# 4. Engine, nn and optim on cuda: a tensor round trip, a matmul against the CPU, one AdamW step.
node --input-type=module -e "
const k = await import('./dist/src/index.js');
k.manualSeed(0);
const a = k.randn([256, 256]), b = k.randn([256, 256]);
const diff = a.cuda().matmul(b.cuda()).cpu().sub(a.matmul(b)).abs().max().item();
if (!(diff < 1e-3)) throw new Error('cuda matmul differs from the CPU by ' + diff);
console.error('[gpu-check] engine: cuda matmul within', diff, 'of the CPU');
"

# 5. Kiln, then PyTorch, on the same tokens.
common=(--steps "$steps" --batch "$batch" --peak-tflops "$peak")
node dist/bench/gpu-check.js --device cuda --tokens /tmp/kiln-gpu-tokens.bin "${common[@]}" | tail -1 > /tmp/kiln-gpu-kiln.json
python3 bench/gpu_check_torch.py --device cuda --tokens /tmp/kiln-gpu-tokens.bin "${common[@]}" | tail -1 > /tmp/kiln-gpu-torch.json
python3 - <<'PY'
import json
k = json.load(open('/tmp/kiln-gpu-kiln.json')); t = json.load(open('/tmp/kiln-gpu-torch.json'))
print(f"{'':8} {'tokens/s':>10} {'MFU':>6} {'first loss':>10} {'last loss':>10}")
for s in (k, t):
    print(f"{s['side']:8} {s['tokens_per_s']:10.0f} {100 * s['mfu']:5.1f}% {s['losses'][0]:10.4f} {s['losses'][-1]:10.4f}")
gap = max(abs(a - b) / b for a, b in zip(k['losses'][-10:], t['losses'][-10:]))
print(f"Kiln / PyTorch tokens/s: {k['tokens_per_s'] / t['tokens_per_s']:.2f}; largest loss gap over the last 10 steps: {100 * gap:.1f}%")
print(json.dumps({'kiln_tokens_per_s': k['tokens_per_s'], 'torch_tokens_per_s': t['tokens_per_s'], 'kiln_mfu': k['mfu'], 'torch_mfu': t['mfu'], 'loss_gap': gap, 'torch': t['torch']}))
PY

# 6. The Trainer on the GPU.
trainer_check cuda
