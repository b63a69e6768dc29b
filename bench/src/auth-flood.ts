/**
 * `pnpm bench:auth-flood`: what a flood of bad API keys costs authorised traffic and the audit trail.
 *
 * One generation service (starter model, PGlite, governance on) serves authorised `POST /generate` requests
 * (1 new token, 4 clients) in three phases, all in this run:
 * 1. baseline: no other traffic;
 * 2. flood: 16 clients send 10,000 requests with missing, forged or malformed keys at the same time, with the
 *    failure budget at its default (30 per minute per address): after it, bad keys get 429 without a lookup cost
 *    in the audit chain;
 * 3. the same flood against a second service whose failure budget never runs out (AUTH_FAILURES_PER_MINUTE at
 *    its maximum), so every bad key is looked up and counted.
 * The flood comes from a separate process. It prints authorised latency percentiles beside the baseline, the
 * bad requests' statuses, how many audit records the flood added, and whether the chain still verifies.
 */
import { spawn } from 'node:child_process';
import type { RunningGenerationService } from '@strata/application';
import { ADMIN_KEY, startStarterService } from './starter-service';
import { fixed, percentile, printTable } from './stats';

const AUTHORISED = 300;
const BAD = 10_000;

function start(authFailuresPerMinute: string): Promise<RunningGenerationService> {
  return startStarterService('bench-auth-flood', {
    MAX_NEW_TOKENS: '1',
    AUTH_FAILURES_PER_MINUTE: authFailuresPerMinute,
  });
}

async function authorised(url: string): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const client = async () => {
    while (next++ < AUTHORISED) {
      const started = performance.now();
      const response = await fetch(`${url}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ inputs: 'The future of AI is', parameters: { max_new_tokens: 1 } }),
      });
      await response.text();
      if (response.status !== 200) throw new Error(`authorised request answered ${response.status}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: 4 }, client));
  return latencies;
}

/**
 * The flood runs in a child process, as an attacker's traffic would, so that its HTTP client does not compete with
 * the server for this process's event loop. It prints the count of each status as JSON when done.
 */
const FLOOD_SCRIPT = `
const [url, total] = process.argv.slice(1);
const statuses = {};
let next = 0;
const headers = (i) => i % 3 === 0 ? {} : i % 3 === 1 ? { authorization: 'Bearer sk-strata-forged-' + i } : { 'x-api-key': 'nope' };
const client = async () => {
  while (next < Number(total)) {
    const i = next++;
    const r = await fetch(url + '/generate', { method: 'POST', headers: { 'content-type': 'application/json', ...headers(i) }, body: '{"inputs":"x"}' });
    await r.text();
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  }
};
Promise.all(Array.from({ length: 16 }, client)).then(() => process.stdout.write(JSON.stringify(statuses)));
`;

async function flood(url: string): Promise<Map<number, number>> {
  const child = spawn(process.execPath, ['-e', FLOOD_SCRIPT, url, String(BAD)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the flood process exited with ${code}`);
  return new Map(Object.entries(JSON.parse(out) as Record<string, number>).map(([k, v]) => [Number(k), v]));
}

async function phase(service: RunningGenerationService, withFlood: boolean) {
  const before = (await service.governance.audit.search({ limit: 100_000 })).length;
  const flooding = withFlood ? flood(service.url) : Promise.resolve(new Map<number, number>());
  const latencies = await authorised(service.url);
  const statuses = await flooding;
  await service.governance.flushDenials();
  const records = await service.governance.audit.search({ limit: 100_000 });
  const added = records.slice(before);
  const started = performance.now();
  const report = await service.governance.audit.verify();
  return {
    latencies,
    statuses,
    denied: added.filter((r) => r.recordClass === 'denied').length,
    verifyMs: performance.now() - started,
    verified: report.ok,
  };
}

async function main(): Promise<void> {
  const limited = await start('30');
  const unlimited = await start('1000000');
  try {
    // Warm both services up (model, JIT, caches) before measuring.
    await authorised(limited.url);
    await authorised(unlimited.url);
    const rows = [
      ['baseline (no flood)', await phase(limited, false)],
      ['10,000 bad keys, budget 30/min', await phase(limited, true)],
      ['10,000 bad keys, no budget', await phase(unlimited, true)],
    ] as const;
    printTable(
      [
        'authorised POST /generate',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'bad: 401',
        'bad: 429',
        'denied records',
        'chain',
      ],
      rows.map(([name, r]) => [
        name,
        fixed(percentile(r.latencies, 50)),
        fixed(percentile(r.latencies, 95)),
        fixed(percentile(r.latencies, 99)),
        String(r.statuses.get(401) ?? 0),
        String(r.statuses.get(429) ?? 0),
        String(r.denied),
        r.verified ? `verified (${fixed(r.verifyMs, 0)} ms)` : 'BROKEN',
      ]),
    );
  } finally {
    await limited.close();
    await unlimited.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
