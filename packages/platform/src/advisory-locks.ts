/**
 * PostgreSQL advisory-lock namespaces (the first int4 of the two-key form) used by the platform, so they never
 * collide with each other or with the locks of the layers above (which should pick other namespaces).
 */
export const ADVISORY_LOCK = {
  /** Serialises migration runs across processes. */
  migrations: 0x53540001,
  /** Per outbox key, held by the writing transaction: same-key rows commit in id order. */
  outboxKey: 0x53540002,
  /** Held by the one relay that publishes a database's outbox. */
  outboxRelay: 0x53540003,
} as const;
