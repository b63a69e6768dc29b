import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Queryable } from '@strata/platform';

/** An encrypted payload as stored: AES-256-GCM under its data subject's key. */
export interface SealedPayload {
  alg: 'A256GCM';
  subject: string;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Per-subject data keys for crypto-shredding (GDPR Art. 17): personal fields in audit records are encrypted with
 * their data subject's key, and erasing the subject destroys the key. The ciphertext and its hash stay, so the
 * audit chain still verifies, but nobody can read the subject's data any more.
 *
 * Keys live in the governance database. That protects erasure, not confidentiality against a database
 * administrator; wrapping the keys with a KMS key is the production step documented in docs/compliance.md.
 */
export class SubjectKeys {
  private readonly cache = new Map<string, Buffer>();

  /** The subject's key if this process already holds it. */
  cached(subject: string): Buffer | undefined {
    return this.cache.get(subject);
  }

  /** The subject's key, created on first use. */
  async keyFor(db: Queryable, subject: string): Promise<Buffer> {
    const cached = this.cache.get(subject);
    if (cached) return cached;
    await db.query(
      'insert into governance_subject_keys (subject_id, data_key) values ($1, $2) on conflict (subject_id) do nothing',
      [subject, randomBytes(32)],
    );
    const key = await this.find(db, subject);
    if (!key) throw new Error(`subject key for ${subject} vanished while being created`);
    return key;
  }

  async find(db: Queryable, subject: string): Promise<Buffer | undefined> {
    const cached = this.cache.get(subject);
    if (cached) return cached;
    const { rows } = await db.query<{ data_key: Uint8Array }>(
      'select data_key from governance_subject_keys where subject_id = $1',
      [subject],
    );
    if (!rows[0]) return undefined;
    const key = Buffer.from(rows[0].data_key);
    this.cache.set(subject, key);
    return key;
  }

  /** Destroys the subject's key. Returns whether there was one. */
  async destroy(db: Queryable, subject: string): Promise<boolean> {
    this.cache.delete(subject);
    const { rowCount } = await db.query('delete from governance_subject_keys where subject_id = $1', [
      subject,
    ]);
    return rowCount > 0;
  }

  static seal(key: Buffer, subject: string, value: unknown): SealedPayload {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    // The subject id is bound as associated data: a payload cannot be moved to another subject's record.
    cipher.setAAD(Buffer.from(subject));
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      subject,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  static open(key: Buffer, sealed: SealedPayload): unknown {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(sealed.subject));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
    return JSON.parse(text.toString('utf8'));
  }
}
