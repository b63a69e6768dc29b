import { compileGuardrailPolicy, parseGuardrailPolicy } from './guardrails';
import { StreamingOutputGuard } from './streaming-output-guard';

const policy = compileGuardrailPolicy(
  parseGuardrailPolicy({
    pii: { rules: [{ entity_types: ['EMAIL_ADDRESS', 'CREDIT_CARD'], mode: 'mask', phases: ['output'] }] },
    blocklist: { terms: ['forbidden word'], mode: 'block', phases: ['output'] },
  }),
);

/** Streams `text` through the guard in pieces of `size` characters. */
function stream(text: string, size: number): { sent: string; chunks: string[] } {
  const guard = new StreamingOutputGuard(policy);
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(guard.push(text.slice(i, i + size)));
  chunks.push(guard.finish());
  return { sent: chunks.join(''), chunks };
}

describe('StreamingOutputGuard', () => {
  const text =
    'Dear customer, thanks for writing in about your order. Please contact jane.doe@example.com or pay ' +
    'with card 4111 1111 1111 1111 before Friday. We look forward to hearing from you and wish you a ' +
    'pleasant week ahead, with many thanks from the whole team at the shop.';

  it.each([1, 3, 7, 50])('masks entities split across stream chunks (%i chars at a time)', (size) => {
    const { sent } = stream(text, size);
    expect(sent).toBe(policy.apply(text, 'output').text);
    expect(sent).toContain('<EMAIL_ADDRESS>');
    expect(sent).toContain('<CREDIT_CARD>');
    expect(sent).not.toContain('jane.doe');
    expect(sent).not.toContain('4111');
  });

  it('releases text before the end of the stream', () => {
    const { chunks } = stream(text, 5);
    expect(chunks.slice(0, -1).join('').length).toBeGreaterThan(text.length / 2);
  });

  it('blocks when a block rule fires, before the blocked words are released', () => {
    const guard = new StreamingOutputGuard(policy);
    let released = '';
    const blocked = 'All fine so far, and then the forbidden word appears in the answer text here.';
    expect(() => {
      for (const ch of blocked) released += guard.push(ch);
      released += guard.finish();
    }).toThrow(expect.objectContaining({ code: 'guardrail_blocked' }));
    expect(released).not.toContain('forbidden');
  });

  it('reports the actions of released text', () => {
    const guard = new StreamingOutputGuard(policy);
    guard.push(text);
    guard.finish();
    expect(guard.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'pii', entity_type: 'EMAIL_ADDRESS', count: 1 }),
      ]),
    );
  });

  it('releases plain words as soon as the next word starts, not after a fixed hold-back', () => {
    const guard = new StreamingOutputGuard(policy);
    const tokens = ['the', ' cat', ' sat', ' on', ' the', ' mat'];
    const released = tokens.map((token) => guard.push(token));
    expect(released).toEqual(['', 'the ', 'cat ', 'sat ', 'on ', 'the ']);
    expect(guard.finish()).toBe('mat');
  });

  it('holds a number in progress, across its spaces, until it is complete', () => {
    const guard = new StreamingOutputGuard(policy);
    let sent = '';
    for (const token of ['pay', ' with', ' 4111', ' 1111', ' 1111']) sent += guard.push(token);
    expect(sent).toBe('pay with ');
    for (const token of [' 1111', ' today', ' please']) sent += guard.push(token);
    sent += guard.finish();
    expect(sent).toBe('pay with <CREDIT_CARD> today please');
    expect(guard.actions).toEqual([expect.objectContaining({ entity_type: 'CREDIT_CARD', count: 1 })]);
  });

  it('holds an email address while it is being written', () => {
    const guard = new StreamingOutputGuard(policy);
    let sent = '';
    for (const token of ['write', ' to', ' jane', '.doe', '@', 'example']) sent += guard.push(token);
    expect(sent).toBe('write to ');
    sent += guard.push('.com') + guard.push(' now') + guard.finish();
    expect(sent).toBe('write to <EMAIL_ADDRESS> now');
  });

  it('holds capitalised words, which could be the first of a name', () => {
    const guard = new StreamingOutputGuard(policy);
    expect(guard.push('ask') + guard.push(' Jane') + guard.push(' Doe')).toBe('ask ');
    expect(guard.push(' about') + guard.push(' it')).toBe('Jane Doe about ');
  });

  it('holds a word that begins a blocklist term', () => {
    const guard = new StreamingOutputGuard(policy);
    let sent = '';
    for (const token of ['one', ' two', ' forbidden', ' four']) sent += guard.push(token);
    // "four" is being written, and "forbidden" begins the term "forbidden word".
    expect(sent).toBe('one two ');
    expect(guard.push(' five')).toBe('forbidden four ');
    const other = new StreamingOutputGuard(policy);
    expect(['one', ' two', ' three', ' four'].map((token) => other.push(token)).join('')).toBe(
      'one two three ',
    );
  });

  it('counts each finding once, though released text is given again as context', () => {
    const guard = new StreamingOutputGuard(policy);
    const words = 'mail jane@example.com and then a b c d e f g h i j k l m n o p q r s t u v w x y z'.split(
      ' ',
    );
    let sent = '';
    words.forEach((word, i) => (sent += guard.push(i === 0 ? word : ` ${word}`)));
    sent += guard.finish();
    expect(sent).toBe(policy.apply(words.join(' '), 'output').text);
    expect(guard.actions).toEqual([expect.objectContaining({ entity_type: 'EMAIL_ADDRESS', count: 1 })]);
  });

  it('holds a lower-case word that begins a listed multi-word name', () => {
    const named = compileGuardrailPolicy(
      parseGuardrailPolicy({
        pii: { rules: [{ entity_types: ['PERSON'], mode: 'mask' }], person_names: ['Anna Schmidt'] },
      }),
    );
    const guard = new StreamingOutputGuard(named);
    let sent = '';
    for (const token of ['ask', ' anna', ' schm']) sent += guard.push(token);
    expect(sent).toBe('ask ');
    sent += guard.push('idt') + guard.push(' today') + guard.finish();
    expect(sent).toBe('ask <PERSON> today');
  });
});
