import { ACTIONS, PERMISSIONS, permissionMatrixMarkdown, ROLES, type Action, type Role } from './permissions';
import { authorize, maxNewTokensCap } from './policy';
import type { Principal } from './principal';

const principal = (roles: Role[], extra: Partial<Principal> = {}): Principal => ({
  keyId: 'key_test',
  tenant: 'acme',
  name: 'test',
  roles,
  limits: {},
  ...extra,
});

/** The intended matrix, written out independently of PERMISSIONS so a change to either shows up here. */
const EXPECTED: Record<Role, Action[]> = {
  admin: [...ACTIONS],
  'data-engineer': ['pipeline.run', 'dataset.read'],
  'ml-engineer': ['generate', 'dataset.read', 'model.register', 'model.promote', 'metrics.read'],
  app: ['generate'],
  auditor: ['audit.read', 'audit.export', 'audit.verify', 'metrics.read'],
};

describe('permission matrix', () => {
  const cells = ROLES.flatMap((role) => ACTIONS.map((action) => [role, action] as const));

  it.each(cells)('%s → %s', (role, action) => {
    const decision = authorize(principal([role]), action);
    expect(decision.allowed).toBe(EXPECTED[role].includes(action));
    if (!decision.allowed) {
      expect(decision.rule).toBe('role');
      expect(decision.reason).toContain(role);
    }
  });

  it('is the documented table', () => {
    expect(PERMISSIONS).toEqual(EXPECTED);
  });

  it('grants through any of several roles', () => {
    expect(authorize(principal(['auditor', 'app']), 'generate').allowed).toBe(true);
    expect(authorize(principal([]), 'generate')).toMatchObject({ allowed: false, rule: 'role' });
  });
});

describe('authorize: model allowlist and token caps', () => {
  it('lets a key use only the models on its allowlist', () => {
    const key = principal(['app'], { models: ['strata/starter-gpt2'] });
    expect(authorize(key, 'generate', { model: 'strata/starter-gpt2' }).allowed).toBe(true);
    expect(authorize(key, 'generate', { model: 'Xenova/distilgpt2' })).toMatchObject({
      allowed: false,
      rule: 'model_allowlist',
    });
    expect(authorize(principal(['app']), 'generate', { model: 'anything' }).allowed).toBe(true);
  });

  it('caps max_new_tokens by role, lowered by the key', () => {
    expect(maxNewTokensCap(principal(['app']))).toBe(1024);
    expect(maxNewTokensCap(principal(['app', 'ml-engineer']))).toBe(4096);
    expect(maxNewTokensCap(principal(['ml-engineer'], { limits: { maxNewTokens: 100 } }))).toBe(100);
    expect(authorize(principal(['app']), 'generate', { maxNewTokens: 1025 })).toMatchObject({
      allowed: false,
      rule: 'max_new_tokens',
    });
    expect(authorize(principal(['app']), 'generate', { maxNewTokens: 1024 }).allowed).toBe(true);
  });
});

describe('documentation', () => {
  it('docs/compliance.md shows exactly this permission matrix', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const doc = readFileSync(require.resolve('../../../../docs/compliance.md'), 'utf8');
    // Formatters may pad table cells; the table's content is what must match.
    const cells = (markdown: string) => markdown.replace(/ *\| */g, '|').replace(/-{3,}/g, '---');
    expect(cells(doc)).toContain(cells(permissionMatrixMarkdown()));
  });
});
