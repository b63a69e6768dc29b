import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jaccard, shingleHashes } from '../dedup/minhash';
import { DataError } from '../data-error';
import { SeededRandom } from './random';
import * as V from './vocabulary';

type Hyparquet = typeof import('hyparquet-writer', { with: { 'resolution-mode': 'import' } });

/** Words that mutate a near-duplicate: ordinary business words, so the copy still reads like text. */
const FILLER = [
  'quickly',
  'again',
  'today',
  'team',
  'customer',
  'update',
  'please',
  'detail',
  'package',
  'account',
  'window',
  'morning',
  'colleague',
  'manager',
  'request',
  'answer',
  'warehouse',
  'status',
  'reference',
  'schedule',
];

/** Builds human-looking business text from a seeded generator. */
export class TextFactory {
  constructor(private readonly rng: SeededRandom) {}

  person(): { first: string; last: string; email: string; phone: string } {
    const first = this.rng.pick(V.FIRST_NAMES);
    const last = this.rng.pick(V.LAST_NAMES);
    const domain = this.rng.pick(['example.com', 'example.org', 'mail.example.net']);
    const local = `${first}.${last}`
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^a-z.]/g, '');
    return {
      first,
      last,
      email: `${local}${this.rng.int(1, 99)}@${domain}`,
      phone: `+44 20 7946 0${String(this.rng.int(0, 999)).padStart(3, '0')}`,
    };
  }

  private sentence(): string {
    const r = this.rng;
    const p = r.pick(V.PRODUCTS);
    const forms = [
      () => `The ${p} we ordered for the ${r.pick(V.CITIES)} office ${r.pick(V.ISSUES)}.`,
      () =>
        `${r.pick(V.CONNECTORS)}, the agent ${r.pick(V.ACTIONS)} and the customer was ${r.pick(V.FEELINGS)}.`,
      () =>
        `Order ${r.int(10000, 99999)} included ${r.int(1, 40)} units of the ${p} and ${r.int(1, 9)} spare ${r.pick(V.PRODUCTS)}s.`,
      () =>
        `We were told that the ${p} ${r.pick(V.ISSUES)}, so we ${r.pick(V.ACTIONS)} on ${r.pick(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])}.`,
      () =>
        `The customer from ${r.pick(V.COMPANIES)} asked whether the ${p} could ship to ${r.pick(V.CITIES)} before the ${r.int(1, 28)}th.`,
      () =>
        `Our records show ${r.int(2, 12)} previous tickets about the ${p}, mostly because it ${r.pick(V.ISSUES)}.`,
      () =>
        `I have ${r.pick(V.ACTIONS)} and will check in with the ${r.pick(['warehouse', 'finance team', 'courier', 'account manager'])} tomorrow.`,
    ];
    return r.pick(forms)();
  }

  paragraph(minSentences: number, maxSentences: number): string {
    const count = this.rng.int(minSentences, maxSentences);
    return Array.from({ length: count }, () => this.sentence()).join(' ');
  }

  /** A support thread: several messages, one per line block, with names and sign-offs. */
  thread(customer: { first: string; email: string; phone: string }, withPii: boolean): string {
    const agent = this.rng.pick(V.FIRST_NAMES);
    const messages = [
      `Hi ${agent},\n${this.paragraph(2, 4)}${withPii ? ` You can reach me at ${customer.email} or ${customer.phone}.` : ''}\nThanks, ${customer.first}`,
    ];
    for (let i = this.rng.int(1, 3); i > 0; i--) {
      messages.push(`Hello ${customer.first},\n${this.paragraph(1, 3)}\nBest regards, ${agent}`);
    }
    return messages.join('\n\n');
  }

  /**
   * A copy of `text` whose word 5-shingle Jaccard similarity to it is at or just under `target`: words are
   * replaced one at a time until the similarity falls to the target. Returns the copy and its exact similarity.
   */
  nearDuplicate(text: string, target: number, shingleSize = 5): { text: string; jaccard: number } {
    const original = shingleHashes(text, shingleSize);
    const tokens = text.split(' ');
    let similarity = 1;
    let guard = tokens.length * 4;
    while (similarity > target && guard-- > 0) {
      const at = this.rng.int(0, tokens.length - 1);
      tokens[at] = this.rng.pick(FILLER);
      similarity = jaccard(original, shingleHashes(tokens.join(' '), shingleSize));
    }
    return { text: tokens.join(' '), jaccard: similarity };
  }
}

