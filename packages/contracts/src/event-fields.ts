import { z } from 'zod';

/** Field schemas shared by the payloads of several topics. */

/** A lowercase hex SHA-256 digest. */
export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: 'must be a lowercase hex SHA-256 digest' });

/** An ISO-8601 timestamp with offset. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/** A short machine name: lowercase letters, digits, `-`, `_`, `.` and `/`, e.g. `support-tickets`. */
export const NameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9][a-z0-9._/-]*$/, { error: 'must be lowercase letters, digits, ".", "_", "-" or "/"' });

/** An OpenLineage dataset identifier: a namespace (where it lives) and a name (what it is). */
export const LineageDatasetSchema = z.strictObject({
  namespace: z.string().min(1).max(500),
  name: z.string().min(1).max(500),
});
export type LineageDataset = z.infer<typeof LineageDatasetSchema>;

/** A model version in MLflow registry terms: registered model name plus version (a string, as MLflow's REST API). */
export const ModelRefSchema = z.strictObject({
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(100),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

/** A half-open time interval [start, end). */
export const TimeWindowSchema = z
  .strictObject({ start: TimestampSchema, end: TimestampSchema })
  .refine((w) => Date.parse(w.start) < Date.parse(w.end), {
    error: 'start must be before end',
    path: ['end'],
  });

/** Named metric values; only finite numbers travel (JSON has no NaN or Infinity). */
export const MetricsSchema = z.record(z.string().min(1).max(200), z.number());
