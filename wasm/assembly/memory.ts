// Bump allocator over linear memory. One WASM instance serves one session, so nothing here is
// ever freed: dropping the instance returns everything at once (WASM memory cannot shrink).

let top: usize = 0;

/** Reserves `bytes` (16-byte aligned); returns 0 when memory cannot grow that far. */
export function reserve(bytes: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
  const start = top;
  const end = (start + bytes + 15) & ~(<usize>15);
  if (end < start) return 0; // address space overflow
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return start;
}

/**
 * Grows memory once so that `bytes` more can be reserved without growing again. Growing is cheap
 * per call but V8 reports each growth as external memory, which can set off a GC: a session's
 * twenty-odd reservations then cost milliseconds. Untouched pages cost nothing. False if memory
 * cannot grow that far (reserve() then grows as it goes, and fails where it must).
 */
export function pregrow(bytes: usize): bool {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
  const end = top + bytes;
  if (end < top) return false;
  const have = (<usize>memory.size()) << 16;
  if (end <= have) return true;
  return memory.grow(<i32>((end - have + 0xffff) >> 16)) >= 0;
}

@inline export function ldf(base: usize, i: i32): f64 {
  return load<f64>(base + ((<usize>i) << 3));
}
@inline export function stf(base: usize, i: i32, v: f64): void {
  store<f64>(base + ((<usize>i) << 3), v);
}
@inline export function ldi(base: usize, i: i32): i32 {
  return load<i32>(base + ((<usize>i) << 2));
}
@inline export function sti(base: usize, i: i32, v: i32): void {
  store<i32>(base + ((<usize>i) << 2), v);
}
/** Single-precision storage read as / written from f64 (the ILU factors' values). */
@inline export function ldh(base: usize, i: i32): f64 {
  return <f64>load<f32>(base + ((<usize>i) << 2));
}
@inline export function sth(base: usize, i: i32, v: f64): void {
  store<f32>(base + ((<usize>i) << 2), <f32>v);
}

/** The allocator's current end: what `release` can return to, if nothing was reserved after. */
export function heapTop(): usize {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
  return top;
}

/** Gives back everything reserved from `to` on (the caller owns all of it). */
export function release(to: usize): void { top = to; }
