// The typed session API the solver service uses: one matrix, b and x held by a kernel (WASM or
// the plain reference), iterations run in bounded slices, cost updates applied in place and the
// method resumed warm from the current x.
import { BASE_METHODS, CSR_ERRORS, PRECONDITIONERS, STATUS_CODE, UPDATE_OUTCOMES, isMethod, isPreconditioner, methodCode, precondCode, statusOf,
  type BaseMethod, type Method, type Preconditioner, type Status } from './codes';
import { KernelError } from './errors';
import type { AmgLevelInfo, Kernel } from './kernel';
import { ReferenceKernel } from './reference';
import type { Analysis, Csr, EntryEstimate, EntryUpdate, EntryUpdateResult, IterateResult } from './types';
import { WasmKernel } from './wasm-kernel';

export type Backend = 'wasm' | 'reference';

/** Makes the low-level kernel for an n-row matrix with nnz entries (KernelError when it cannot). */
export type KernelBuilder = (n: number, nnz: number) => Kernel;

const BUILDERS: Record<Backend, KernelBuilder> = {
  wasm: (n, nnz) => new WasmKernel(n, nnz),
  reference: (n, nnz) => new ReferenceKernel(n, nnz),
};

export interface MethodOptions {
  readonly method: Method;
  /** Relative tolerance on the true residual ||b - Ax|| / ||b||. */
  readonly tol: number;
  /** For cg / bicgstab; hybrid chooses its own. Default jacobi. */
  readonly precond?: Preconditioner;
  /** SSOR relaxation factor in (0, 2). Default 1 (symmetric Gauss-Seidel). */
  readonly omega?: number;
  /** milu0: share of the dropped fill moved onto the pivot, in [0, 1] (0 = ILU(0)). Default MILU_RELAX. */
  readonly relax?: number;
  /** Iterations without a 1% residual improvement before `stagnated`. Default 1000. */
  readonly stagnationWindow?: number;
  /**
   * amg: keep the hierarchy's structure when updateA changes A's values (only the values are
   * recomputed, as AMGCL's rebuild; a full setup when a solve needs over 1.5× the iterations of
   * the first one on it). false: a full setup after every change of A, so the hierarchy is a
   * function of the current A alone (the solver service: a restored snapshot, which holds no
   * hierarchy, must continue bit for bit). Default true.
   */
  readonly amgReuse?: boolean;
}

interface Step {
  readonly method: BaseMethod;
  readonly precond: Preconditioner;
  /**
   * Probe: after PROBE_ITERATIONS, the contraction over their second half predicts the
   * iterations still needed; if a preconditioner's setup cannot pay for itself in that many, the step goes on,
   * else hybrid moves (warm, from the improved x) to the next step.
   */
  readonly probe?: boolean;
}

const FAILED: ReadonlySet<Status> = new Set(['breakdown', 'stagnated', 'diverged', 'not_applicable']);

/** Above this dominance ratio Jacobi-preconditioned CG slows down and ILU(0) pays for itself (bench/solver). */
const ILU_DOMINANCE_RATIO = 0.9;
/** Default milu0 relaxation: full row-sum compensation measured best (bench/solver: 0.99 needs 2× the iterations). */
export const MILU_RELAX = 1;

/**
 * From this many rows on, symmetric M-matrices get AMG instead of MILU(0): its iterations stay
 * flat while MILU(0)'s grow with the grid, and its setup (several SpMVs' worth) is then paid
 * back (bench/solver, unshifted Poisson).
 */
export const AMG_MIN_ROWS = 50_000;
/**
 * AMG only for rows of at most this many entries (meshes, stencils): a hub of a power-law graph
 * makes its aggregates' Galerkin rows nearly dense (bench/solver: setup of seconds at n=1e5).
 */
export const AMG_MAX_ROW = 32;
/** Jacobi-preconditioned iterations a probe runs before it predicts the rest. */
export const PROBE_ITERATIONS = 8;
/**
 * The probe's rate is taken from this iteration on: on irregular graphs (hubs of a power-law
 * network, a nonsymmetric flow) the residual first rises before the Krylov method settles into its
 * contraction, and a rate from the start overstates the iterations left (bench/solver).
 */
