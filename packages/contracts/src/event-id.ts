/**
 * Identifiers carried by every event: UUIDv7 event ids (RFC 9562) and W3C trace-context trace ids.
 *
 * UUIDv7 puts a millisecond timestamp in the first 48 bits, so ids sort by creation time: database indexes on
 * them stay append-mostly, and an operator reading a dead-letter topic sees roughly when an event was born.
 */

let lastMs = -1;
let counter = 0;

function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX[byte]!;
  return out;
}

/**
 * A new UUIDv7. Ids made by one process are strictly increasing: within one millisecond the 12-bit `rand_a`
 * field counts up from a random start (RFC 9562 §6.2, method 1), and borrows the next millisecond on overflow.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = randomBytes(2).reduce((a, b) => (a << 8) | b, 0) & 0x7ff; // leave headroom to count up
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = 0;
  }
  const bytes = randomBytes(16);
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The creation time, in epoch milliseconds, encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

/** A new W3C trace-context trace id: 32 lowercase hex digits, never all zeros. */
export function newTraceId(): string {
  const bytes = randomBytes(16);
  if (bytes.every((b) => b === 0)) bytes[15] = 1;
  return hex(bytes);
}
