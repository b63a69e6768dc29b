import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PlatformError } from './platform-error';

/** The lock file's name inside a data directory. */
export const DATA_DIR_LOCK_FILE = 'strata.lock';

/** What the lock file records about its holder. */
export interface DataDirLockHolder {
  pid: number;
  hostname: string;
  /** The holder's command line, to name it in the error a second process gets. */
  command: string;
  startedAt: string;
}

/** A held data-directory lock. `release` is idempotent and also runs when the process exits. */
export interface DataDirLock {
  readonly dir: string;
  readonly file: string;
  release(): void;
}

export interface DataDirLockOptions {
  /** Whether a process is alive. Injected by tests; defaults to a signal-0 probe. */
  isAlive?: (pid: number) => boolean;
  /** This process's identity, for tests that play two processes. */
  self?: Pick<DataDirLockHolder, 'pid' | 'hostname' | 'command'>;
}

/** Lock files this process holds: a second service in the same process is refused too. */
const heldHere = new Set<string>();

/** A take-over that was interrupted (its process killed) leaves its marker folder; after this long it is ignored. */
const TAKEOVER_MARKER_TTL_MS = 10_000;

/**
 * Takes the exclusive lock on a data directory: the embedded database and the local lake beneath it get one
 * writer. Embedded PostgreSQL (PGlite) corrupts its files when two processes open them, so a second process must be
 * refused before it opens anything.
 *
 * The lock is a file created with `O_EXCL` holding the holder's pid, host and command. A lock whose holder is no
 * longer running on this host (a killed process) is stale and taken over. Take-overs are serialised by an atomic
 * `mkdir` marker, so two processes that both find the same stale lock cannot both win. A lock held by another host
 * (a data directory on a network filesystem) cannot be probed, so it is never taken over: remove the file by hand
 * once that process is known to be gone.
 */
export function acquireDataDirLock(dir: string, options: DataDirLockOptions = {}): DataDirLock {
  const resolved = path.resolve(dir);
  mkdirSync(resolved, { recursive: true });
  const file = path.join(resolved, DATA_DIR_LOCK_FILE);
  const isAlive = options.isAlive ?? processIsAlive;
  const self: DataDirLockHolder = {
    pid: options.self?.pid ?? process.pid,
    hostname: options.self?.hostname ?? os.hostname(),
    command: options.self?.command ?? process.argv.join(' '),
    startedAt: new Date().toISOString(),
  };
  const content = `${JSON.stringify(self)}\n`;

  for (let attempt = 0; attempt < 5; attempt += 1) {
    if (tryCreate(file, content)) return heldLock(resolved, file, content);
    const holder = readHolder(file);
    if (holder === 'missing') continue;
    if (holder === 'unreadable' && justWritten(file)) {
      // A holder may be between creating the file and writing its content: give it a moment.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      continue;
    }
    if (holder !== 'unreadable' && !isStale(file, holder, self, isAlive)) {
      throw new PlatformError(
        'unavailable',
        `data directory ${resolved} is in use by process ${holder.pid} on ${holder.hostname} ` +
          `(${holder.command}, since ${holder.startedAt}). One process at a time may write to it: stop that ` +
          `process, or give this one its own STRATA_DATA_DIR.`,
        { retriable: false },
      );
    }
    takeOverStale(file, holder === 'unreadable' ? undefined : holder);
  }
  throw new PlatformError(
    'unavailable',
    `could not take the lock on data directory ${resolved}: other processes keep changing ${file}`,
    { retriable: false },
  );
}

function tryCreate(file: string, content: string): boolean {
  try {
    writeFileSync(file, content, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readHolder(file: string): DataDirLockHolder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<DataDirLockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.hostname !== 'string') return 'unreadable';
    return {
      pid: parsed.pid,
      hostname: parsed.hostname,
      command: typeof parsed.command === 'string' ? parsed.command : 'unknown command',
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : 'an unknown time',
    };
  } catch {
    // A holder killed between creating the file and writing it leaves it empty or torn.
    return 'unreadable';
  }
}

function isStale(
  file: string,
  holder: DataDirLockHolder,
  self: DataDirLockHolder,
  isAlive: (pid: number) => boolean,
): boolean {
  if (holder.hostname !== self.hostname) return false;
  // Our own pid in the file is a leftover of an earlier process that had the same pid (containers restart as pid 1).
  if (holder.pid === self.pid) return !heldHere.has(file);
  return !isAlive(holder.pid);
}

/**
 * Removes a stale lock, under the take-over marker, after checking that the file still names the same dead holder:
 * another process may have taken it over (and now hold it alive) between our read and our removal.
 */
function takeOverStale(file: string, seen: DataDirLockHolder | undefined): void {
  const marker = `${file}.takeover`;
  try {
    mkdirSync(marker);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    removeAbandonedMarker(marker);
    return;
  }
  try {
    const now = readHolder(file);
    const same =
      now === 'unreadable'
        ? seen === undefined
        : now !== 'missing' && seen !== undefined && now.pid === seen.pid && now.startedAt === seen.startedAt;
    if (same) {
      // Renaming first keeps the removal atomic for anyone reading the lock at this moment.
      const aside = `${file}.stale-${process.pid}`;
      renameSync(file, aside);
      unlinkSync(aside);
    }
  } finally {
    rmdirSync(marker);
  }
}

function justWritten(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < 1_000;
  } catch {
    return false;
  }
}

function removeAbandonedMarker(marker: string): void {
  try {
    if (Date.now() - statSync(marker).mtimeMs > TAKEOVER_MARKER_TTL_MS) rmdirSync(marker);
  } catch {
    // Gone already, or removed by another process: the next attempt sees the outcome.
  }
}

function heldLock(dir: string, file: string, content: string): DataDirLock {
  heldHere.add(file);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldHere.delete(file);
    process.removeListener('exit', release);
    try {
      // Only our own lock is removed: a lock that was (wrongly) taken over by hand is left to its new holder.
      if (readFileSync(file, 'utf8') === content) unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return { dir, file, release };
}

/** Signal 0 checks existence without touching the process; EPERM means it exists under another user. */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