/** What a sample planted, so tests and demos can check the pipeline found it. */
export interface PlantedTruth {
  profile: string;
  seed: number;
  rows: Record<string, number>;
  exactDuplicates: { file: string; id: string; duplicateOf: string }[];
  nearDuplicates: { file: string; id: string; duplicateOf: string; jaccard: number }[];
  pii: { file: string; id: string; kinds: string[] }[];
  lowQuality: { file: string; id: string }[];
  toxic: { file: string; id: string }[];
  subjects: string[];
}

export interface SampleOptions {
  profile: 'crm' | 'erp' | 'analytics';
  rows: number;
  seed: number;
  out: string;
}

/** Quotes a CSV field when it holds a delimiter, a quote or a line break (RFC 4180). */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

interface Row {
  [field: string]: unknown;
}

/** Plants duplicates, low-quality and toxic rows into a list of generated rows, recording them in `truth`. */
function plant(
  rows: Row[],
  opts: {
    file: string;
    idField: string;
    textField: string;
    rng: SeededRandom;
    factory: TextFactory;
    truth: PlantedTruth;
    newId: () => string;
  },
): Row[] {
  const { rng, truth, file, idField, textField } = opts;
  const out: Row[] = [];
  for (const row of rows) {
    out.push(row);
    const roll = rng.next();
    if (roll < 0.05) {
      const copy = { ...row, [idField]: opts.newId() };
      out.push(copy);
      truth.exactDuplicates.push({ file, id: String(copy[idField]), duplicateOf: String(row[idField]) });
    } else if (roll < 0.12) {
      const target = 0.5 + rng.next() * 0.45;
      const near = opts.factory.nearDuplicate(String(row[textField]), target);
      const copy = { ...row, [idField]: opts.newId(), [textField]: near.text };
      out.push(copy);
      truth.nearDuplicates.push({
        file,
        id: String(copy[idField]),
        duplicateOf: String(row[idField]),
        jaccard: Number(near.jaccard.toFixed(4)),
      });
    } else if (roll < 0.15) {
      const copy = { ...row, [idField]: opts.newId(), [textField]: rng.pick(V.LOW_QUALITY) };
      out.push(copy);
      truth.lowQuality.push({ file, id: String(copy[idField]) });
    } else if (roll < 0.18) {
      const copy = {
        ...row,
        [idField]: opts.newId(),
        [textField]: `${String(row[textField]).split('\n')[0]}\n${rng.pick(V.TOXIC_LINES)}`,
      };
      out.push(copy);
      truth.toxic.push({ file, id: String(copy[idField]) });
    }
  }
  return out;
}

/**
 * Writes a realistic sample export for a profile under `out`: CSV (with quoted multi-line fields), JSONL and,
 * for ERP, Parquet files, plus `_planted.json` with the ground truth of what was planted (exact and near
 * duplicates with their Jaccard similarity, PII, low-quality and toxic rows). Connectors skip `_` files.
 */
