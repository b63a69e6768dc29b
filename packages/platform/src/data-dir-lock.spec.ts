import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE, type DataDirLock } from './data-dir-lock';
import { PlatformError } from './platform-error';

const held: DataDirLock[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'strata-lock-'));
const take = (dir: string, options?: Parameters<typeof acquireDataDirLock>[1]) => {
  const lock = acquireDataDirLock(dir, options);
  held.push(lock);
  return lock;
};

/** A real idle process, to stand for another Strata process holding the lock. */
async function idleProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child as ChildProcess & { pid: number };
}

function writeLockOf(dir: string, pid: number, command: string): void {
  const holder = { pid, hostname: os.hostname(), command, startedAt: '2026-01-01T00:00:00.000Z' };
  writeFileSync(path.join(dir, DATA_DIR_LOCK_FILE), JSON.stringify(holder));
}

describe('acquireDataDirLock', () => {
  it('writes a lock file naming this process, and removes it on release', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const lock = take(dir);
    const file = path.join(dir, DATA_DIR_LOCK_FILE);
    const holder = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; hostname: string };
    expect(holder.pid).toBe(process.pid);
    expect(holder.hostname).toBe(os.hostname());
    lock.release();
    expect(existsSync(file)).toBe(false);
    // Released: the next process takes it at once.
    expect(take(dir).file).toBe(file);
  });

  it('refuses a second holder in the same process', () => {
    const dir = tempDir();
    take(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(
      `data directory ${dir} is in use by process ${process.pid}`,
    );
  });

  it('refuses while another live process holds the lock, naming the directory and the process', async () => {
    const dir = tempDir();
    const other = await idleProcess();
    writeLockOf(dir, other.pid, 'node apps/standalone/dist/main.js');
    let refusal: unknown;
    try {
      acquireDataDirLock(dir);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(PlatformError);
    const message = (refusal as Error).message;
    expect(message).toContain(dir);
    expect(message).toContain(`process ${other.pid}`);
    expect(message).toContain('node apps/standalone/dist/main.js');
    // The holder's lock is left untouched.
    expect(JSON.parse(readFileSync(path.join(dir, DATA_DIR_LOCK_FILE), 'utf8'))).toMatchObject({
      pid: other.pid,
    });
  });

  it('takes over a stale lock left by a killed process', async () => {
    const dir = tempDir();
    const other = await idleProcess();
    writeLockOf(dir, other.pid, 'killed holder');
    expect(() => acquireDataDirLock(dir)).toThrow('in use');
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    const lock = take(dir);
    const holder = JSON.parse(readFileSync(lock.file, 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
  });

  it('takes over a torn lock file (its writer died before writing it)', () => {
    const dir = tempDir();
    const file = path.join(dir, DATA_DIR_LOCK_FILE);
    writeFileSync(file, '{"pid": 12');
    const past = new Date(Date.now() - 60_000);
    utimesSync(file, past, past);
    const lock = take(dir);
    expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('never takes over a lock held on another host, which it cannot probe', () => {
    const dir = tempDir();
    const holder = {
      pid: 1,
      hostname: 'other-host',
      command: 'strata',
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    writeFileSync(path.join(dir, DATA_DIR_LOCK_FILE), JSON.stringify(holder));
    expect(() => acquireDataDirLock(dir, { isAlive: () => false })).toThrow('process 1 on other-host');
  });

  it('lets only one of two contenders win a stale lock', () => {
    const dir = tempDir();
    writeLockOf(dir, 999_999, 'dead holder');
    const first = take(dir, {
      isAlive: (pid) => pid !== 999_999,
      self: { pid: 4001, hostname: os.hostname(), command: 'a' },
    });
    expect(first.file).toBe(path.join(dir, DATA_DIR_LOCK_FILE));
    // The second contender read the same stale lock a moment ago; now it finds the first one's live lock.
    expect(() =>
      acquireDataDirLock(dir, {
        isAlive: (pid) => pid === 4001,
        self: { pid: 4002, hostname: os.hostname(), command: 'b' },
      }),
    ).toThrow('in use by process 4001');
  });
});
