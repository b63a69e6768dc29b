import { setFlagsFromString } from 'node:v8';

/**
 * Has V8 run WebAssembly with its baseline compiler (Liftoff) only, never tiering hot functions up to TurboFan.
 * PGlite is the only WebAssembly Strata runs. The optimising tier costs it about 50 MB of resident memory and a
 * quarter of its open time; without it, the audit log's write spends about 30% more time in WebAssembly
 * (0.36 → 0.48 ms in a loop), and long scans run slower too. The standalone takes that trade for its memory goal.
 * The flag is process-wide, so only a deployable calls this (the standalone, the CLI), at start, before the
 * first database opens; a library embedding Strata keeps its own V8 settings.
 */
export function preferBaselineWasmCompiler(): void {
  setFlagsFromString('--liftoff-only');
}