export const PROBE_SETTLED = 4;
/**
 * A probe stays with Jacobi when it predicts at most this many further iterations: an ILU(0)
 * setup costs about as much as a few Jacobi-preconditioned iterations, each ILU-preconditioned
 * iteration about twice one of them, and on a system this well conditioned ILU(0) cannot cut the
 * count enough to win that back (bench/solver, the unstructured family).
 */
export const PAYBACK_ITERATIONS = 40;

/**
 * Diagonally dominant M-matrices (Laplacian-like: the bench's grids, graph Laplacians) get
 * modified ILU(0), which keeps the row sums and cuts CG's iterations on weakly dominant systems
 * several-fold (bench/solver: 219 → 39 at n=1e6), or from AMG_MIN_ROWS on, when symmetric, AMG;
 * other matrices plain ILU(0) or Jacobi. A strictly dominant A first probes with Jacobi (SSOR for a
 * nonsymmetric Z-matrix dominant by columns, not rows) whether the stronger preconditioner's
 * setup would pay for itself.
 */
export function hybridPlan(an: Analysis, n = 0, maxRowNnz = Infinity): Step[] {
  const mMatrix = an.offDiagonalNonPositive === true && an.positiveDiagonal && an.weaklyDiagonallyDominant;
  const spd = an.symmetric && an.positiveDiagonal;
  const strong: Preconditioner = mMatrix ? 'milu0' : an.dominanceRatio > ILU_DOMINANCE_RATIO ? 'ilu0' : 'jacobi';
  // Strict dominance makes Jacobi-preconditioned iterations likely to do well; without even weak
  // row dominance nothing predicts whether ILU(0)'s setup pays: both are measured by the probe.
  const probe = strong !== 'jacobi' && (an.dominanceRatio < 1 || !an.weaklyDiagonallyDominant);
  // A nonsymmetric Z-matrix with a positive diagonal that is not row dominant (a network flow:
  // dominant by columns) probes with SSOR instead, which BiCGSTAB applies in split form at about
  // the cost of Jacobi per iteration: bench/solver's network flow takes 7 iterations instead of 21.
  const columnDominant = !an.symmetric && an.offDiagonalNonPositive === true && an.positiveDiagonal && !an.weaklyDiagonallyDominant;
  const plan: Step[] = [];
  if (probe) plan.push({ method: spd ? 'cg' : 'bicgstab', precond: columnDominant ? 'ssor' : 'jacobi', probe: true });
  if (spd && mMatrix && n >= AMG_MIN_ROWS && maxRowNnz <= AMG_MAX_ROW) plan.push({ method: 'cg', precond: 'amg' });
  if (spd) plan.push({ method: 'cg', precond: strong });
  plan.push({ method: 'bicgstab', precond: strong });
  if (strong === 'milu0') plan.push({ method: 'bicgstab', precond: 'ilu0' });
  if (strong !== 'jacobi') plan.push({ method: 'bicgstab', precond: 'jacobi' });
  if (an.weaklyDiagonallyDominant) plan.push({ method: 'gauss_seidel', precond: 'none' });
  plan.push({ method: 'bicgstab', precond: 'none' });
  return plan;
}

const badArgument = (detail: string) => new KernelError('BAD_ARGUMENT', detail);

function checkIndex(i: number, n: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw badArgument(`${what} ${i} outside 0..${n - 1}`);
}

function checkFinite(v: number, what: string): void {
  if (!Number.isFinite(v)) throw badArgument(`${what} is not finite (${v})`);
}

/**
 * Every entry finite; the message (and its string) is built only on failure. A Float64Array (it
 * holds numbers only) is searched by the built-in includes() for NaN and ±Infinity instead of a JS
 * loop: in a fresh process that loop runs unoptimised, and at n=1e4 it took more CPU than the
 * solve (bench/solver, --cpu-prof of the first sessions).
 */
function checkAllFinite(v: ArrayLike<number>, name: string): void {
  if (v instanceof Float64Array && !v.includes(NaN) && !v.includes(Infinity) && !v.includes(-Infinity)) return;
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) checkFinite(v[i]!, `${name}[${i}]`);
}

