import { isIP } from 'node:net';
import type { PiiFinding } from './pii-entities';
import { hasContextWord, isWordCharAt, wordSet } from './text-context';

/*
 * Candidates come from two loose patterns; node:net's isIP, which implements the RFC 4291/5952 textual
 * forms including `::` compression, IPv4-mapped tails and zone ids, decides whether they are addresses. It
 * also rejects IPv4 octets with leading zeros, which are ambiguous (octal in some parsers).
 */

/** Four dot-separated groups of 1–3 digits, not part of a longer dotted sequence such as 1.2.3.4.5. */
const IPV4_CANDIDATE = /(?<![\p{L}\p{N}\p{M}_.])(?:\d{1,3}\.){3}\d{1,3}(?![\p{L}\p{N}\p{M}_]|\.\d)/gu;

/**
 * A run of hex digits, colons and dots with at least two colons, plus an optional zone id. The start may
 * follow a colon (as in `IPv6:fe80::1`) but not a letter or digit, so no candidate starts mid-word.
 */
const IPV6_CANDIDATE = /(?<![\p{L}\p{N}\p{M}_.])[0-9A-Fa-f:][0-9A-Fa-f:.]*(?:%[\p{L}\p{N}_.-]+)?/gu;

/** Score of a valid IPv4 or IPv6 address. */
export const IP_ADDRESS_SCORE = 0.9;
/** Score when the words before say a dotted quad is a version or a section number. */
export const IP_ADDRESS_NEGATIVE_CONTEXT_SCORE = 0.2;

const IPV4_NEGATIVE_CONTEXT = wordSet(
  'version ver v release build firmware fw sdk api section clause chapter annex paragraph para step ' +
    'figure fig table rule article art oid edition upgrade upgraded upgrading downgrade patch ' +
    'releases versions driver kernel',
);

/** Finds IPv4 and IPv6 addresses (`IP_ADDRESS`). */
export function recognizeIpAddresses(text: string): PiiFinding[] {
  const findings: PiiFinding[] = [];
  if (text.includes('.')) {
    for (const match of text.matchAll(IPV4_CANDIDATE)) {
      if (isIP(match[0]) !== 4) continue;
      const score = hasContextWord(text, match.index, IPV4_NEGATIVE_CONTEXT, 3)
        ? IP_ADDRESS_NEGATIVE_CONTEXT_SCORE
        : IP_ADDRESS_SCORE;
      findings.push({
        entity_type: 'IP_ADDRESS',
        start: match.index,
        end: match.index + match[0].length,
        score,
      });
    }
  }
  if (text.includes(':')) {
    const ipv6: PiiFinding[] = [];
    for (const match of text.matchAll(IPV6_CANDIDATE)) {
      const span = ipv6Span(text, match.index, match[0]);
      if (span === undefined) continue;
      ipv6.push({ entity_type: 'IP_ADDRESS', start: match.index, end: span, score: IP_ADDRESS_SCORE });
    }
    // The IPv4 tail of an IPv4-mapped address (::ffff:192.0.2.128) is part of the IPv6 finding.
    const outside = findings.filter((v4) => !ipv6.some((v6) => v6.start <= v4.start && v4.end <= v6.end));
    return [...outside, ...ipv6].sort((a, b) => a.start - b.start);
  }
  return findings;
}

/** The end of the IPv6 address that `candidate` (at `start`) holds, trimming sentence punctuation, or undefined. */
function ipv6Span(text: string, start: number, candidate: string): number | undefined {
  let value = candidate;
  if (isWordCharAt(text, start + value.length)) return undefined;
  // A trailing period ends the sentence; a trailing single colon introduces what follows ("fe80::1: timeout").
  while (value.endsWith('.')) value = value.slice(0, -1);
  if (value.endsWith(':') && !value.endsWith('::')) value = value.slice(0, -1);
  const colons = value.split(':').length - 1;
  if (colons < 2 || !/[0-9A-Fa-f]/.test(value)) return undefined;
  if (isIP(value) !== 6) return undefined;
  return start + value.length;
}
