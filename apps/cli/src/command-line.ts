import { parseArgs } from 'node:util';
import type { AuditFilter, AuditSearch, CreateKeyRequest, KeyLimits } from './admin-client';

/**
 * The `strata` command line: which commands exist, their options and help, and the parser that turns `argv`
 * into a typed {@link Invocation} or a {@link UsageError} that names the problem.
 *
 * Parsing is Node's `util.parseArgs` (tokens mode) plus checks of our own: parseArgs splits `--flag value`,
 * `--flag=value`, `-h` and `--` reliably, and we turn its tokens into messages that name the flag and the
 * command, instead of relying on the wording of Node's own errors.
 */

/** A command-line mistake: `strata` prints the message and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  /** @param command the command whose help to point at, e.g. `keys create`; undefined for the top level. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** The environment variables `strata` reads; main.ts reads them once and nothing else touches `process.env`. */
export interface CliEnvironment {
  STRATA_URL?: string | undefined;
  STRATA_KEY?: string | undefined;
  /** `strata data --local` with an s3:// input: the S3 endpoint, region and path-style addressing. */
  S3_ENDPOINT?: string | undefined;
  S3_REGION?: string | undefined;
  S3_FORCE_PATH_STYLE?: string | undefined;
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface Connection {
  url: string;
  apiKey: string;
}

export type Command =
  | { name: 'keys create'; request: CreateKeyRequest; guardrailsFile: string | undefined }
  | { name: 'keys list'; tenant: string | undefined }
  | { name: 'keys revoke'; keyId: string }
  | { name: 'audit verify' }
  | { name: 'audit search'; search: AuditSearch }
  | { name: 'audit export'; filter: AuditFilter; out: string | undefined }
  | { name: 'subjects erase'; subjectId: string }
  | { name: 'retention run' };

export type CommandName = Command['name'];

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; connection: Connection; json: boolean };

interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once, each value kept. */
  multiple?: boolean;
  /** The value's placeholder in help, e.g. `TENANT`. */
  value?: string;
  help: string;
}

interface CommandSpec {
  name: CommandName;
  args: readonly string[];
  summary: string;
  usage: string;
  options: Readonly<Record<string, OptionSpec>>;
  notes?: string;
}

const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: {
    type: 'string',
    value: 'URL',
    help: `generation API base URL (default $STRATA_URL, else ${DEFAULT_URL})`,
  },
  key: {
    type: 'string',
    value: 'KEY',
    help: 'API key (default $STRATA_KEY, which keeps it out of `ps` and history)',
  },
  help: { type: 'boolean', help: 'show help' },
};

const JSON_OPTION = { json: { type: 'boolean', help: 'print JSON for scripts instead of text' } } as const;

const FILTER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  from: { type: 'string', value: 'TIME', help: 'records at or after TIME' },
  to: { type: 'string', value: 'TIME', help: 'records before TIME' },
  'key-id': { type: 'string', value: 'KEY_ID', help: 'records of this API key' },
  tenant: { type: 'string', value: 'TENANT', help: 'records of this tenant' },
  model: { type: 'string', value: 'MODEL', help: 'records about this model' },
  'record-class': {
    type: 'string',
    value: 'CLASS',
    help: 'generation, denied, admin, erasure or retention',
  },
};