/** The options with their defaults; KernelError BAD_ARGUMENT names the first one out of range. */
export function checkMethodOptions(opts: MethodOptions): Required<MethodOptions> {
  if (!isMethod(opts.method)) throw badArgument(`unknown method '${String(opts.method)}' (one of ${[...BASE_METHODS, 'hybrid'].join(', ')})`);
  const precond = opts.precond ?? 'jacobi';
  if (!isPreconditioner(precond)) throw badArgument(`unknown preconditioner '${String(precond)}' (one of ${PRECONDITIONERS.join(', ')})`);
  if (!(opts.tol > 0) || !Number.isFinite(opts.tol)) throw badArgument(`tolerance must be a positive number (got ${opts.tol})`);
  const omega = opts.omega ?? 1;
  if (!(omega > 0 && omega < 2)) throw badArgument(`SSOR omega must lie in (0, 2) (got ${omega})`);
  const relax = opts.relax ?? MILU_RELAX;
  if (!(relax >= 0 && relax <= 1)) throw badArgument(`MILU relax must lie in [0, 1] (got ${relax})`);
  const stagnationWindow = opts.stagnationWindow ?? 1000;
  if (!Number.isInteger(stagnationWindow) || stagnationWindow < 1) throw badArgument(`stagnationWindow must be a positive integer (got ${stagnationWindow})`);
  return { method: opts.method, tol: opts.tol, precond, omega, relax, stagnationWindow, amgReuse: opts.amgReuse ?? true };
}

const STATIONARY: ReadonlySet<Method> = new Set(['jacobi', 'gauss_seidel', 'neumann']);

/** The kernel divides by a_ii for these (kernel start(): NOT_APPLICABLE otherwise); hybrid falls back instead. */
function needsDiagonal(method: Method, precond: Preconditioner): boolean {
  return STATIONARY.has(method) || (method !== 'hybrid' && (precond === 'jacobi' || precond === 'ssor'));
}

export class SolverSession {
  private kernel: Kernel | undefined;
  private opts: Required<MethodOptions> | undefined;
  private plan: Step[] = [];
  private step = 0;
  private doneBefore = 0;
  private startResidual = 0;
  /** The probe's residual at PROBE_SETTLED iterations (NaN until it got there). */
  private settledResidual = NaN;
  private analysis: Analysis | undefined;
  /** The running probe step has made its decision (stay, or it moved on). */
  private probed = false;
  /** Iterations of the first converged AMG solve on the current hierarchy (drift detection). */
  private amgFirst: number | undefined;
  private amgFullSeen = 0;

  private constructor(kernel: Kernel, readonly n: number, readonly nnz: number) {
    this.kernel = kernel;
  }

  /**
   * Loads A (canonical CSR: see csrFromCoo) into a fresh kernel. b and x start at zero.
   * KernelError: MATRIX_INVALID for a malformed A, MATRIX_TOO_LARGE when the kernel cannot hold it.
   */
  static open(a: Csr, backend: Backend | KernelBuilder = 'wasm'): SolverSession {
    const n = a.n;
    const invalid = (detail: string) => new KernelError('MATRIX_INVALID', detail);
    if (!Number.isInteger(n) || n < 1) throw invalid(`matrix must have at least one row (n = ${n})`);
    if (a.rowPtr.length !== n + 1) throw invalid(`rowPtr has ${a.rowPtr.length} entries, expected n + 1 = ${n + 1}`);
    if (a.colIdx.length !== a.values.length) throw invalid(`colIdx (${a.colIdx.length}) and values (${a.values.length}) differ in length`);
    const nnz = a.values.length;
    const kernel = (typeof backend === 'function' ? backend : BUILDERS[backend])(n, nnz);
    const code = kernel.load(a);
    if (code !== 0) {
      const row = kernel.badRow();
      kernel.free();
      throw invalid(`invalid CSR at row ${row}: ${CSR_ERRORS[code] ?? `code ${code}`}`);
    }
    // No O(n) loop of its own here: in a fresh process it runs unoptimised (bench/solver: 3-4 ms
    // of CPU in the first session at n=1e4, more than the solve); the kernel knows A's longest row.
    return new SolverSession(kernel, n, nnz);
  }

