import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  chainRow,
  ChainVerifier,
  GENESIS_HASH,
  signCheckpoint,
  type AuditHeader,
  type ChainRow,
} from './audit-chain';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');

function header(seq: number): AuditHeader {
  return {
    seq,
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    recordClass: seq % 5 === 0 ? 'denied' : 'generation',
    action: 'generate',
    outcome: seq % 5 === 0 ? 'denied' : 'allowed',
    keyId: `key_${seq % 3}`,
    tenant: 'acme',
    model: 'strata/starter-gpt2',
    subjectId: `user-${seq % 4}`,
    details: { prompt_tokens: seq * 3, completion_tokens: seq, temperature: 0.7 },
  };
}

function buildChain(length: number): ChainRow[] {
  const rows: ChainRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const row = chainRow(prev, header(seq), { sealed: `ciphertext-${seq}` });
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

/** Runs the verifier over rows; returns the first problem's seq, or undefined when intact. */
function verify(rows: readonly ChainRow[]): number | undefined {
  const verifier = new ChainVerifier(publicKey);
  for (const row of rows) {
    const problem = verifier.push(row);
    if (problem) return problem.seq;
  }
  return undefined;
}

type Tampering =
  | {
      kind: 'edit-header';
      at: number;
      field: 'action' | 'outcome' | 'keyId' | 'tenant' | 'model' | 'details';
    }
  | { kind: 'edit-payload'; at: number }
  | { kind: 'delete'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insert'; at: number }
  | { kind: 'rehash-one'; at: number };

function tamper(rows: ChainRow[], t: Tampering): ChainRow[] {
  const copy = rows.map((r) => ({ ...r, header: { ...r.header, details: { ...r.header.details } } }));
  switch (t.kind) {
    case 'edit-header': {
      const row = copy[t.at]!;
      if (t.field === 'details') row.header.details = { ...row.header.details, prompt_tokens: -1 };
      else row.header = { ...row.header, [t.field]: `forged-${String(row.header[t.field])}` };
      return copy;
    }
    case 'edit-payload':
      copy[t.at]!.payload = { sealed: 'forged' };
      return copy;
    case 'delete':
      copy.splice(t.at, 1);
      return copy;
    case 'swap': {
      const a = copy[t.at]!;
      copy[t.at] = copy[t.with]!;
      copy[t.with] = a;
      return copy;
    }
    case 'insert': {
      // A forger who knows the format inserts a well-formed record linked to its predecessor.
      const prev = t.at === 0 ? GENESIS_HASH : copy[t.at - 1]!.hash;
      const forged = chainRow(prev, { ...header(t.at + 1), action: 'forged' }, null);
      copy.splice(t.at, 0, forged);
      return copy;
    }
    case 'rehash-one': {
      // Edit a record and recompute its own hash: the next record's link exposes it.
      const row = copy[t.at]!;
      copy[t.at] = chainRow(row.prevHash, { ...row.header, outcome: 'allowed-forged' }, row.payload);
      return copy;
    }
  }
}

const LENGTH = 30;
const position = fc.integer({ min: 0, max: LENGTH - 1 });
const tampering: fc.Arbitrary<Tampering> = fc.oneof(
  fc.record({
    kind: fc.constant('edit-header' as const),
    at: position,
    field: fc.constantFrom('action', 'outcome', 'keyId', 'tenant', 'model', 'details') as fc.Arbitrary<
      'action' | 'outcome' | 'keyId' | 'tenant' | 'model' | 'details'
    >,
  }),
  fc.record({ kind: fc.constant('edit-payload' as const), at: position }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.integer({ min: 0, max: LENGTH - 2 }) }),
  fc
    .tuple(position, position)
    .filter(([a, b]) => a !== b)
    .map(([a, b]) => ({ kind: 'swap' as const, at: Math.min(a, b), with: Math.max(a, b) })),
  fc.record({ kind: fc.constant('insert' as const), at: position }),
  fc.record({ kind: fc.constant('rehash-one' as const), at: fc.integer({ min: 0, max: LENGTH - 2 }) }),
);

describe('audit chain', () => {
  const chain = buildChain(LENGTH);

  it('verifies an intact chain', () => {
    expect(verify(chain)).toBeUndefined();
  });

  it('detects every one of 1,000 random tamperings, at or before the tampered record', () => {
    fc.assert(
      fc.property(tampering, (t) => {
        const found = verify(tamper(chain, t));
        expect(found).toBeDefined();
        // The report points at the tampered record (seq at + 1), or at the next one, whose link exposes it.
        expect(found!).toBeLessThanOrEqual(t.at + 2);
      }),
      { numRuns: 1000, seed: 42 },
    );
  });

  it('keeps verifying when a payload is removed by retention', () => {
    const purged = chain.map((row, i) => (i < 10 ? { ...row, payload: null } : row));
    expect(verify(purged)).toBeUndefined();
  });

  it('checks signed checkpoints', () => {
    const verifier = new ChainVerifier(publicKey);
    chain.slice(0, 10).forEach((row) => expect(verifier.push(row)).toBeUndefined());
    const checkpoint = signCheckpoint(chain[9]!, privateKey, 'k1', '2026-01-01T00:00:00.000Z');
    expect(verifier.checkpoint(checkpoint)).toBeUndefined();
    expect(
      verifier.checkpoint({ ...checkpoint, signature: Buffer.alloc(64).toString('base64') }),
    ).toMatchObject({
      reason: 'its checkpoint signature is invalid',
    });
    expect(verifier.checkpoint({ ...checkpoint, hash: chain[8]!.hash })).toMatchObject({
      reason: 'it differs from its signed checkpoint',
    });
    const other = generateKeyPairSync('ed25519');
    const forged = signCheckpoint(chain[9]!, other.privateKey, 'k1', '2026-01-01T00:00:00.000Z');
    expect(verifier.checkpoint(forged)).toMatchObject({ reason: 'its checkpoint signature is invalid' });
  });
});
