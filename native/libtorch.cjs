// Prints the compiler and linker flags for the libtorch that Kiln builds against, for binding.gyp.
// LIBTORCH=/path/to/libtorch (an official download, CUDA builds included) wins; otherwise
// Debian's libtorch-dev under /usr is used.
'use strict';
const fs = require('fs');
const path = require('path');

function findLibtorch() {
  const fromEnv = process.env.LIBTORCH;
  if (fromEnv) {
    if (!fs.existsSync(path.join(fromEnv, 'include', 'torch'))) {
      throw new Error(`LIBTORCH=${fromEnv} has no include/torch; point it at an unpacked libtorch folder`);
    }
    return { root: fromEnv, include: path.join(fromEnv, 'include'), lib: path.join(fromEnv, 'lib'), system: false };
  }
  return { root: '/usr', include: '/usr/include', lib: '/usr/lib/x86_64-linux-gnu', system: true };
}

// libtorch records the libstdc++ ABI it was built with; the addon must use the same one.
function cxxAbi(lt) {
  const candidates = [
    path.join(lt.root, 'share/cmake/Torch/TorchConfig.cmake'),
    path.join(lt.lib, 'cmake/Torch/TorchConfig.cmake'),
  ];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(fs.readFileSync(file, 'utf8'));
    if (m) return m[1];
  }
  return '1';
}

// at::parallel_for is a header template; in a libtorch built on OpenMP it is a `#pragma omp
// parallel`, which a file compiled without -fopenmp runs on one thread. The addon's own kernels
// (fused_ops.cc, optim_ops.cc) need it; libgomp is the one libtorch itself loads.
function usesOpenMp(lt) {
  const config = path.join(lt.include, 'ATen/Config.h');
  return fs.existsSync(config) && /#define AT_PARALLEL_OPENMP 1/.test(fs.readFileSync(config, 'utf8'));
}

// NCCL is compiled in only when the libtorch has CUDA (libtorch_cuda), ships c10d's NCCL
// process group, and NCCL's and CUDA's headers can be found (official libtorch downloads link
// NCCL in but do not ship nccl.h: install NCCL's development package or set NCCL_HOME).
// KILN_NCCL=0 leaves it out.
function ncclIncludes(lt) {
  if (process.env.KILN_NCCL === '0') return null;
  if (!fs.existsSync(path.join(lt.lib, 'libtorch_cuda.so'))) return null;
  if (!fs.existsSync(path.join(lt.include, 'torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp'))) return null;
  const cudaHome = process.env.CUDA_HOME || process.env.CUDA_PATH || '/usr/local/cuda';
  const roots = [lt.include, process.env.NCCL_HOME && path.join(process.env.NCCL_HOME, 'include'), path.join(cudaHome, 'include'), '/usr/include'].filter(Boolean);
  const nccl = roots.find((d) => fs.existsSync(path.join(d, 'nccl.h')));
  const cuda = roots.find((d) => fs.existsSync(path.join(d, 'cuda_runtime_api.h')));
  if (nccl === undefined || cuda === undefined) return null;
  return [...new Set([nccl, cuda])].filter((d) => d !== '/usr/include');
}

const lt = findLibtorch();
const what = process.argv[2];
if (what === 'include') {
  // /usr/include is already on the system path; naming it with -I would reorder system headers.
  const dirs = lt.system ? [] : [lt.include];
  dirs.push(path.join(lt.include, 'torch/csrc/api/include'));
  dirs.push(...(ncclIncludes(lt) ?? []));
  console.log(dirs.join(' '));
} else if (what === 'defines') {
  // c10d's headers compile their Gloo and NCCL parts only under these macros.
  const defines = [];
  // Debian ships Gloo's headers in libgloo-dev; an official libtorch may have them in include/.
  if ([lt.include, '/usr/include'].some((d) => fs.existsSync(path.join(d, 'gloo/algorithm.h')))) defines.push('USE_C10D_GLOO', 'KILN_WITH_GLOO');
  if (ncclIncludes(lt) !== null) defines.push('USE_C10D_NCCL', 'KILN_WITH_NCCL');
  if (fs.existsSync(path.join(lt.lib, 'libtorch_cuda.so'))) defines.push('KILN_WITH_CUDA');
  console.log(defines.join(' '));
} else if (what === 'cflags') {
  const flags = [`-D_GLIBCXX_USE_CXX11_ABI=${cxxAbi(lt)}`];
  if (usesOpenMp(lt)) flags.push('-fopenmp');
  console.log(flags.join(' '));
} else if (what === 'libs') {
  const libs = [`-L${lt.lib}`];
  if (!lt.system) libs.push(`-Wl,-rpath,${lt.lib}`);
  // Link the CUDA parts when this libtorch has them; --no-as-needed keeps them loaded so
  // their kernels register even though no symbol is referenced directly.
  const cuda = ['torch_cuda', 'c10_cuda'].filter((l) => fs.existsSync(path.join(lt.lib, `lib${l}.so`)));
  if (cuda.length > 0) libs.push('-Wl,--no-as-needed', ...cuda.map((l) => `-l${l}`), '-Wl,--as-needed');
  libs.push('-ltorch', '-ltorch_cpu', '-lc10');
  console.log(libs.join(' '));
} else {
  console.error('usage: node libtorch.cjs include|defines|cflags|libs');
  process.exit(2);
}