export async function writeSample(options: SampleOptions): Promise<PlantedTruth> {
  if (!Number.isInteger(options.rows) || options.rows < 1 || options.rows > 10_000_000) {
    throw new DataError(
      'validation_failed',
      `rows must be an integer from 1 to 10000000, got ${options.rows}`,
    );
  }
  const rng = new SeededRandom(options.seed);
  const factory = new TextFactory(rng);
  const truth: PlantedTruth = {
    profile: options.profile,
    seed: options.seed,
    rows: {},
    exactDuplicates: [],
    nearDuplicates: [],
    pii: [],
    lowQuality: [],
    toxic: [],
    subjects: [],
  };
  await mkdir(options.out, { recursive: true });
  let serial = 0;
  const id = (prefix: string) => () => `${prefix}-${String(++serial).padStart(7, '0')}`;
  const people = Array.from({ length: Math.max(3, Math.ceil(options.rows / 4)) }, (_v, i) => ({
    ...factory.person(),
    id: `C${String(i + 1).padStart(6, '0')}`,
  }));
  truth.subjects = people.slice(0, 5).map((p) => p.id);
  const write = async (file: string, body: string) => writeFile(path.join(options.out, file), body);
  const jsonl = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const csv = (columns: string[], rows: Row[]) =>
    csvLine(columns) + rows.map((r) => csvLine(columns.map((c) => r[c]))).join('');

  if (options.profile === 'crm') {
    const contacts = people.map((p) => ({
      contact_id: p.id,
      first_name: p.first,
      last_name: p.last,
      email: p.email,
      phone: p.phone,
      company: rng.pick(V.COMPANIES),
      about: `${p.first} ${p.last} manages purchasing at ${rng.pick(V.COMPANIES)}. ${factory.paragraph(1, 2)}`,
    }));
    const notesBase: Row[] = Array.from({ length: options.rows }, () => {
      const p = rng.pick(people);
      const withPii = rng.chance(0.3);
      const noteId = id('N')();
      if (withPii) truth.pii.push({ file: 'notes.jsonl', id: noteId, kinds: ['EMAIL_ADDRESS'] });
      return {
        note_id: noteId,
        contact_id: p.id,
        author: rng.pick(V.FIRST_NAMES),
        created_at: `2026-0${rng.int(1, 9)}-1${rng.int(0, 9)}T10:00:00Z`,
        body: `${factory.paragraph(3, 6)}${withPii ? ` Follow up with ${p.email}.` : ''}`,
      };
    });
    const ticketsBase: Row[] = Array.from({ length: options.rows }, () => {
      const p = rng.pick(people);
      const withPii = rng.chance(0.4);
      const ticketId = id('T')();
      if (withPii)
        truth.pii.push({ file: 'tickets.csv', id: ticketId, kinds: ['EMAIL_ADDRESS', 'PHONE_NUMBER'] });
      return {
        ticket_id: ticketId,
        contact_id: p.id,
        subject: `${rng.pick(V.PRODUCTS)} ${rng.pick(V.ISSUES)}`,
        thread: factory.thread(p, withPii),
        status: rng.pick(['open', 'pending', 'solved', 'closed']),
      };
    });
    const notes = plant(notesBase, {
      file: 'notes.jsonl',
      idField: 'note_id',
      textField: 'body',
      rng,
      factory,
      truth,
      newId: id('N'),
    });
    const tickets = plant(ticketsBase, {
      file: 'tickets.csv',
      idField: 'ticket_id',
      textField: 'thread',
      rng,
      factory,
      truth,
      newId: id('T'),
    });
    await write(
      'contacts.csv',
      csv(['contact_id', 'first_name', 'last_name', 'email', 'phone', 'company', 'about'], contacts),
    );
    await write('notes.jsonl', jsonl(notes));
    await write('tickets.csv', csv(['ticket_id', 'contact_id', 'subject', 'thread', 'status'], tickets));
    truth.rows = {
      'contacts.csv': contacts.length,
      'notes.jsonl': notes.length,
      'tickets.csv': tickets.length,
    };
  } else if (options.profile === 'erp') {
    const products = Array.from({ length: Math.max(5, Math.ceil(options.rows / 5)) }, (_v, i) => {
      const p = V.PRODUCTS[i % V.PRODUCTS.length]!;
      return {
        sku: `SKU-${String(i + 1).padStart(5, '0')}`,
        name: `${rng.pick(['Pro', 'Lite', 'Max', 'Eco', 'Plus'])} ${p}`,
        description: `A ${p} for busy offices. ${factory.paragraph(2, 3)}`,
        price: rng.int(20, 2000),
      };
    });
    const ordersBase: Row[] = Array.from({ length: options.rows }, () => {
      const p = rng.pick(people);
      const withPii = rng.chance(0.25);
      const orderId = id('O')();
      if (withPii) truth.pii.push({ file: 'orders.csv', id: orderId, kinds: ['PHONE_NUMBER'] });
      return {
        order_id: orderId,
        customer_id: p.id,
        date: `2026-0${rng.int(1, 9)}-2${rng.int(0, 8)}`,
        total: (rng.int(1000, 500000) / 100).toFixed(2),
        notes: `${factory.paragraph(2, 4)}${withPii ? ` Call ${p.first} on ${p.phone} before delivery.` : ''}`,
      };
    });
    const orders = plant(ordersBase, {
      file: 'orders.csv',
      idField: 'order_id',
      textField: 'notes',
      rng,
      factory,
      truth,
      newId: id('O'),
    });
    const invoices = Array.from({ length: options.rows }, () => {
      const p = rng.pick(people);
      return {
        invoice_id: id('I')(),
        customer_id: p.id,
        amount: rng.int(100, 900000) / 100,
        memo: `Invoice for ${rng.int(1, 30)} units. ${factory.paragraph(1, 3)}`,
      };
    });
    await write('products.jsonl', jsonl(products));
    await write('orders.csv', csv(['order_id', 'customer_id', 'date', 'total', 'notes'], orders));
    const { parquetWriteBuffer }: Hyparquet = await import('hyparquet-writer');
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'invoice_id', data: invoices.map((r) => r.invoice_id), type: 'STRING' },
        { name: 'customer_id', data: invoices.map((r) => r.customer_id), type: 'STRING' },
        { name: 'amount', data: invoices.map((r) => r.amount), type: 'DOUBLE' },
        { name: 'memo', data: invoices.map((r) => r.memo), type: 'STRING' },
      ],
    });
    await writeFile(path.join(options.out, 'invoices.parquet'), new Uint8Array(buffer));
    truth.rows = {
      'products.jsonl': products.length,
      'orders.csv': orders.length,
      'invoices.parquet': invoices.length,
    };
  } else {
    const eventsBase: Row[] = Array.from({ length: options.rows }, () => {
      const p = rng.pick(people);
      const page = rng.pick(V.PAGES);
      return {
        event_id: id('E')(),
        user_id: p.id,
        ts: `2026-10-${String(rng.int(1, 30)).padStart(2, '0')}T${String(rng.int(0, 23)).padStart(2, '0')}:00:00Z`,
        type: rng.pick(['page_view', 'click', 'feedback']),
        description: `User opened the ${page} page from ${rng.pick(V.CITIES)} and left feedback: ${factory.paragraph(1, 3)}`,
      };
    });
    const events = plant(eventsBase, {
      file: 'events.jsonl',
      idField: 'event_id',
      textField: 'description',
      rng,
      factory,
      truth,
      newId: id('E'),
    });
    const searches = Array.from({ length: options.rows }, () => ({
      query_id: id('Q')(),
      user_id: rng.pick(people).id,
      query: rng.pick(V.QUERIES).replace('{p}', rng.pick(V.PRODUCTS)),
    }));
    await write('events.jsonl', jsonl(events));
    await write('search_queries.csv', csv(['query_id', 'user_id', 'query'], searches));
    truth.rows = { 'events.jsonl': events.length, 'search_queries.csv': searches.length };
  }
  await write('_planted.json', JSON.stringify(truth, null, 2) + '\n');
  return truth;
}
