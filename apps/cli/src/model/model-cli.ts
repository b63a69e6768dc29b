import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { comparisonTable } from '@strata/model';
import { AdminApiError, isAbort, UnreachableError } from '../admin-client';
import { DEFAULT_URL, UsageError, type CliEnvironment } from '../command-line';
import { cell } from '../output';

export const MODEL_HELP = `strata model: the model registry (versions, aliases, promotion, evaluation)

Usage:
  strata model list
  strata model show NAME
  strata model promote NAME VERSION --reason TEXT [--alias champion]
  strata model rollback NAME --reason TEXT [--alias champion]
  strata model eval VERSION [--model NAME] [--against champion|VERSION]
  strata model finetune …   (trains in this process; see "strata model finetune --help")

Options:
  --url URL      the server (default $STRATA_URL or ${DEFAULT_URL})
  --key KEY      an API key with the ml-engineer role (default $STRATA_KEY)
  --json         print the server's JSON
  --model NAME   the registered model for eval (default strata-assistant)
  --against REF  what eval compares with: an alias or a version number (default champion)

eval compares the metrics each version's evaluation persisted (perplexity and loss on its held-out split and on
the fixed reference set, latency, tokens/s, guardrail flag rate), and shows the promotion gate's recorded verdict.
`;

interface VersionView {
  name: string;
  version: number;
  aliases: string[];
  base_model: string;
  adapter: { type: string } | null;
  trained_on: { dataset: { namespace: string; name: string }; version: number }[];
  metrics: Record<string, number>;
  tags: Record<string, string>;
  run_id: string | null;
  gate: { passed: boolean; against: { alias: string; version: number | null }; reasons: string[] } | null;
  source: string;
  checksums: Record<string, string>;
  created_by: string;
  created_at: string;
}

