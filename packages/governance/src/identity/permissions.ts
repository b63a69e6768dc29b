/**
 * Who may do what, written as data so it can be reviewed, documented and tested as a table. A role grants a set
 * of actions; a principal holds one or more roles. The matrix is documented in docs/compliance.md, and a test
 * checks that the document and this table agree.
 */
export const ROLES = ['admin', 'data-engineer', 'ml-engineer', 'app', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  'generate',
  'pipeline.run',
  'dataset.read',
  'model.register',
  'model.promote',
  'audit.read',
  'audit.export',
  'audit.verify',
  'keys.manage',
  'subject.erase',
  'retention.apply',
  'metrics.read',
] as const;
export type Action = (typeof ACTIONS)[number];

/** What each action means, for the documentation and error messages. */
export const ACTION_DESCRIPTIONS: Record<Action, string> = {
  generate: 'call the generation API (TGI and OpenAI routes)',
  'pipeline.run': 'run data pipelines (ingest, clean, redact, deduplicate)',
  'dataset.read': 'read dataset versions and their lineage',
  'model.register': 'register, fine-tune and evaluate model versions',
  'model.promote': 'promote a model version to champion',
  'audit.read': 'search the audit trail',
  'audit.export': 'export the audit trail as JSONL',
  'audit.verify': 'verify the audit chain',
  'keys.manage': 'create, list and revoke API keys',
  'subject.erase': 'erase a data subject (GDPR Art. 17)',
  'retention.apply': 'run the retention job',
  'metrics.read': 'scrape /metrics (when it is not public)',
};

export const PERMISSIONS: Readonly<Record<Role, readonly Action[]>> = {
  admin: ACTIONS,
  'data-engineer': ['pipeline.run', 'dataset.read'],
  'ml-engineer': ['generate', 'dataset.read', 'model.register', 'model.promote', 'metrics.read'],
  app: ['generate'],
  auditor: ['audit.read', 'audit.export', 'audit.verify', 'metrics.read'],
};

/**
 * The largest `max_new_tokens` each role may ask for; a key may lower it further. Apps get a production cap,
 * engineers a larger one for evaluation runs.
 */
export const ROLE_MAX_NEW_TOKENS: Readonly<Record<Role, number>> = {
  admin: 4096,
  'data-engineer': 256,
  'ml-engineer': 4096,
  app: 1024,
  auditor: 0,
};

export function roleAllows(role: Role, action: Action): boolean {
  return PERMISSIONS[role].includes(action);
}

/** The matrix as the Markdown table docs/compliance.md shows; a test keeps the two identical. */
export function permissionMatrixMarkdown(): string {
  const header = `| action | ${ROLES.join(' | ')} |`;
  const rule = `|---|${ROLES.map(() => '---').join('|')}|`;
  const rows = ACTIONS.map(
    (action) =>
      `| \`${action}\`: ${ACTION_DESCRIPTIONS[action]} | ${ROLES.map((role) => (roleAllows(role, action) ? 'yes' : '—')).join(' | ')} |`,
  );
  return [header, rule, ...rows].join('\n');
}
