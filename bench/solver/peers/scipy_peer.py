"""SciPy peer for bench/solver: loads a CSR system written by bench.ts, runs one solver, writes x.

Usage: scipy_peer.py <dir> <cg|bicgstab|cg_jacobi|spmv> <tol> <runs> <maxiter>
Writes <dir>/x.<method>.f64 and prints one JSON line with wall times per run. The bench checks
the answer itself; nothing SciPy reports about convergence is trusted.
"""
import json, sys, time
import numpy as np
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as sl

def main():
    d, method, tol, runs, maxiter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rp = np.fromfile(f"{d}/rowptr.i32", dtype=np.int32)
    ci = np.fromfile(f"{d}/col.i32", dtype=np.int32)
    va = np.fromfile(f"{d}/val.f64", dtype=np.float64)
    b = np.fromfile(f"{d}/b.f64", dtype=np.float64)
    n = len(rp) - 1
    A = sp.csr_matrix((va, ci, rp), shape=(n, n))
    times, iters, x = [], [], None
    for _ in range(runs):
        count = [0]
        def cb(*_args):
            count[0] += 1
        if method == "spmv":
            t = time.perf_counter()
            for _k in range(10):
                x = A @ b
            times.append((time.perf_counter() - t) / 10)
            continue
        fn = sl.bicgstab if method == "bicgstab" else sl.cg
        t = time.perf_counter()
        extra = {}
        if method == "cg_jacobi":
            dinv = 1.0 / A.diagonal()
            extra["M"] = sl.LinearOperator((n, n), matvec=lambda v: dinv * v)
        # SciPy 1.10: `tol` is relative to ||b|| when atol=0.
        x, info = fn(A, b, tol=tol, atol=0.0, maxiter=maxiter, callback=cb, **extra)
        times.append(time.perf_counter() - t)
        iters.append(count[0])
    if method != "spmv":
        x.astype(np.float64).tofile(f"{d}/x.scipy-{method}.f64")
    print(json.dumps({"scipy": scipy.__version__, "method": method, "times": times, "iterations": iters, "info": int(info) if method != "spmv" else 0}))

main()
