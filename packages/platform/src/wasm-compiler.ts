import { setFlagsFromString } from 'node:v8';

/**
 * Has V8 run WebAssembly with its baseline compiler (Liftoff) only, never tiering hot functions up to TurboFan.
 * PGlite is the only WebAssembly Strata runs. The optimising tier costs it about 50 MB of resident memory and a
 * quarter of its open time; on insert-and-select round trips like the audit log's it bought nothing we could
 * measure (about 0.31 ms of CPU per round trip either way). Long scans may run slower on Liftoff code.
 * The flag is process-wide, so only a deployable calls this (the standalone, the CLI), at start, before the
 * first database opens; a library embedding Strata keeps its own V8 settings.
 */
export function preferBaselineWasmCompiler(): void {
  setFlagsFromString('--liftoff-only');
}