const TIME_NOTE =
  'TIME is an ISO 8601 date-time with an offset (2026-01-31T09:00:00Z, 2026-01-31T10:00:00+01:00)\n' +
  'or a date (2026-01-31, read as midnight UTC).';

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'keys create',
    args: [],
    summary: 'create an API key and print it, this once',
    usage: 'strata keys create --tenant TENANT --name NAME --role ROLE [--role ROLE …] [options]',
    options: {
      tenant: { type: 'string', value: 'TENANT', help: 'tenant or team the key belongs to (required)' },
      name: { type: 'string', value: 'NAME', help: 'what the key is for (required)' },
      role: {
        type: 'string',
        multiple: true,
        value: 'ROLE',
        help: 'admin, data-engineer, ml-engineer, app or auditor; repeat for more (at least one)',
      },
      model: {
        type: 'string',
        multiple: true,
        value: 'MODEL',
        help: 'a model the key may use; repeat for more (default: every served model)',
      },
      rpm: { type: 'string', value: 'N', help: 'requests per minute' },
      tpm: { type: 'string', value: 'N', help: 'prompt plus generated tokens per minute' },
      'max-new-tokens': { type: 'string', value: 'N', help: "cap on max_new_tokens, below the role's cap" },
      expires: { type: 'string', value: 'TIME', help: 'when the key stops working' },
      guardrails: {
        type: 'string',
        value: 'FILE',
        help: "a JSON guardrail policy for this key (default: the server's policy)",
      },
      ...JSON_OPTION,
    },
    notes: TIME_NOTE,
  },
  {
    name: 'keys list',
    args: [],
    summary: 'list API keys (never the keys themselves)',
    usage: 'strata keys list [--tenant TENANT] [--json]',
    options: { tenant: { type: 'string', value: 'TENANT', help: "only this tenant's keys" }, ...JSON_OPTION },
  },
  {
    name: 'keys revoke',
    args: ['KEY_ID'],
    summary: 'revoke an API key at once',
    usage: 'strata keys revoke KEY_ID [--json]',
    options: { ...JSON_OPTION },
  },
  {
    name: 'audit verify',
    args: [],
    summary: 'verify the audit hash chain and its signed checkpoints',
    usage: 'strata audit verify [--json]',
    options: { ...JSON_OPTION },
    notes: 'Exits 0 when the chain is intact, and 1 (printing the first bad record and why) when it is not.',
  },
  {
    name: 'audit search',
    args: [],
    summary: 'search audit records, oldest first',
    usage: 'strata audit search [filters] [--after-seq SEQ] [--limit N] [--json]',
    options: {
      ...FILTER_OPTIONS,
      'after-seq': { type: 'string', value: 'SEQ', help: 'records after this sequence number (paging)' },
      limit: { type: 'string', value: 'N', help: 'at most N records (server default 100, largest 10000)' },
      ...JSON_OPTION,
    },
    notes: TIME_NOTE,
  },
  {
    name: 'audit export',
    args: [],
    summary: 'export audit records as JSON Lines',
    usage: 'strata audit export [filters] [--out FILE]',
    options: {
      ...FILTER_OPTIONS,
      out: {
        type: 'string',
        value: 'FILE',
        help: 'write to FILE (created 0600, replaced atomically) instead of stdout',
      },
    },
    notes: `${TIME_NOTE}\nThe records carry decrypted personal fields: keep the file as you keep the audit trail.`,
  },
  {
    name: 'subjects erase',
    args: ['SUBJECT_ID'],
    summary: "erase a data subject's personal fields (GDPR Art. 17)",
    usage: 'strata subjects erase SUBJECT_ID [--json]',
    options: { ...JSON_OPTION },
    notes:
      'Destroys the subject’s key: their prompts and answers become unreadable; the chain still verifies.',
  },
  {
    name: 'retention run',
    args: [],
    summary: 'remove payloads older than their retention period',
    usage: 'strata retention run [--json]',
    options: { ...JSON_OPTION },
  },
];

const GROUPS = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]!))];

/** Every option of every command, so tokens are split the same way whichever command they belong to. */
const ALL_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.assign(
  { version: { type: 'boolean', help: 'print the version' } },
  GLOBAL_OPTIONS,
  ...COMMANDS.map((c) => c.options),
);

/**
 * Parses `argv` (without `node` and the script). Global options may stand anywhere; `--` ends options, so
 * `strata subjects erase -- -odd-id` works.
 *
 * @throws UsageError naming the unknown command or option, the missing value, the bad number or time, the
 *   stray argument, or the missing API key.
 */
