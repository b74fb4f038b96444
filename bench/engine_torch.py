"""The PyTorch side of `npm run bench:engine`: the same measurements as bench/engine.ts, with torch.

Run by bench/engine.ts as `/usr/bin/python3 bench/engine_torch.py --serve --threads N`, with the
environment Kiln used (OPENBLAS_CORETYPE in particular), so both engines run with identical
settings. In --serve mode it answers one JSON request per stdin line with one JSON line on
stdout, which lets engine.ts alternate Kiln and PyTorch samples on a noisy machine:

  {"op": "hello"}                               -> {"torch": ..., "threads": ..., "blas": ...}
  {"op": "matmul", "n": 512, "calls": 4}        -> {"seconds": s}   (4 calls of torch.mm, n x n)
  {"op": "add", "numel": 10, "calls": 100000}   -> {"seconds": s}   (100000 evaluations of a + b)

Without --serve it measures everything itself and prints one JSON object:
  {"matmul_gflops": {"256": ..., ...}, "op_overhead_us": ...}
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
except ImportError as error:
    sys.exit(
        f"engine_torch.py: {sys.executable} cannot import torch ({error}); "
        "install Debian's python3-torch (sudo apt-get install python3-torch)"
    )

MATMUL_SIZES = (256, 512, 1024, 2048)


def loaded_blas():
    """Paths of the BLAS libraries mapped into this process (which BLAS torch really uses)."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                paths.add(os.path.realpath(path))
    return sorted(paths)


class Bench:
    def __init__(self):
        self.matrices = {}  # n -> (a, b), both (n, n) float32
        self.operands = {}  # numel -> (a, b), both (numel,) float32

    def matmul_seconds(self, n, calls):
        if n not in self.matrices:
            self.matrices[n] = (torch.randn(n, n), torch.randn(n, n))
        a, b = self.matrices[n]
        start = time.perf_counter()
        for _ in range(calls):
            torch.mm(a, b)  # the (n, n) result is freed at once by reference counting
        return time.perf_counter() - start

    def add_seconds(self, numel, calls):
        if numel not in self.operands:
            self.operands[numel] = (torch.randn(numel), torch.randn(numel))
        a, b = self.operands[numel]
        start = time.perf_counter()
        for _ in range(calls):
            a + b
        return time.perf_counter() - start


def hello():
    return {
        "torch": torch.__version__,
        "python": sys.executable,
        "threads": torch.get_num_threads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "blas": loaded_blas(),
    }


def serve(bench):
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "hello":
            reply = hello()
        elif op == "matmul":
            reply = {"seconds": bench.matmul_seconds(int(request["n"]), int(request["calls"]))}
        elif op == "add":
            reply = {"seconds": bench.add_seconds(int(request["numel"]), int(request["calls"]))}
        else:
            reply = {"error": f"unknown op {op!r}; expected hello, matmul or add"}
        print(json.dumps(reply), flush=True)


def standalone(bench):
    gflops = {}
    for n in MATMUL_SIZES:
        bench.matmul_seconds(n, 1)  # warm-up
        best = min(bench.matmul_seconds(n, 1) for _ in range(5))
        gflops[str(n)] = round(2 * n**3 / best / 1e9, 2)
    calls = 100_000
    bench.add_seconds(10, calls)  # warm-up
    rounds = [bench.add_seconds(10, calls) / calls * 1e6 for _ in range(7)]
    print(json.dumps({"matmul_gflops": gflops, "op_overhead_us": round(statistics.median(rounds), 3)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="intra-op threads (torch.set_num_threads)")
    parser.add_argument("--serve", action="store_true", help="answer JSON requests on stdin")
    args = parser.parse_args()
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    bench = Bench()
    if args.serve:
        serve(bench)
    else:
        standalone(bench)


if __name__ == "__main__":
    main()
