/**
 * `pnpm bench:governance`: what governance costs.
 *
 * 1. Added latency per request: `POST /generate` (1 new token, starter model) through the full governance path
 *    (API key, policy decision, rate limit, input and output guardrails, audit append) against the same route
 *    and model with a governance service that does nothing, in the same process and run, requests alternating.
 *    Below it, each step's own time inside the governed requests (authentication, policy, limits, input and
 *    output guardrails, redaction, the audit record and its database write, and the outbox relay's statements
 *    per audited record), then this benchmark's figures from before the change. The machine may be shared:
 *    the load average is printed beside the figures, and only same-run differences compare.
 * 2. Audit append throughput on PGlite and on PostgreSQL, one writer and 64 concurrent writers (group commit).
 * 3. Audit verify throughput.
 *
 * Run through `scripts/integration/run.mjs`, which starts PostgreSQL and passes STRATA_IT_POSTGRES_URL.
 */
import { generateKeyPairSync } from 'node:crypto';
import os from 'node:os';
import { createGenerationApp } from '@strata/application';
import {
  AuditLog,
  compileGuardrailPolicy,
  DEFAULT_GUARDRAIL_POLICY,
  GOVERNANCE_MIGRATIONS,
  GovernanceService,
  parseGuardrailPolicy,
  type Action,
  type Caller,
  type CompiledGuardrails,
  type GuardrailResult,
} from '@strata/governance';
import {
  createLogger,
  createMetricsRegistry,
  migrate,
  PGliteDatabase,
  PLATFORM_MIGRATIONS,
  PostgresDatabase,
  type Database,
} from '@strata/platform';
import { startStarterService } from './starter-service';
import { fixed, percentile, printTable } from './stats';

// BENCH_REQUESTS shrinks a run to a quick check that every row works.
const REQUESTS = Number(process.env['BENCH_REQUESTS'] ?? 1000);
const WARMUP = Math.ceil(REQUESTS / 10);

/** The same API with a governance service that authenticates nobody and records nothing: the baseline. */
class UngovernedService extends GovernanceService {
  private readonly nobody: Caller = {
    principal: { keyId: 'bench', tenant: 'bench', name: 'bench', roles: ['admin'], limits: {} },
    guardrails: compileGuardrailPolicy(parseGuardrailPolicy({})),
  };
  override async authenticate(): Promise<Caller> {
    return this.nobody;
  }
  override async authorize(_caller: Caller, _action: Action): Promise<void> {}
  override async admit(): Promise<void> {}
  override async guardInput(_caller: Caller, text: string): Promise<GuardrailResult> {
    return { text, actions: [] };
  }
  override async record(): Promise<unknown> {
    return undefined;
  }
  override redactForAudit(text: string): string {
    return text;
  }
}

/** The outbox relay's batches (a read and a mark each, in the background) during the measured requests. */
let relay = { batches: 0, records: 0 };