export function parseCommandLine(argv: readonly string[], env: CliEnvironment): Invocation {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(ALL_OPTIONS).map(([name, spec]) => [
        name,
        name === 'help' ? { type: spec.type, short: 'h' } : { type: spec.type },
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals = tokens.flatMap((t) => (t.kind === 'positional' ? [t.value] : []));
  const options = tokens.flatMap((t) => (t.kind === 'option' ? [t] : []));
  const help = options.some((t) => t.name === 'help');

  const [group, action] = positionals;
  if (group === undefined) {
    if (help) return { kind: 'help', text: topHelp() };
    if (options.length === 1 && options[0]!.name === 'version' && options[0]!.value === undefined) {
      return { kind: 'version' };
    }
    const first = options[0];
    throw new UsageError(
      first && !Object.hasOwn(GLOBAL_OPTIONS, first.name) && first.name !== 'version'
        ? `unknown option ${first.rawName}`
        : 'no command given',
    );
  }
  if (!GROUPS.includes(group)) {
    throw new UsageError(`unknown command "${group}"; the commands are ${GROUPS.join(', ')}`);
  }
  const actions = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.split(' ')[1]!);
  if (action === undefined) {
    if (help) return { kind: 'help', text: groupHelp(group) };
    throw new UsageError(`"${group}" needs a subcommand: ${actions.join(', ')}`, group);
  }
  const spec = COMMANDS.find((c) => c.name === `${group} ${action}`);
  if (!spec) {
    throw new UsageError(`unknown command "${group} ${action}"; "${group}" has ${actions.join(', ')}`, group);
  }
  if (help) return { kind: 'help', text: commandHelp(spec) };

  const values = optionValues(spec, options);
  const args = positionals.slice(2);
  if (args.length > spec.args.length) {
    throw new UsageError(`unexpected argument "${args[spec.args.length]}"`, spec.name);
  }
  if (args.length < spec.args.length) {
    throw new UsageError(`"${spec.name}" needs ${spec.args[args.length]}`, spec.name);
  }
  for (const [i, arg] of args.entries()) {
    if (arg.trim() === '') throw new UsageError(`${spec.args[i]} must not be empty`, spec.name);
  }
  const command = buildCommand(spec, values, args);
  return {
    kind: 'run',
    command,
    connection: connection(values.one('url'), values.one('key'), env, spec.name),
    json: values.flag('json'),
  };
}

interface OptionValues {
  one(name: string): string | undefined;
  all(name: string): string[];
  flag(name: string): boolean;
}

type OptionToken = {
  name: string;
  rawName: string;
  value?: string | undefined;
  inlineValue?: boolean | undefined;
};

/** Checks each option token against the command and collects the values. */
function optionValues(spec: CommandSpec, tokens: readonly OptionToken[]): OptionValues {
  const allowed: Readonly<Record<string, OptionSpec>> = { ...GLOBAL_OPTIONS, ...spec.options };
  const strings = new Map<string, string[]>();
  const flags = new Set<string>();
  for (const token of tokens) {
    const option = Object.hasOwn(allowed, token.name) ? allowed[token.name] : undefined;
    const raw = token.rawName;
    if (!option) {
      throw new UsageError(
        Object.hasOwn(ALL_OPTIONS, token.name) && token.rawName.startsWith('--')
          ? `${raw} is not an option of "${spec.name}"`
          : `unknown option ${raw} for "${spec.name}"`,
        spec.name,
      );
    }
    if (option.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${raw} does not take a value`, spec.name);
      flags.add(token.name);
      continue;
    }
    const value = token.value;
    if (value === undefined) throw new UsageError(`${raw} needs a value`, spec.name);
    // parseArgs takes the next word as the value even when it is another option; `--tenant --json` is a mistake.
    if (!token.inlineValue && value.startsWith('-') && value !== '-') {
      throw new UsageError(
        `${raw} needs a value (got ${value}; write ${raw}=${value} if you mean it)`,
        spec.name,
      );
    }
    if (value.trim() === '') throw new UsageError(`${raw} needs a non-empty value`, spec.name);
    const seen = strings.get(token.name) ?? [];
    if (seen.length > 0 && !option.multiple) throw new UsageError(`${raw} given more than once`, spec.name);
    strings.set(token.name, [...seen, value]);
  }
  return {
    one: (name) => strings.get(name)?.[0],
    all: (name) => strings.get(name) ?? [],
    flag: (name) => flags.has(name),
  };
}

function buildCommand(spec: CommandSpec, values: OptionValues, args: readonly string[]): Command {
  const name = spec.name;
  switch (name) {
    case 'keys create': {
      const required = (option: string) => {
        const value = values.one(option);
        if (value === undefined) throw new UsageError(`"keys create" needs --${option}`, name);
        return value;
      };
      const tenant = required('tenant');
      const keyName = required('name');
      const roles = values.all('role');
      if (roles.length === 0) throw new UsageError('"keys create" needs at least one --role', name);
      const models = values.all('model');
      const limits: KeyLimits = {};
      const rpm = values.one('rpm');
      const tpm = values.one('tpm');
      const maxNewTokens = values.one('max-new-tokens');
      if (rpm !== undefined) limits.requestsPerMinute = positiveInteger('--rpm', rpm, name);
      if (tpm !== undefined) limits.tokensPerMinute = positiveInteger('--tpm', tpm, name);
      if (maxNewTokens !== undefined) {
        limits.maxNewTokens = positiveInteger('--max-new-tokens', maxNewTokens, name);
      }
      const expires = values.one('expires');
      const request: CreateKeyRequest = {
        tenant,
        name: keyName,
        roles,
        ...(models.length > 0 ? { models } : {}),
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
        ...(expires === undefined ? {} : { expires_at: instant('--expires', expires, name) }),
      };
      return { name, request, guardrailsFile: values.one('guardrails') };
    }
    case 'keys list':
      return { name, tenant: values.one('tenant') };
    case 'keys revoke':
      return { name, keyId: args[0]! };
    case 'audit verify':
    case 'retention run':
      return { name };
    case 'audit search': {
      const afterSeq = values.one('after-seq');
      const limit = values.one('limit');
      return {
        name,
        search: {
          ...auditFilter(values, name),
          ...(afterSeq === undefined ? {} : { after_seq: wholeNumber('--after-seq', afterSeq, name) }),
          ...(limit === undefined ? {} : { limit: positiveInteger('--limit', limit, name) }),
        },
      };
    }
    case 'audit export':
      return { name, filter: auditFilter(values, name), out: values.one('out') };
    case 'subjects erase':
      return { name, subjectId: args[0]! };
  }
}

function auditFilter(values: OptionValues, command: CommandName): AuditFilter {
  const from = values.one('from');
  const to = values.one('to');
  const fields: [keyof AuditFilter, string | undefined][] = [
    ['from', from === undefined ? undefined : instant('--from', from, command)],
    ['to', to === undefined ? undefined : instant('--to', to, command)],
    ['key_id', values.one('key-id')],
    ['tenant', values.one('tenant')],
    ['model', values.one('model')],
    ['record_class', values.one('record-class')],
  ];
  return Object.fromEntries(fields.filter(([, value]) => value !== undefined)) as AuditFilter;
}

function connection(
  urlFlag: string | undefined,
  keyFlag: string | undefined,
  env: CliEnvironment,
  command: CommandName,
): Connection {
  const [source, raw] =
    urlFlag !== undefined
      ? ['--url', urlFlag]
      : env.STRATA_URL
        ? ['STRATA_URL', env.STRATA_URL]
        : ['the default URL', DEFAULT_URL];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} is not a URL: "${raw}"`, command);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http:// or https:// URL; got "${raw}"`, command);
  }
  if (url.username || url.password) {
    throw new UsageError(
      `${source} must not carry credentials; the API key goes in STRATA_KEY or --key`,
      command,
    );
  }
  const apiKey = keyFlag ?? env.STRATA_KEY;
  if (!apiKey) throw new UsageError('no API key: set STRATA_KEY or pass --key', command);
  return { url: url.href.replace(/\/+$/, ''), apiKey };
}

/** A count such as `--rpm 60`: digits only, so `1e3`, `0x10`, `1.5` and ` 7` are refused rather than guessed. */
export function positiveInteger(flag: string, raw: string, command?: string): number {
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a positive whole number; got "${raw}"`, command);
  }
  return value;
}

function wholeNumber(flag: string, raw: string, command: string): number {
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${flag} must be a whole number, 0 or more; got "${raw}"`, command);
  }
  return value;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An instant, normalised to UTC ISO 8601 for the server. A date-time without an offset is refused: on an
 * operator's laptop and in a cluster it would mean different instants.
 */