/** `strata model …` against the server's `/models` routes. Resolves with the exit code. */
export async function runModelCli(
  argv: readonly string[],
  env: CliEnvironment,
  io: { stdout: Writable; signal?: AbortSignal },
): Promise<number> {
  let parsed;
  try {
    parsed = parseModelArgs(argv);
  } catch (error) {
    throw new UsageError((error as Error).message, 'model');
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    io.stdout.write(MODEL_HELP);
    return command || values.help ? 0 : 2;
  }
  const apiKey = values.key ?? env.STRATA_KEY;
  if (!apiKey) throw new UsageError('no API key: pass --key or set STRATA_KEY', 'model');
  const api = new ModelApi(values.url ?? env.STRATA_URL ?? DEFAULT_URL, apiKey, io.signal);
  const print = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const need = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`usage: strata model ${usage}`, `model ${command}`);
  };
  switch (command) {
    case 'list': {
      need(0, 'list');
      const { models } = await api.get<{
        models: {
          name: string;
          latest_version: number | null;
          aliases: Record<string, number>;
          created_at: string;
        }[];
      }>('models');
      if (values.json) return (print(JSON.stringify({ models }, null, 2)), 0);
      print(
        table(
          ['NAME', 'LATEST', 'ALIASES', 'CREATED'],
          models.map((m) => [
            m.name,
            String(m.latest_version ?? '-'),
            Object.entries(m.aliases)
              .map(([a, v]) => `@${a}=v${v}`)
              .join(' ') || '-',
            m.created_at,
          ]),
        ),
      );
      return 0;
    }
    case 'show': {
      need(1, 'show NAME');
      const shown = await api.get<{ name: string; versions: VersionView[] }>(
        `models/${encodeURIComponent(args[0]!)}`,
      );
      if (values.json) return (print(JSON.stringify(shown, null, 2)), 0);
      print(
        table(
          ['VERSION', 'ALIASES', 'BASE', 'ADAPTER', 'TRAINED ON', 'PERPLEXITY', 'GATE', 'CREATED BY'],
          shown.versions.map((v) => [
            `v${v.version}`,
            v.aliases.map((a) => `@${a}`).join(' ') || '-',
            v.base_model,
            v.adapter?.type ?? '-',
            v.trained_on.map((t) => `${t.dataset.name}#${t.version}`).join(', ') || '-',
            v.metrics['heldout_perplexity'] === undefined ? '-' : v.metrics['heldout_perplexity'].toFixed(2),
            v.gate ? (v.gate.passed ? 'passed' : 'failed') : '-',
            v.created_by,
          ]),
        ),
      );
      return 0;
    }
    case 'promote': {
      need(2, 'promote NAME VERSION --reason TEXT [--alias champion]');
      const version = Number(args[1]);
      if (!Number.isInteger(version) || version < 1)
        throw new UsageError(`VERSION must be a version number, got ${args[1]}`, 'model promote');
      if (!values.reason)
        throw new UsageError('--reason is required: it goes into the audit trail', 'model promote');
      const alias = values.alias ?? 'champion';
      const moved = await api.post<{ version: number; previous_version: number | null }>(
        `models/${encodeURIComponent(args[0]!)}/aliases/${encodeURIComponent(alias)}`,
        { version, reason: values.reason },
      );
      if (values.json) return (print(JSON.stringify(moved, null, 2)), 0);
      print(`${cell(args[0])}@${cell(alias)}: v${moved.previous_version ?? '-'} -> v${moved.version}`);
      return 0;
    }
    case 'rollback': {
      need(1, 'rollback NAME --reason TEXT [--alias champion]');
      if (!values.reason)
        throw new UsageError('--reason is required: it goes into the audit trail', 'model rollback');
      const alias = values.alias ?? 'champion';
      const moved = await api.post<{ version: number; previous_version: number | null }>(
        `models/${encodeURIComponent(args[0]!)}/aliases/${encodeURIComponent(alias)}/rollback`,
        { reason: values.reason },
      );
      if (values.json) return (print(JSON.stringify(moved, null, 2)), 0);
      print(
        `${cell(args[0])}@${cell(alias)}: rolled back v${moved.previous_version ?? '-'} -> v${moved.version}`,
      );
      return 0;
    }
    case 'eval': {
      need(1, 'eval VERSION [--model NAME] [--against champion|VERSION]');
      const name = values.model ?? 'strata-assistant';
      const base = `models/${encodeURIComponent(name)}/versions/`;
      const candidate = await api.get<VersionView>(`${base}${encodeURIComponent(args[0]!)}`);
      const against = values.against ?? 'champion';
      let baseline: VersionView | null = null;
      try {
        baseline = await api.get<VersionView>(`${base}${encodeURIComponent(against)}`);
      } catch (error) {
        if (!(error instanceof AdminApiError && error.status === 404)) throw error;
      }
      if (values.json) return (print(JSON.stringify({ candidate, baseline }, null, 2)), 0);
      print(
        comparisonTable(
          { label: `v${candidate.version}`, metrics: candidate.metrics },
          baseline ? { label: `v${baseline.version} (${against})`, metrics: baseline.metrics } : null,
        ),
      );
      if (!baseline) print(`(${name} has no ${against} to compare with)`);
      if (candidate.gate) {
        print(
          `\ngate against @${candidate.gate.against.alias}${candidate.gate.against.version ? ` (v${candidate.gate.against.version})` : ''}: ${candidate.gate.passed ? 'PASSED' : 'FAILED'}`,
        );
        for (const reason of candidate.gate.reasons) print(`  ${cell(reason)}`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "model ${command}"`, 'model');
  }
}

function table(header: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => cell(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

class ModelApi {
  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly signal?: AbortSignal,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const base = new URL(this.url.endsWith('/') ? this.url : `${this.url}/`);
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (error) {
      if (isAbort(error)) throw error;
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new UnreachableError(base.origin, cause?.code ?? String(error));
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminApiError(
        response.status,
        'unexpected_response',
        `${method} /${path} did not answer JSON`,
      );
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; field?: string } }).error;
      throw new AdminApiError(
        response.status,
        error?.code ?? 'unexpected_response',
        error?.message ?? text,
        error?.field,
      );
    }
    return json as T;
  }
}

function parseModelArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      reason: { type: 'string' },
      alias: { type: 'string' },
      model: { type: 'string' },
      against: { type: 'string' },
    },
  });
}
