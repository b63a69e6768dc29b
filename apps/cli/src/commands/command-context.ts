import type { Writable } from 'node:stream';
import type { AdminClient } from '../admin-client';

/** What every command runs with. Commands resolve with the process exit code. */
export interface CommandContext {
  client: AdminClient;
  /** Print the server's JSON instead of text. */
  json: boolean;
  stdout: Writable;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal?: AbortSignal;
  now: () => Date;
}
