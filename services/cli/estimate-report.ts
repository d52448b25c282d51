// What `solvermesh estimate` prints: the solver's EntryEstimated beside the full solution's x_i.
// Pure: decoded events in, the reference value and the lines out.
import type { EntryEstimated, IterationCompleted, SolutionPublished } from '../../schemas/generated/events';
import { unpackFloat64 } from '../../schemas/packed';

/** x_i as the session's outputs last stated it. */
export interface Reference {
  readonly value: number;
  readonly iteration: number;
  readonly from: 'SolutionPublished' | 'IterationCompleted';
}

/**
 * x_i from the newest SolutionPublished that holds row i (its chunk), else from the newest
 * IterationCompleted that carries i among its largest changes; undefined when neither does.
 */
export function referenceValue(i: number, solutions: readonly SolutionPublished[], iterations: readonly IterationCompleted[]): Reference | undefined {
  let best: Reference | undefined;
  for (const s of solutions) {
    const len = s.values.length / 8;
    if (i < s.offset || i >= s.offset + len || (best && best.iteration > s.iteration)) continue;
    best = { value: unpackFloat64(s.values)[i - s.offset]!, iteration: s.iteration, from: 'SolutionPublished' };
  }
  if (best) return best;
  for (const it of iterations) {
    const k = it.x_change_indices.indexOf(i);
    if (k < 0 || (best && best.iteration > it.iteration)) continue;
    best = { value: it.x_change_values[k]!, iteration: it.iteration, from: 'IterationCompleted' };
  }
  return best;
}

/** Shortest text that reads back as the same double. */
const num = (v: number) => String(v);

export interface EstimateReport {
  readonly lines: string[];
  /** The estimate lies within its bound of the reference (undefined: no reference). */
  readonly withinBound: boolean | undefined;
}

export function estimateReport(e: EntryEstimated, ref: Reference | undefined): EstimateReport {
  const lines = [
    `session     ${e.session_id}  index ${e.index} of ${e.n}`,
    `estimate    ${num(e.estimate)}`,
    `bound       ${e.error_bound.toExponential(3)}  (|estimate - x_i|, confidence ${e.confidence})`,
    `method      ${e.method}, work ${e.work} ${e.method === 'LOCAL_PUSH' ? 'pushes' : 'walk steps'}`,
    `inputs      ${e.applied_through.map((p) => `${p.topic}[${p.partition}]@${p.offset}`).join(' ')}`,
  ];
  if (!ref) {
    lines.push('solution    none yet (no SolutionPublished holds this row and no IterationCompleted carries it)');
    return { lines, withinBound: undefined };
  }
  const diff = Math.abs(e.estimate - ref.value);
  const withinBound = diff <= e.error_bound;
  lines.push(`solution    x_i = ${num(ref.value)}  (${ref.from} at iteration ${ref.iteration})`);
  lines.push(`|diff|      ${diff.toExponential(3)}  ${withinBound ? 'within the bound' : 'EXCEEDS the bound (the solution is iterative: its own error counts too)'}`);
  return { lines, withinBound };
}
