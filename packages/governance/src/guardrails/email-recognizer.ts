import type { PiiFinding } from './pii-entities';
import { wordSet } from './text-context';

/*
 * No library here: validators such as `validator`'s isEmail check a whole string, not find addresses in
 * prose, and Presidio itself uses a pattern plus a TLD check. The pattern is the practical subset of
 * RFC 5322 that people write (no quoted local parts or IP-literal domains), with Unicode letters allowed
 * for internationalised addresses, and `%40` for the `@` of an address in a logged query string. Local parts cannot start or end with a dot or apostrophe, so quotes
 * around an address stay outside the span.
 */
const EMAIL =
  /(?<![\p{L}\p{N}\p{M}._%+\-@])[\p{L}\p{N}_%+-]+(?:[.'][\p{L}\p{N}_%+-]+)*(?:@|%40)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}(?![\p{L}\p{N}\p{M}_@-]|\.[\p{L}\p{N}])/gu;

/**
 * File extensions that follow an `@` in names such as `icon@2x.png` or `logo@3x.webp`; no such TLD exists
 * (the real TLDs that collide with extensions, like `.py` or `.md`, are not listed).
 */
const FILE_EXTENSIONS = wordSet(
  'png jpg jpeg gif svg webp bmp tif tiff ico pdf js mjs cjs ts tsx jsx css scss json xml yaml yml ' +
    'txt csv log lock exe dll html htm zip gz tar wasm onnx bin mp3 mp4 wav avif heic',
);

/** Score of a syntactically valid address with a plausible top-level domain. */
export const EMAIL_SCORE = 1;

/** Finds e-mail addresses (`EMAIL_ADDRESS`). */
export function recognizeEmailAddresses(text: string): PiiFinding[] {
  if (!text.includes('@') && !text.includes('%40')) return [];
  const findings: PiiFinding[] = [];
  for (const match of text.matchAll(EMAIL)) {
    const value = match[0];
    const tld = value.slice(value.lastIndexOf('.') + 1).toLowerCase();
    if (FILE_EXTENSIONS.has(tld)) continue;
    // `git@github.com:org/repo.git` is an SSH user and host, not a mailbox.
    const after = match.index + value.length;
    if (text[after] === ':' && /[\w~/]/.test(text[after + 1] ?? '')) continue;
    findings.push({
      entity_type: 'EMAIL_ADDRESS',
      start: match.index,
      end: match.index + value.length,
      score: EMAIL_SCORE,
    });
  }
  return findings;
}
