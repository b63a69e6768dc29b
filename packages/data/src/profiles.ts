import path from 'node:path';
import { z } from 'zod';
import { DataError } from './data-error';
import type { CanonicalDocument, RawRecord } from './document';

/** How one kind of source file maps to canonical documents. Declarative: plain data, no code. */
export interface EntityMapping {
  /** The entity name recorded in `source`, e.g. `crm.ticket`. */
  entity: string;
  /** File names (without folders and extension) this mapping applies to, as lowercase prefixes. */
  files: readonly string[];
  /** The field holding the record's own id; without it ids are `<file>:<row>`. */
  id?: string;
  /** Fields whose values, joined by blank lines, form the text. At least one must be present. */
  text: readonly string[];
  /** Fields naming the data subjects the record is about (for erasure). */
  subjects: readonly string[];
}

/** A mapping profile: a source system's exports and the pipeline that suits them. */
export interface MappingProfile {
  name: string;
  description: string;
  entities: readonly EntityMapping[];
  /** Steps run when the request names none. */
  defaultSteps: readonly string[];
}

const FULL_PIPELINE = [
  'normalize',
  'strip-markup',
  'quality',
  'redact-pii',
  'toxicity',
  'exact-dedup',
  'near-dedup',
] as const;

/** The built-in profiles. */
export const PROFILES: Readonly<Record<string, MappingProfile>> = {
  crm: {
    name: 'crm',
    description: 'CRM exports: contacts, notes and support tickets',
    entities: [
      {
        entity: 'crm.contact',
        files: ['contacts'],
        id: 'contact_id',
        text: ['about'],
        subjects: ['contact_id'],
      },
      { entity: 'crm.note', files: ['notes'], id: 'note_id', text: ['body'], subjects: ['contact_id'] },
      {
        entity: 'crm.ticket',
        files: ['tickets', 'support_tickets'],
        id: 'ticket_id',
        text: ['subject', 'thread'],
        subjects: ['contact_id'],
      },
    ],
    defaultSteps: FULL_PIPELINE,
  },
  erp: {
    name: 'erp',
    description: 'ERP exports: orders, products and invoices',
    entities: [
      { entity: 'erp.order', files: ['orders'], id: 'order_id', text: ['notes'], subjects: ['customer_id'] },
      { entity: 'erp.product', files: ['products'], id: 'sku', text: ['name', 'description'], subjects: [] },
      {
        entity: 'erp.invoice',
        files: ['invoices'],
        id: 'invoice_id',
        text: ['memo'],
        subjects: ['customer_id'],
      },
    ],
    defaultSteps: FULL_PIPELINE,
  },
  analytics: {
    name: 'analytics',
    description: 'Analytics exports: events and search queries',
    entities: [
      {
        entity: 'analytics.event',
        files: ['events'],
        id: 'event_id',
        text: ['description'],
        subjects: ['user_id'],
      },
      {
        entity: 'analytics.search',
        files: ['searches', 'search_queries'],
        id: 'query_id',
        text: ['query'],
        subjects: ['user_id'],
      },
    ],
    // Search queries are short: the quality filter's length rules would drop most of them.
    defaultSteps: ['normalize', 'strip-markup', 'redact-pii', 'toxicity', 'exact-dedup', 'near-dedup'],
  },
  generic: {
    name: 'generic',
    description: 'any JSONL, CSV or Parquet file: `id` and `text` fields (configurable)',
    entities: [{ entity: 'generic', files: [''], id: 'id', text: ['text'], subjects: [] }],
    defaultSteps: FULL_PIPELINE,
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

/** Overrides for the generic profile (and any profile's subject fields), from `--config`. */
export const MappingOverridesSchema = z.strictObject({
  idField: z.string().min(1).optional(),
  textFields: z.array(z.string().min(1)).min(1).optional(),
  subjectFields: z.array(z.string().min(1)).optional(),
});
export type MappingOverrides = z.infer<typeof MappingOverridesSchema>;

/** The named profile with overrides applied; throws `validation_failed` naming the known profiles. */
export function resolveProfile(name: string, overrides: MappingOverrides = {}): MappingProfile {
  const profile = Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
  if (!profile) {
    throw new DataError(
      'validation_failed',
      `unknown profile "${name}"; the profiles are ${PROFILE_NAMES.join(', ')}`,
    );
  }
  if (Object.keys(overrides).length === 0) return profile;
  return {
    ...profile,
    entities: profile.entities.map((entity) => ({
      ...entity,
      ...(overrides.idField === undefined ? {} : { id: overrides.idField }),
      ...(overrides.textFields === undefined ? {} : { text: overrides.textFields }),
      ...(overrides.subjectFields === undefined ? {} : { subjects: overrides.subjectFields }),
    })),
  };
}

/** The mapping for a file, by the longest matching name prefix; undefined when none applies. */
export function mappingFor(profile: MappingProfile, fileName: string): EntityMapping | undefined {
  const stem = path.posix
    .basename(fileName)
    .replace(/\.[^.]*$/, '')
    .toLowerCase();
  let best: EntityMapping | undefined;
  let bestLength = -1;
  for (const entity of profile.entities) {
    for (const prefix of entity.files) {
      if (stem.startsWith(prefix) && prefix.length > bestLength) {
        best = entity;
        bestLength = prefix.length;
      }
    }
  }
  return best;
}

/** A mapped document, or why the record could not be mapped. */
export type MapResult = { ok: true; doc: CanonicalDocument } | { ok: false; code: string; message: string };

function scalar(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

/** Maps one raw record to a canonical document. */
export function mapRecord(
  mapping: EntityMapping,
  record: RawRecord,
  at: { file: string; row: number; ingestedAt: string },
): MapResult {
  const texts: string[] = [];
  for (const field of mapping.text) {
    const value = scalar(record[field]);
    if (value !== undefined && value.trim() !== '') texts.push(value);
  }
  if (texts.length === 0) {
    return {
      ok: false,
      code: 'missing_field',
      message: `${at.file} row ${at.row}: no text in ${mapping.text.map((f) => `"${f}"`).join(' or ')}`,
    };
  }
  let id = `${at.file}:${at.row}`;
  if (mapping.id !== undefined) {
    const value = scalar(record[mapping.id]);
    if (value === undefined || value.trim() === '') {
      return {
        ok: false,
        code: 'missing_field',
        message: `${at.file} row ${at.row}: no id in "${mapping.id}"`,
      };
    }
    id = value.trim();
  }
  const subjectIds = [
    ...new Set(
      mapping.subjects.flatMap((field) => {
        const value = scalar(record[field])?.trim();
        return value ? [value] : [];
      }),
    ),
  ];
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!mapping.text.includes(key) && key !== mapping.id) fields[key] = value;
  }
  return {
    ok: true,
    doc: {
      id,
      source: `${at.file}#${mapping.entity}`,
      text: texts.join('\n\n'),
      fields,
      subjectIds,
      ingestedAt: at.ingestedAt,
    },
  };
}
