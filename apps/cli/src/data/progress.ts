import type { Writable } from 'node:stream';
import type { IngestProgress } from '@strata/data';

/**
 * A progress line for long runs: stage, tasks done, records, records per second and the stage's ETA. On a
 * terminal it redraws one line; otherwise it prints a line per stage change, so logs stay readable.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private stageStarted = Date.now();
  private stage = '';
  private lastDraw = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly now: () => number = Date.now,
  ) {}

  update(p: IngestProgress): void {
    const t = this.now();
    if (p.stage !== this.stage) {
      if (this.stage !== '' && this.out.isTTY) this.out.write('\n');
      this.stage = p.stage;
      this.stageStarted = t;
    } else if (this.out.isTTY && t - this.lastDraw < 100 && p.done < p.total) return;
    this.lastDraw = t;
    const line = this.format(p, t);
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${line}`);
    else if (p.done === 0 || p.done === p.total) this.out.write(`${line}\n`);
  }

  finish(): void {
    if (this.out.isTTY && this.stage !== '') this.out.write('\n');
  }

  format(p: IngestProgress, t: number): string {
    const elapsed = Math.max(0.001, (t - this.started) / 1000);
    const rate = p.records / elapsed;
    const width = 20;
    const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const stageElapsed = (t - this.stageStarted) / 1000;
    const eta =
      p.done > 0 && p.done < p.total
        ? ` ETA ${Math.ceil((stageElapsed / p.done) * (p.total - p.done))}s`
        : '';
    return `${p.stage.padEnd(8)} ${bar} ${p.done}/${p.total}  ${p.records} records  ${Math.round(rate)} rec/s${eta}`;
  }
}
