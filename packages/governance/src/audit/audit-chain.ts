import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditRecordView } from '@strata/contracts';

/**
 * The tamper-evident structure of the audit log, as pure functions over rows, so that the database-backed log
 * and the tests share one definition.
 *
 * Each record is a header (who, what, when, outcome; never personal data) and a payload (the redacted prompt and
 * answer, encrypted per data subject). The record's hash covers the previous record's hash, the header and the
 * payload's digest, so:
 * - editing, deleting, reordering or inserting records breaks the chain, which `verifyChain` reports;
 * - retention can drop an old payload, and erasure can destroy a subject's key, while the digest stays and the
 *   chain still verifies.
 * Every so often a checkpoint signs a record's hash (Ed25519), so a rewritten chain cannot be re-hashed to
 * look valid without the signing key.
 */

/** The hash the first record links to. */
export const GENESIS_HASH = '0'.repeat(64);

export const RECORD_CLASSES = ['generation', 'denied', 'admin', 'erasure', 'retention'] as const;
export type RecordClass = (typeof RECORD_CLASSES)[number];

/** The hashed, never-removed part of a record. */
export type AuditHeader = Omit<AuditRecordView, 'recordClass' | 'personal' | 'personalState' | 'hash'> & {
  recordClass: RecordClass;
};

/** A record as stored. `payload` is null once retention has removed it. */
export interface ChainRow {
  header: AuditHeader;
  payload: unknown;
  payloadDigest: string;
  prevHash: string;
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** RFC 8785 canonical JSON, so a record hashes the same in every process and language. */
export const canonical = (value: unknown): string => {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be written as canonical JSON');
  return text;
};

export const digestPayload = (payload: unknown): string => sha256(canonical(payload ?? null));

export function hashRecord(prevHash: string, header: AuditHeader, payloadDigest: string): string {
  return sha256(`${prevHash}\n${canonical(header)}\n${payloadDigest}`);
}

/** Links a new record to the chain. */
export function chainRow(prevHash: string, header: AuditHeader, payload: unknown): ChainRow {
  const payloadDigest = digestPayload(payload);
  return { header, payload, payloadDigest, prevHash, hash: hashRecord(prevHash, header, payloadDigest) };
}

const checkpointMessage = (seq: number, hash: string, signedAt: string) =>
  Buffer.from(`strata.audit.v1\n${seq}\n${hash}\n${signedAt}`);

export function signCheckpoint(
  row: ChainRow,
  signingKey: KeyObject,
  keyId: string,
  signedAt: string,
): Checkpoint {
  const signature = sign(null, checkpointMessage(row.header.seq, row.hash, signedAt), signingKey).toString(
    'base64',
  );
  return { seq: row.header.seq, hash: row.hash, signedAt, keyId, signature };
}

export interface ChainProblem {
  seq: number;
  reason: string;
}

/**
 * Checks rows (in the order stored, by seq) and checkpoints, and returns the first problem, or undefined when
 * the chain is intact. `expectFirstSeq` is 1 unless an earlier part was legitimately archived.
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private readonly hashes = new Map<number, string>();
  checked = 0;

  constructor(
    private readonly publicKey: KeyObject | undefined,
    start: { seq: number; prevHash: string } = { seq: 1, prevHash: GENESIS_HASH },
  ) {
    this.expectedSeq = start.seq;
    this.prevHash = start.prevHash;
  }

  /** Feeds the next row; returns the problem it shows, if any. */
  push(row: ChainRow): ChainProblem | undefined {
    const { seq } = row.header;
    if (seq !== this.expectedSeq) {
      return {
        seq: this.expectedSeq,
        reason:
          seq > this.expectedSeq ? `record ${this.expectedSeq} is missing` : `record ${seq} is out of order`,
      };
    }
    if (row.prevHash !== this.prevHash) return { seq, reason: 'its link to the previous record is broken' };
    if (row.payload !== null && digestPayload(row.payload) !== row.payloadDigest) {
      return { seq, reason: 'its payload was altered' };
    }
    if (hashRecord(row.prevHash, row.header, row.payloadDigest) !== row.hash) {
      return { seq, reason: 'its contents do not match its hash' };
    }
    this.hashes.set(seq, row.hash);
    this.prevHash = row.hash;
    this.expectedSeq = seq + 1;
    this.checked += 1;
    return undefined;
  }

  /** Checks a checkpoint against the rows already pushed. */
  checkpoint(checkpoint: Checkpoint): ChainProblem | undefined {
    const recorded = this.hashes.get(checkpoint.seq);
    if (recorded === undefined)
      return { seq: checkpoint.seq, reason: 'a checkpoint names a record that is not there' };
    if (recorded !== checkpoint.hash)
      return { seq: checkpoint.seq, reason: 'it differs from its signed checkpoint' };
    if (!this.publicKey) return undefined;
    const valid = verify(
      null,
      checkpointMessage(checkpoint.seq, checkpoint.hash, checkpoint.signedAt),
      this.publicKey,
      Buffer.from(checkpoint.signature, 'base64'),
    );
    return valid ? undefined : { seq: checkpoint.seq, reason: 'its checkpoint signature is invalid' };
  }
}
