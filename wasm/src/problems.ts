// Test and benchmark matrices on an m×m grid (n = m²), 5-point stencils, rows in natural order.
import type { Csr } from './types';
import { mulberry } from './reference';

interface Stencil {
  centre: number;
  west: number; east: number; south: number; north: number;
}

function grid(m: number, at: (ix: number, iy: number) => Stencil, dropBoundary: boolean): Csr {
  const n = m * m;
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let iy = 0; iy < m; iy++) {
    for (let ix = 0; ix < m; ix++) {
      const s = at(ix, iy);
      const i = iy * m + ix;
      let centre = s.centre;
      const nb: Array<[number, number]> = [];
      if (iy > 0) nb.push([i - m, s.south]);
      if (ix > 0) nb.push([i - 1, s.west]);
      if (ix < m - 1) nb.push([i + 1, s.east]);
      if (iy < m - 1) nb.push([i + m, s.north]);
      if (dropBoundary) {
        // Neumann-like boundary: the diagonal only counts neighbours that exist.
        const missing = (iy === 0 ? s.south : 0) + (ix === 0 ? s.west : 0) + (ix === m - 1 ? s.east : 0) + (iy === m - 1 ? s.north : 0);
        centre += missing;
      }
      for (const [j, v] of nb) if (j < i) { cols.push(j); vals.push(v); }
      cols.push(i); vals.push(centre);
      for (const [j, v] of nb) if (j > i) { cols.push(j); vals.push(v); }
      rowPtr[i + 1] = cols.length;
    }
  }
  return { n, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
}

/** −Δ + σI, Dirichlet boundary: SPD, strictly diagonally dominant for σ > 0. */
export function poisson2d(m: number, shift = 0.1): Csr {
  return grid(m, () => ({ centre: 4 + shift, west: -1, east: -1, south: -1, north: -1 }), false);
}

/** Anisotropic −ε∂xx − ∂yy + σI: SPD, slow for Jacobi-type smoothing across the weak direction. */
export function anisotropicPoisson2d(m: number, eps = 0.01, shift = 0.1): Csr {
  return grid(m, () => ({ centre: 2 * eps + 2 + shift, west: -eps, east: -eps, south: -1, north: -1 }), false);
}

/**
 * −Δu + c·∂x u + σu with first-order upwinding (c = cell Péclet number in grid units) and a
 * constant wind: nonsymmetric, M-matrix, diagonally dominant.
 */
export function convectionDiffusion2d(m: number, c = 0.5, shift = 0.1): Csr {
  return grid(m, () => ({ centre: 4 + c + shift, west: -1 - c, east: -1, south: -1, north: -1 }), false);
}

/** Weakly diagonally dominant: graph Laplacian of the grid (diagonal = off-diagonal row sum) + δ. */
export function weaklyDominant2d(m: number, delta = 1e-3): Csr {
  return grid(m, () => ({ centre: 4 + delta, west: -1, east: -1, south: -1, north: -1 }), true);
}

/** Deterministic pseudo-random numbers for reproducible fixtures: the reference's mulberry32. */
export const seededRandom = mulberry;

/**
 * Random sparse matrix, `perRow` off-diagonals per row with values in [-1, 1], diagonal =
 * (row sum of |off-diagonals|) × `dominance` (> 1: strictly dominant). Symmetric if asked.
 */
export function randomDominant(n: number, perRow: number, dominance: number, seed: number, symmetric = false): Csr {
  const rnd = seededRandom(seed);
  const rows: Array<Map<number, number>> = Array.from({ length: n }, () => new Map());
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < perRow; k++) {
      const j = Math.floor(rnd() * n);
      if (j === i) continue;
      const v = 2 * rnd() - 1;
      rows[i]!.set(j, v);
      if (symmetric) rows[j]!.set(i, v);
    }
  }
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    let off = 0;
    for (const v of row.values()) off += Math.abs(v);
    row.set(i, off * dominance + (off === 0 ? 1 : 0));
    for (const j of [...row.keys()].sort((p, q) => p - q)) { cols.push(j); vals.push(row.get(j)!); }
    rowPtr[i + 1] = cols.length;
  }
  return { n, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
}