  /**
   * KernelError MATRIX_INVALID when `method` with `precond` cannot start on this A because rows
   * lack a nonzero diagonal (iterate() would only report not_applicable).
   */
  requireApplicable(method: Method, precond: Preconditioner): void {
    const rows = this.k.zeroDiagonalRows();
    if (rows > 0 && needsDiagonal(method, precond)) {
      const what = STATIONARY.has(method) ? method : `${method} with the ${precond} preconditioner`;
      throw new KernelError('MATRIX_INVALID', `${rows} row(s) have no nonzero diagonal entry, which ${what} divides by (hybrid falls back to a method that does not)`);
    }
  }

  private get k(): Kernel {
    if (this.kernel === undefined) throw new Error('solver session already freed');
    return this.kernel;
  }

  setB(b: ArrayLike<number>): void {
    if (b.length !== this.n) throw badArgument(`b has ${b.length} entries, matrix has ${this.n} rows`);
    checkAllFinite(b, 'b');
    this.k.setB(b);
    this.restarted();
  }

  /** Sets the starting guess (the default is the zero vector, or the last solution). */
  setX(x: ArrayLike<number>): void {
    if (x.length !== this.n) throw badArgument(`x has ${x.length} entries, matrix has ${this.n} rows`);
    checkAllFinite(x, 'x');
    this.k.setX(x);
    this.restarted();
  }

