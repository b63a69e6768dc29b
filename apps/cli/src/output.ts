import type {
  ApiKeyView,
  AuditRecord,
  CreatedKey,
  ErasureResult,
  KeyLimits,
  RetentionResult,
  VerifyReport,
} from './admin-client';

/*
 * Text output for people. Everything here is a pure function from the server's answer to a string, so the
 * formats are tested without a server. Values that came over the wire (tenant names, subject ids, models) may
 * contain anything; `cell` escapes control characters so they cannot move the cursor or rewrite a terminal.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A value as one safe line: control characters shown as `\u001b` escapes, null and empty as `-`. */
export function cell(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Left-aligned columns under an upper-case header, two spaces apart, without trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => (i === cells.length - 1 ? text : text.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** An ISO time to the second, in UTC: the same in every operator's terminal. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? cell(iso) : parsed.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `revoked`, `expired` or `active`, as of `now`. */
export function keyStatus(key: ApiKeyView, now: Date): string {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && new Date(key.expires_at).getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function formatLimits(limits: KeyLimits | null | undefined): string {
  const parts = [
    limits?.requestsPerMinute === undefined ? undefined : `rpm=${limits.requestsPerMinute}`,
    limits?.tokensPerMinute === undefined ? undefined : `tpm=${limits.tokensPerMinute}`,
    limits?.maxNewTokens === undefined ? undefined : `max_new_tokens=${limits.maxNewTokens}`,
  ].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(' ') : '-';
}

const list = (values: readonly string[] | null | undefined, empty: string) =>
  values && values.length > 0 ? values.map(cell).join(',') : empty;

export function formatKeyTable(keys: readonly ApiKeyView[], now: Date): string {
  if (keys.length === 0) return 'No API keys.\n';
  return renderTable(
    ['key_id', 'tenant', 'name', 'roles', 'models', 'limits', 'status', 'created', 'expires'],
    keys.map((key) => [
      cell(key.key_id),
      cell(key.tenant),
      cell(key.name),
      list(key.roles, '-'),
      list(key.models, 'all'),
      formatLimits(key.limits),
      keyStatus(key, now),
      time(key.created_at),
      time(key.expires_at),
    ]),
  );
}

/** The key itself on a line of its own, so it can be copied, and a reminder that it is never shown again. */
export function formatCreatedKey(created: CreatedKey): string {
  const { key } = created;
  return (
    `Created API key ${cell(key.key_id)} for tenant ${cell(key.tenant)} ` +
    `(name ${cell(key.name)}, roles ${list(key.roles, '-')}).\n` +
    `Models: ${list(key.models, 'all served models')}. Limits: ${formatLimits(key.limits)}. ` +
    `Expires: ${key.expires_at ? time(key.expires_at) : 'never'}.\n\n` +
    `    ${cell(created.api_key)}\n\n` +
    'This is the only time the key is shown. Store it in a secret manager now; revoke it with\n' +
    `  strata keys revoke ${cell(key.key_id)}\n`
  );
}

export function formatRevokedKey(key: ApiKeyView): string {
  return `Revoked API key ${cell(key.key_id)} (tenant ${cell(key.tenant)}, name ${cell(key.name)}) at ${time(key.revoked_at)}.\n`;
}

export function formatAuditTable(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'No audit records match.\n';
  return renderTable(
    ['seq', 'time', 'class', 'action', 'outcome', 'tenant', 'key_id', 'model', 'subject', 'personal'],
    records.map((record) => [
      String(record.seq),
      time(record.occurredAt),
      cell(record.recordClass),
      cell(record.action),
      cell(record.outcome),
      cell(record.tenant),
      cell(record.keyId),
      cell(record.model),
      cell(record.subjectId),
      cell(record.personalState),
    ]),
  );
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * The verification verdict. When the chain is broken it names the first bad record, with its header when the
 * caller could read it.
 */
export function formatVerifyReport(report: VerifyReport, badRecord?: AuditRecord): string {
  if (report.ok) {
    return (
      `Audit chain intact: ${plural(report.records, 'record')} and ` +
      `${plural(report.checkpoints, 'signed checkpoint')} verified.\n`
    );
  }
  const problem = report.firstProblem;
  const lines = [
    problem
      ? `Audit chain BROKEN at record ${problem.seq}: ${cell(problem.reason)}`
      : 'Audit chain BROKEN (the server named no record).',
    `${plural(report.records, 'record')} and ${plural(report.checkpoints, 'signed checkpoint')} verified before it.`,
  ];
  if (badRecord) {
    lines.push('', 'First bad record, as stored:', formatAuditTable([badRecord]).trimEnd());
    lines.push(`hash ${cell(badRecord.hash)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatErasure(subjectId: string, result: ErasureResult): string {
  return (
    `Erased data subject ${cell(subjectId)}: the personal fields of ${plural(result.records, 'audit record')} ` +
    'are now unreadable. The erasure itself is in the audit trail.\n'
  );
}

export function formatRetention(result: RetentionResult): string {
  const entries = Object.entries(result.purged);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  const rows = entries.map(([recordClass, count]) => [cell(recordClass), String(count)]);
  return (
    `Retention run done: removed the payloads of ${plural(total, 'record')} past their retention period ` +
    '(headers and hashes stay).\n' +
    renderTable(['class', 'purged'], rows)
  );
}

/** `--json` output: the server's answer, indented, one value per run. */
export const formatJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
