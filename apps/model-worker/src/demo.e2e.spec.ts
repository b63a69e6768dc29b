import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDemo } from './demo';

const MODEL_DIR = path.resolve(__dirname, '../../../.strata/models');

describe('pnpm demo', () => {
  it('runs the closed loop from sample data to a served, audited, rated model version with lineage', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-demo-'));
    const lines: string[] = [];
    try {
      const result = await runDemo({
        dataDir,
        modelDir: MODEL_DIR,
        print: (l) => lines.push(l),
        trainSteps: 3,
        rows: 40,
      });
      const steps = lines.map((l) => /^\[\s*[\d.]+s\] (\S+(?: \S+)?)/.exec(l)?.[1]).filter(Boolean);
      // Each step of the loop happened, in order.
      const order = [
        'sample data',
        'ingest',
        'dataset version',
        'fine-tune',
        'evaluate',
        'register',
        'gate',
        'promote',
        'hot swap',
        'generate',
        'audit',
        'feedback',
        'feedback data',
        'lineage',
      ];
      let at = -1;
      for (const step of order) {
        const next = steps.findIndex((s, i) => i > at && s === step);
        expect([step, next]).not.toEqual([step, -1]);
        at = next;
      }
      expect(result.servedModel).toBe(`strata-assistant/v${result.modelVersion}`);
      expect(result.datasetVersion).toMatch(/^v[0-9a-f]{20}$/);
      expect(result.feedbackDatasetVersion).toMatch(/^v[0-9a-f]{20}$/);
      expect(result.lineage[0]).toMatch(/^source \S+\.(csv|jsonl)/);
      expect(result.lineage).toContain(`dataset crm ${result.datasetVersion}`);
      expect(
        result.lineage.some((l) =>
          l.startsWith(`model strata-assistant v${result.modelVersion} (trained on crm #1`),
        ),
      ).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);
});