export function instant(flag: string, raw: string, command?: string): string {
  const match = DATE.exec(raw) ?? DATE_TIME.exec(raw);
  const time = match ? Date.parse(raw) : NaN;
  const [, year, month, day] = match ?? [];
  const calendarDay = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  const realDay =
    calendarDay.getUTCFullYear() === Number(year) &&
    calendarDay.getUTCMonth() === Number(month) - 1 &&
    calendarDay.getUTCDate() === Number(day);
  if (!match || Number.isNaN(time) || !realDay) {
    const hint = /^\d{4}-\d{2}-\d{2}T[^Zz+-]*$/.test(raw) ? ' (add Z or an offset such as +01:00)' : '';
    throw new UsageError(
      `${flag} must be an ISO 8601 date or date-time with an offset, e.g. 2026-01-31 or 2026-01-31T09:00:00Z; got "${raw}"${hint}`,
      command,
    );
  }
  return new Date(time).toISOString();
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string {
  const rows = Object.entries(options).map(([name, spec]) => [
    `${name === 'help' ? '-h, ' : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`,
    spec.help,
  ]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`).join('\n');
}

function commandLines(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n');
}

export function topHelp(): string {
  return `strata: operate a Strata deployment through its admin API

Usage: strata <command> [options]

Commands:
${commandLines(COMMANDS)}
  data …                ingest, clean, deduplicate and version datasets ("strata data --help")
  model finetune …      LoRA or full fine-tuning on a dataset version ("strata model finetune --help")
  model …               the registry: list, show, promote, rollback, eval ("strata model --help")

Options of every command:
${optionLines({ ...GLOBAL_OPTIONS, version: ALL_OPTIONS['version']! })}

Output is text for people; --json prints JSON for scripts (audit export always writes JSON Lines).
Exit codes: 0 done; 1 the server refused or failed, could not be reached, or the audit chain is broken;
2 a mistake on the command line (unknown command or option, missing value, bad number, no API key).
Run "strata <command> --help" for a command's options.
`;
}

function groupHelp(group: string): string {
  return `Usage: strata ${group} <subcommand> [options]

Subcommands:
${commandLines(COMMANDS.filter((c) => c.name.startsWith(`${group} `)))}

Run "strata ${group} <subcommand> --help" for its options.
`;
}

export function commandHelp(spec: CommandSpec): string {
  return `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.

Usage: ${spec.usage}

Options:
${optionLines(spec.options)}

Options of every command:
${optionLines(GLOBAL_OPTIONS)}
${spec.notes ? `\n${spec.notes}\n` : ''}`;
}