/** A smooth right-hand side with every entry nonzero. */
export function smoothRhs(n: number): Float64Array {
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) b[i] = 1 + Math.sin(i * 0.37);
  return b;
}

/**
 * The benches' cost update: round(n · fraction) seeded entries of b (at least one), each moved
 * by up to ±1%. Returns the entries to pass to updateB and the updated b, to check against.
 */
export function perturbB(b: Float64Array, fraction: number, seed: number): { indices: number[]; values: number[]; b: Float64Array } {
  const rnd = seededRandom(seed);
  const count = Math.max(1, Math.round(b.length * fraction));
  const indices: number[] = [], values: number[] = [];
  const out = b.slice();
  for (let k = 0; k < count; k++) {
    const i = Math.floor(rnd() * b.length);
    out[i] = b[i]! * (1 + 0.02 * (rnd() - 0.5));
    indices.push(i);
    values.push(out[i]!);
  }
  return { indices, values, b: out };
}

/** CSR from per-row maps (sorted columns). */
function fromRows(rows: Array<Map<number, number>>): Csr {
  const n = rows.length;
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [], vals: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const j of [...rows[i]!.keys()].sort((p, q) => p - q)) { cols.push(j); vals.push(rows[i]!.get(j)!); }
    rowPtr[i + 1] = cols.length;
  }
  return { n, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
}

/**
 * Graph Laplacian of a preferential-attachment (Barabási-Albert) network with `m` links per new
 * node, plus `shift` on the diagonal: symmetric M-matrix, degrees power-law distributed (hubs).
 */
export function powerLawLaplacian(n: number, m: number, shift: number, seed: number): Csr {
  const rnd = seededRandom(seed);
  const rows: Array<Map<number, number>> = Array.from({ length: n }, () => new Map());
  const ends: number[] = []; // every edge's two ends: picking from it is picking by degree
  const link = (i: number, j: number): void => {
    if (i === j || rows[i]!.has(j)) return;
    rows[i]!.set(j, -1); rows[j]!.set(i, -1); ends.push(i, j);
  };
  for (let i = 1; i <= m && i < n; i++) link(i, i - 1);
  for (let i = m + 1; i < n; i++) for (let k = 0; k < m; k++) link(i, ends[Math.floor(rnd() * ends.length)]!);
  for (let i = 0; i < n; i++) rows[i]!.set(i, rows[i]!.size + shift);
  return fromRows(rows);
}

/**
 * A nonsymmetric network-flow matrix: nodes on a ring with `perRow` random directed links each,
 * flows leaving a node on its diagonal (plus a leak `leak`), arriving flows negative: an
 * M-matrix, column-dominant rather than row-dominant, random sparsity.
 */
export function networkFlow(n: number, perRow: number, leak: number, seed: number): Csr {
  const rnd = seededRandom(seed);
  const rows: Array<Map<number, number>> = Array.from({ length: n }, () => new Map());
  const out = new Float64Array(n);
  const add = (from: number, to: number, w: number): void => {
    // flow from → to with conductance w: row `to` gains -w at column `from`, `from` loses w.
    rows[to]!.set(from, (rows[to]!.get(from) ?? 0) - w);
    out[from] = out[from]! + w;
  };
  for (let i = 0; i < n; i++) {
    add(i, (i + 1) % n, 0.5 + rnd());
    for (let k = 0; k < perRow; k++) { const j = Math.floor(rnd() * n); if (j !== i) add(i, j, rnd()); }
  }
  for (let i = 0; i < n; i++) rows[i]!.set(i, out[i]! + leak);
  return fromRows(rows);
}
