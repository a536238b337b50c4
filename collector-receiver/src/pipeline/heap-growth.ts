/**
 * How far V8 lets the old generation grow past what survived the last full GC before it collects
 * again. The receiver's byte limits (LATTICE_MAX_QUEUED_BYTES, LATTICE_MAX_INFLIGHT_BYTES) bound
 * what is live; RSS is what is live plus the garbage V8 lets pile up, and that part is V8's
 * heuristic: on a machine with gigabytes of memory it allows up to 4× the live size.
 *
 * Measured (issue #5, traces protobuf on PostgreSQL at 2× its capacity, receiver sampled every
 * 100 ms): queued rows, request bodies and flush parameters live long enough to be promoted
 * (~70 MB/s of old-space allocation); a full GC finds 17–39 MB live, yet the old space reached
 * 131 MB before each one, and the receiver's peak RSS was 250–263 MB (goal ≤ 256). With growth
 * capped at 2× (HEAP_GROWING_PERCENT = 100): see the commit that added this file for the A/B.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth between full GCs, percent of the live size (100 = up to 2×). */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Caps V8's old-generation growth factor at 1 + percent/100 for this process (V8's
 * --heap-growing-percent, read at every full GC, so it takes effect on the next one). Call once
 * at startup, before load; it changes the whole process, so the receiver's entry point calls it,
 * not a library.
 */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
