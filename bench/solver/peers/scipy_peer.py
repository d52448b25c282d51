"""SciPy peer for bench/solver: loads a CSR system written by bench.ts, runs one solver, writes x.

Usage: scipy_peer.py <dir> <cg|bicgstab|cg_jacobi|spmv> <tol> <runs> <maxiter>
       scipy_peer.py serve   (one JSON request per stdin line: {"dir", "method", "tol", "maxiter", "repeat"?};
                              one JSON reply per stdout line; systems stay loaded between requests)
Writes <dir>/x.scipy-<method>.f64 and prints JSON with wall times per run. The bench checks
the answer itself; nothing SciPy reports about convergence is trusted. In serve mode the process
lives for the whole bench, as ours does, so runs interleave with ours and both are long-lived.
"""
import json, sys, time
import numpy as np
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as sl
import inspect

# SciPy 1.12 renamed cg/bicgstab's `tol` to `rtol` (and 1.14 removed `tol`).
_TOL = "rtol" if "rtol" in inspect.signature(sl.cg).parameters else "tol"

_loaded = {}

def load(d):
    if d not in _loaded:
        rp = np.fromfile(f"{d}/rowptr.i32", dtype=np.int32)
        ci = np.fromfile(f"{d}/col.i32", dtype=np.int32)
        va = np.fromfile(f"{d}/val.f64", dtype=np.float64)
        b = np.fromfile(f"{d}/b.f64", dtype=np.float64)
        n = len(rp) - 1
        _loaded.clear()  # one system at a time: the bench moves on and never comes back
        _loaded[d] = (sp.csr_matrix((va, ci, rp), shape=(n, n)), b)
    return _loaded[d]

def run_once(d, method, tol, maxiter, write_x=True):
    A, b = load(d)
    n = A.shape[0]
    count = [0]
    def cb(*_args):
        count[0] += 1
    if method == "spmv":
        t = time.perf_counter()
        for _k in range(10):
            x = A @ b
        return (time.perf_counter() - t) / 10, 0, 0
    fn = sl.bicgstab if method == "bicgstab" else sl.cg
    t = time.perf_counter()
    extra = {}
    if method == "cg_jacobi":
        dinv = 1.0 / A.diagonal()
        extra["M"] = sl.LinearOperator((n, n), matvec=lambda v: dinv * v)
    # SciPy 1.10: `tol` is relative to ||b|| when atol=0.
    x, info = fn(A, b, atol=0.0, maxiter=maxiter, callback=cb, **{_TOL: tol}, **extra)
    elapsed = time.perf_counter() - t
    if write_x:
        x.astype(np.float64).tofile(f"{d}/x.scipy-{method}.f64")
    return elapsed, count[0], int(info)

def main():
    if sys.argv[1] == "serve":
        for line in sys.stdin:
            req = json.loads(line)
            try:
                repeat = int(req.get("repeat", 1))
                c0 = time.process_time()
                for k in range(repeat):
                    t, it, info = run_once(req["dir"], req["method"], float(req["tol"]), int(req["maxiter"]), k == 0)
                # This process's CPU time per solve over `repeat` solves in a row (OpenBLAS threads
                # included): the kernel accounts CPU time in 4 ms ticks, so one short solve cannot be timed.
                cpu = (time.process_time() - c0) / repeat
                print(json.dumps({"times": [t], "iterations": [it], "info": info, "cpu": cpu}), flush=True)
            except Exception as e:  # reported to the bench, which lists the peer as failed
                print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    d, method, tol, runs, maxiter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    times, iters, info = [], [], 0
    for _ in range(runs):
        t, it, info = run_once(d, method, tol, maxiter)
        times.append(t)
        iters.append(it)
    print(json.dumps({"scipy": scipy.__version__, "method": method, "times": times, "iterations": iters, "info": info}))

main()