async function addedLatency(): Promise<string[][]> {
  const governed = await startStarterService('bench');
  const g = governed.governance;
  const logger = createLogger({ name: 'bench', level: 'error' });
  const sameApiWith = async (governance: GovernanceService) => {
    const app = await createGenerationApp(
      {
        modelHost: governed.host,
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        logger,
        version: 'bench',
        governance,
        metricsPublic: true,
        retentionDays: { generation: 183, denied: 365, admin: 2555, erasure: 2555, retention: 2555 },
      },
      { HTTP_BODY_LIMIT: 1024 * 1024 },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app;
  };
  const ungoverned = await sameApiWith(new UngovernedService(g.keys, g.limiter, g.audit, {}));
  /** Auth, policy, limits and guardrails without the audit record: shows what the audit write costs. */
  class UnauditedService extends GovernanceService {
    override async record(): Promise<unknown> {
      return undefined;
    }
  }
  const unaudited = await sameApiWith(
    new UnauditedService(g.keys, g.limiter, g.audit, DEFAULT_GUARDRAIL_POLICY),
  );
  const asyncAudit = await sameApiWith(
    new GovernanceService(g.keys, g.limiter, g.audit, DEFAULT_GUARDRAIL_POLICY, { auditWrite: 'async' }),
  );
  const { apiKey } = await g.keys.create(
    { tenant: 'bench', name: 'app', roles: ['app'], limits: { requestsPerMinute: 1_000_000 } },
    null,
  );
  const body = JSON.stringify({
    inputs: 'Please summarise the support ticket from our customer about the delayed delivery.',
    parameters: { max_new_tokens: 1 },
  });
  const send = async (url: string) => {
    const started = performance.now();
    const response = await fetch(`${url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body,
    });
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    return performance.now() - started;
  };
  // Per-step times inside the governed service, from the same requests.
  const steps = new Map<string, number[]>();
  const timed = <A extends unknown[], R>(name: string, step: (...args: A) => Promise<R>) => {
    steps.set(name, []);
    return async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await step(...args);
      } finally {
        steps.get(name)!.push(performance.now() - started);
      }
    };
  };
  // Work that happens in pieces during a governed request (output guardrails, redaction, the audit statement)
  // is summed per request; `inFlight` says which variant's request is running.
  let inFlight: keyof typeof targets | undefined;
  const perRequest = new Map<string, number>();
  const add = (name: string, ms: number) => perRequest.set(name, (perRequest.get(name) ?? 0) + ms);
  const OUTPUT_GUARD = 'output guardrails (streaming guard)';
  const REDACT = 'redaction of prompt and answer for the audit record';
  const AUDIT_SQL = 'audit record: its database insert (after the answer, from the journal)';
  const authenticate = g.authenticate.bind(g);
  g.authenticate = timed(
    'authenticate (API key)',
    async (...args: Parameters<GovernanceService['authenticate']>) => {
      const caller = await authenticate(...args);
      const base = caller.guardrails;
      const guardrails = Object.create(base) as CompiledGuardrails;
      guardrails.apply = (text, stage) => {
        const started = performance.now();
        try {
          return base.apply(text, stage);
        } finally {
          if (stage === 'output') add(OUTPUT_GUARD, performance.now() - started);
        }
      };
      return { ...caller, guardrails };
    },
  );
  g.authorize = timed('authorize (permission, allowlist, cap)', g.authorize.bind(g));
  g.admit = timed('admit (rate limits)', g.admit.bind(g));
  g.guardInput = timed('input guardrails', g.guardInput.bind(g));
  const redact = g.redactForAudit.bind(g);
  g.redactForAudit = (text: string) => {
    const started = performance.now();
    try {
      return redact(text);
    } finally {
      add(REDACT, performance.now() - started);
    }
  };
  g.record = timed('audit record (durable before the answer)', g.record.bind(g));
  const database = governed.runtime.database;
  const query = database.query.bind(database);
  let relayBatches = 0;
  database.query = (async (sql: string, params?: readonly unknown[]) => {
    const started = performance.now();
    try {
      return await query(sql, params);
    } finally {
      const ms = performance.now() - started;
      if (sql.startsWith('with records as') && inFlight === 'governed') add(AUDIT_SQL, ms);
      if (sql.startsWith('update strata_outbox set sent_at')) relayBatches += 1;
    }
  }) as typeof database.query;
  const targets = {
    governed: governed.url,
    off: await ungoverned.getUrl(),
    async: await asyncAudit.getUrl(),
    unaudited: await unaudited.getUrl(),
  };
  const times = {
    governed: [] as number[],
    off: [] as number[],
    async: [] as number[],
    unaudited: [] as number[],
  };
  const pieces = new Map<string, number[]>(
    [OUTPUT_GUARD, REDACT, AUDIT_SQL].map((name) => [name, [] as number[]]),
  );
  let relayAtStart = 0;
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    if (i === WARMUP) relayAtStart = relayBatches;
    // Alternate, so drift in machine load falls on every variant alike.
    for (const variant of ['off', 'governed', 'async', 'unaudited'] as const) {
      perRequest.clear();
      inFlight = variant;
      const ms = await send(targets[variant]);
      // Audit records reach the database after their answer left (asynchronous audit, and the synchronous
      // one's insert from the journal, which made the record durable before the answer), on this same thread
      // as the benchmark's client: let that finish (as it would in the pause before a next request) rather than
      // charge it to the next variant's request.
      if (variant === 'async' || variant === 'governed') await g.audit.drain();
      inFlight = undefined;
      if (i < WARMUP) continue;
      times[variant].push(ms);
      if (variant === 'governed') for (const [name, values] of pieces) values.push(perRequest.get(name) ?? 0);
    }
  }
  // Both audited variants (sync and async) write one record per round.
  relay = { batches: relayBatches - relayAtStart, records: 2 * REQUESTS };
  await Promise.all([ungoverned.close(), asyncAudit.close(), unaudited.close()]);
  await governed.close();
  const row = (name: string, values: number[]) => [
    name,
    fixed(percentile(values, 50), 3),
    fixed(percentile(values, 99), 3),
  ];
  const added = (name: string, values: number[]) => [
    name,
    fixed(percentile(values, 50) - percentile(times.off, 50), 3),
    fixed(percentile(values, 99) - percentile(times.off, 99), 3),
  ];
  // On a shared machine, load swings hit neighbouring requests alike: the differences within each round (one
  // request of each variant, back to back) are steadier than differences of whole-run percentiles.
  const paired = (name: string, values: number[], base: number[]) => {
    const differences = values.map((value, i) => value - base[i]!);
    return [name, fixed(percentile(differences, 50), 3), fixed(percentile(differences, 99), 3)];
  };
  const stepRows = [...steps, ...pieces].map(([name, values]) => [
    `  step: ${name}`,
    fixed(percentile(values.slice(-REQUESTS), 50), 3),
    fixed(percentile(values.slice(-REQUESTS), 99), 3),
  ]);
  return [
    row('governance off (baseline)', times.off),
    row('governance on, AUDIT_WRITE=sync (default)', times.governed),
    row('governance on, AUDIT_WRITE=async', times.async),
    row('auth + policy + limits + guardrails, no audit', times.unaudited),
    added('added, sync audit', times.governed),
    added('added, async audit', times.async),
    added('added, no audit', times.unaudited),
    paired('added, sync audit (per-round difference)', times.governed, times.off),
    paired('added, async audit (per-round difference)', times.async, times.off),
    paired('added, no audit (per-round difference)', times.unaudited, times.off),
    ...stepRows,
  ];
}

async function auditThroughput(name: string, open: () => Promise<Database>): Promise<string[][]> {
  const database = await open();
  await migrate(database, PLATFORM_MIGRATIONS);
  await migrate(database, GOVERNANCE_MIGRATIONS);
  const { privateKey } = generateKeyPairSync('ed25519');
  const log = new AuditLog(database, { signingKey: privateKey, checkpointEvery: 100 });
  const entry = (i: number) => ({
    recordClass: 'generation' as const,
    action: 'generate',
    outcome: 'allowed',
    keyId: `key_${i % 10}`,
    tenant: 'bench',
    model: 'strata/starter-gpt2',
    subjectId: `user-${i % 100}`,
    details: { route: '/generate', prompt_tokens: 12, completion_tokens: 64, latency_ms: 80 },
    personal: {
      input: 'Summarise the ticket from <PERSON> about order 1234.',
      output: 'The customer reports a delay.',
    },
  });
  const rows: string[][] = [];
  let next = 0;
  for (const writers of [1, 64]) {
    const count = writers === 1 ? 1000 : 5000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let done = 0; done < count / writers; done++) await log.append(entry(next++));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    rows.push([name, `append, ${writers} writer${writers === 1 ? '' : 's'}`, fixed(count / seconds, 0)]);
  }
  const started = performance.now();
  const report = await log.verify();
  const seconds = (performance.now() - started) / 1000;
  if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.firstProblem)}`);
  rows.push([
    name,
    `verify (${report.records} records, ${report.checkpoints} checkpoints)`,
    fixed(report.records / seconds, 0),
  ]);
  await database.close();
  return rows;
}

/** This benchmark's figures before the change, as printed on an idle machine at commit 2e9c2a6. */
const BEFORE: string[][] = [
  ['governance off (baseline)', '4.456'],
  ['governance on, AUDIT_WRITE=sync (default)', '8.300'],
  ['added, sync audit', '3.844'],
  ['added, async audit', '3.416'],
  ['added, no audit', '0.419'],
  ['  step: authenticate (API key)', '0.027'],
  ['  step: authorize (permission, allowlist, cap)', '0.003'],
  ['  step: admit (rate limits)', '0.004'],
  ['  step: input guardrails', '0.037'],
  ['  step: audit record (durable before the answer)', '2.661'],
];

/** 1-minute load average: the machine is shared, so every figure is printed beside it. */
const load = () => os.loadavg()[0]!.toFixed(2);

async function main(): Promise<void> {
  process.stdout.write(
    `governance: added latency over ${REQUESTS} requests each (POST /generate, 1 new token); ` +
      `load average ${load()} at start\n\n`,
  );
  printTable(['path', 'p50 ms', 'p99 ms'], await addedLatency());
  process.stdout.write(
    `\noutbox relay: ${relay.batches} batches (one read and one mark each) for ${relay.records} audited records\n` +
      `load average ${load()} at the end of the latency rows\n`,
  );
  process.stdout.write(
    '\nbefore (issue 12): governance added +5.3 ms p50 over a 4.7 ms baseline (sync audit); goal: ≤ 1 ms\n' +
      '\nbefore the audit journal (idle machine): baseline 4.2-4.3 ms; added, sync audit 2.0-2.4 ms; added,\n' +
      'async audit 0.4-0.6 ms; the audit database write inside the sync request 1.15 ms\n' +
      '\nbefore the single-statement audit write and PGlite prepared statements (this benchmark at 2e9c2a6,\n' +
      'idle machine):\n\n',
  );
  printTable(['path', 'p50 ms'], BEFORE);
  const url = process.env['STRATA_IT_POSTGRES_URL'];
  const rows = await auditThroughput('PGlite', () => PGliteDatabase.open());
  if (url) rows.push(...(await auditThroughput('PostgreSQL 15', () => PostgresDatabase.open({ url }))));
  process.stdout.write(`\naudit log throughput (load average ${load()})\n\n`);
  printTable(['database', 'operation', 'records/s'], rows);
  process.stdout.write(
    '\nbefore (2e9c2a6, idle machine): PGlite append, 1 writer 1134/s; 64 writers 5309/s\n',
  );
  if (!url) process.stdout.write('\n(PostgreSQL skipped: run through scripts/integration/run.mjs)\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