  /** b[indices[k]] = values[k]; the next iterate() resumes warm from the current x. */
  updateB(indices: ArrayLike<number>, values: ArrayLike<number>): void {
    if (indices.length !== values.length) throw badArgument(`updateB: ${indices.length} indices but ${values.length} values`);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!, v = values[k]!;
      if (!(Number.isInteger(i) && i >= 0 && i < this.n)) checkIndex(i, this.n, 'updateB: index');
      if (!Number.isFinite(v)) checkFinite(v, `updateB: value for index ${i}`);
    }
    this.k.updateB(Int32Array.from(indices), Float64Array.from(values));
    this.restarted();
  }

  /**
   * Changes existing entries of A. An entry applies only if A still holds `oldValue` exactly;
   * a mismatch is a conflict reported back, never a silent overwrite. Entries outside the
   * sparsity pattern are reported too (adding structure needs a new session).
   */
  updateA(updates: readonly EntryUpdate[]): EntryUpdateResult[] {
    const m = updates.length;
    const rows = new Int32Array(m), cols = new Int32Array(m), olds = new Float64Array(m), news = new Float64Array(m);
    updates.forEach((u, k) => {
      checkIndex(u.row, this.n, `updateA[${k}]: row`);
      checkIndex(u.col, this.n, `updateA[${k}]: column`);
      checkFinite(u.newValue, `updateA[${k}]: newValue`);
      rows[k] = u.row; cols[k] = u.col; olds[k] = u.oldValue; news[k] = u.newValue;
    });
    const { codes, current } = this.k.updateA(rows, cols, olds, news);
    const out: EntryUpdateResult[] = [];
    for (let k = 0; k < m; k++) {
      const outcome = UPDATE_OUTCOMES[codes[k]!];
      if (outcome === undefined) throw new Error(`solver kernel returned unknown update outcome ${codes[k]}`);
      out.push({ outcome, current: current[k]! });
    }
    if (out.some((r) => r.outcome === 'applied')) {
      this.analysis = undefined;
      if (this.opts?.amgReuse === false) this.k.amgReset();
      this.restarted();
    }
    return out;
  }

  /** Selects the method; iteration starts from the current x. */
  configure(opts: MethodOptions): void {
    this.opts = checkMethodOptions(opts);
    const { method, precond } = this.opts;
    this.plan = method === 'hybrid' ? hybridPlan(this.analyze(), this.n, this.k.maxRowNnz()) : [{ method, precond: STATIONARY.has(method) ? 'none' : precond }];
    this.step = 0;
    this.doneBefore = 0;
    this.startStep();
  }

  /** The method and preconditioner currently running (hybrid may have fallen back). */
  current(): Step {
    const s = this.plan[this.step];
    if (s === undefined) throw new Error('configure() a method first');
    return s;
  }

  private startStep(): Status {
    const o = this.opts!;
    this.probed = false;
    this.settledResidual = NaN;
    for (;;) {
      const s = this.plan[this.step]!;
      // Only hybrid falls back, so only hybrid pays for a copy of x and a residual up front.
      const hybrid = o.method === 'hybrid';
      if (hybrid) this.k.backupX();
      const code = this.k.start(methodCode(s.method), precondCode(s.precond), s.precond === 'milu0' ? o.relax : o.omega);
      if (code === STATUS_CODE.not_started) {
        // start() has just computed ||b - Ax|| / ||b|| exactly as trueResidual() would.
        if (hybrid) this.startResidual = this.k.residualNorm();
        return 'not_started';
      }
      if (this.step + 1 >= this.plan.length) return statusOf(code);
      this.step++;
    }
  }

  /** After b, A or x changed: the kernel restarts the same method warm from x on the next slice. */
  private restarted(): void {
    this.doneBefore = 0;
  }

  /**
   * Runs at most `maxIters` iterations and reports where they got. `running` means the budget
   * ran out; call again to continue. Hybrid falls back to its next method on breakdown,
   * stagnation or divergence, from the better of the x it started with and the current one.
   */
  iterate(maxIters: number): IterateResult {
    const o = this.opts;
    if (o === undefined) throw new Error('configure() a method before iterate()');
    if (!Number.isInteger(maxIters) || maxIters < 0) throw badArgument(`maxIters must be a non-negative integer (got ${maxIters})`);
    let budget = maxIters;
    for (;;) {
      const step = this.plan[this.step]!;
      const probing = o.method === 'hybrid' && step.probe === true && !this.probed;
      const before = this.k.iterations();
      const until = before < PROBE_SETTLED ? PROBE_SETTLED : PROBE_ITERATIONS;
      const slice = probing ? Math.min(budget, Math.max(0, until - before)) : budget;
      const status = statusOf(this.k.iterate(slice, o.tol, o.stagnationWindow));
      const done = this.k.iterations();
      budget -= Math.max(0, done - before);
      if (probing && status === 'running' && done === PROBE_SETTLED) {
        this.settledResidual = this.k.residualNorm();
        if (budget <= 0) return this.result('running');
        continue;
      }
      if (probing && status === 'running' && done >= PROBE_ITERATIONS) {
        this.probed = true;
        if (!this.probeStays(o.tol) && this.step + 1 < this.plan.length) {
          // Move on warm: the probe's x is better than the one it started from.
          this.doneBefore += done;
          this.step++;
          const next = this.startStep();
          if (next !== 'not_started') return this.result(next);
        }
        if (budget <= 0) return this.result('running');
        continue;
      }
      if (o.method === 'hybrid' && FAILED.has(status) && this.step + 1 < this.plan.length) {
        this.doneBefore += done;
        const now = this.k.trueResidual();
        if (!(now <= this.startResidual)) this.k.restoreX();
        this.step++;
        const next = this.startStep();
        if (next !== 'not_started') return this.result(next);
        if (budget <= 0) return this.result('running');
        continue;
      }
      if (status === 'converged' && step.precond === 'amg') this.amgDrift(done);
      return this.result(status);
    }
  }

  /**
   * The probe's contraction per iteration so far predicts how many more it needs to reach tol;
   * few enough, and no preconditioner setup pays for itself.
   */
  private probeStays(tol: number): boolean {
    const its = this.k.iterations(), now = this.k.residualNorm();
    const settled = this.settledResidual > 0 && its > PROBE_SETTLED;
    const from = settled ? this.settledResidual : this.startResidual;
    if (!(now > 0) || !(from > 0)) return true;
    const rate = Math.pow(now / from, 1 / (settled ? its - PROBE_SETTLED : its));
    if (!(rate < 1)) return false;
    return Math.log(tol / now) / Math.log(rate) <= PAYBACK_ITERATIONS;
  }

  /** A kept AMG structure that needs over 1.5× the iterations of its first solve is set up afresh next time. */
  private amgDrift(iterations: number): void {
    const full = this.k.amgSetups().full;
    if (full !== this.amgFullSeen) { this.amgFullSeen = full; this.amgFirst = iterations; return; }
    if (this.amgFirst === undefined) { this.amgFirst = iterations; return; }
    if (iterations > 1.5 * this.amgFirst) { this.k.amgReset(); this.amgFirst = undefined; }
  }

  private result(status: Status): IterateResult {
    return { status, iterations: this.doneBefore + this.k.iterations(), residualNorm: this.k.residualNorm() };
  }

  /** iterate() until a final status or `maxIters` in total. */
  solve(maxIters: number): IterateResult {
    return this.iterate(maxIters);
  }

  readX(): Float64Array { return this.k.readX(); }
  readB(): Float64Array { return this.k.readB(); }

  /** ||b - Ax|| / ||b|| recomputed from scratch. */
  trueResidual(): number { return this.k.trueResidual(); }

  /** b_i - (Ax)_i for the given rows: the verifier's random probes. */
  residualRows(rows: ArrayLike<number>): { residuals: Float64Array; maxAbs: number } {
    for (let k = 0; k < rows.length; k++) checkIndex(rows[k]!, this.n, 'residualRows: row');
    return this.k.residualRows(Int32Array.from(rows));
  }

  /**
   * analyze() ran since A last changed. The kernel then knows whether A's pattern is symmetric,
   * and updateB relaxes the changed rows of x: a copy of this session must be analysed too to
   * continue bit for bit.
   */
  get analyzed(): boolean {
    return this.analysis !== undefined;
  }

  analyze(): Analysis {
    if (this.analysis === undefined) {
      const { flags, rho } = this.k.analyze(1e-12);
      this.analysis = {
        symmetric: (flags & 1) !== 0,
        positiveDiagonal: (flags & 2) !== 0,
        weaklyDiagonallyDominant: (flags & 4) !== 0,
        strictlyDiagonallyDominant: (flags & 8) !== 0,
        dominanceRatio: rho,
        offDiagonalNonPositive: (flags & 16) !== 0,
      };
    }
    return this.analysis;
  }

  /**
   * x_i without a full solve. 'push' (default) is deterministic local push; 'walk' is seeded
   * random-walk Neumann sampling whose bound holds with probability 1 - delta. Both need strict
   * diagonal dominance for a finite bound.
   */
  estimateEntry(i: number, opts: { eps: number; algorithm?: 'push' | 'walk'; maxPushes?: number; walks?: number; seed?: number; delta?: number }): EntryEstimate {
    checkIndex(i, this.n, 'estimateEntry: row');
    if (!(opts.eps > 0)) throw badArgument(`estimateEntry: eps must be positive (got ${opts.eps})`);
    if (opts.algorithm === 'walk') {
      const walks = opts.walks ?? 1000;
      const delta = opts.delta ?? 1e-3;
      if (!Number.isInteger(walks) || walks < 1) throw badArgument(`estimateEntry: walks must be a positive integer (got ${walks})`);
      if (!(delta > 0 && delta < 1)) throw badArgument(`estimateEntry: delta must lie in (0, 1) (got ${delta})`);
      return this.k.estimateWalk(i, opts.eps, walks, opts.seed ?? 1, delta);
    }
    return this.k.estimatePush(i, opts.eps, opts.maxPushes ?? 1_000_000);
  }

  /**
   * M⁻¹ v with the preconditioner the running step prepared (its symmetry is what CG relies on;
   * the unit specs check it). Needs configure() first.
   */
  applyPreconditioner(v: ArrayLike<number>): Float64Array {
    if (this.opts === undefined) throw new Error('configure() a method before applyPreconditioner()');
    if (v.length !== this.n) throw badArgument(`v has ${v.length} entries, matrix has ${this.n} rows`);
    return this.k.applyPreconditioner(Float64Array.from(v));
  }

  /** The AMG hierarchy (finest level first; empty until an AMG step has started). */
  amgHierarchy(): AmgLevelInfo[] { return this.k.amgHierarchy(); }

  /** Full AMG setups and value-only rebuilds run so far. */
  amgSetups(): { full: number; rebuild: number } { return this.k.amgSetups(); }

  free(): void {
    this.kernel?.free();
    this.kernel = undefined;
  }
}
