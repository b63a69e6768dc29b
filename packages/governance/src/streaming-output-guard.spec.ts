import { DEFAULT_GUARDRAIL_POLICY } from './governance-config';
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

  describe('with the default policy (every PII type masked, names by the shipped tables)', () => {
    const defaults = compileGuardrailPolicy(parseGuardrailPolicy(DEFAULT_GUARDRAIL_POLICY));
    const pushEach = (guard: StreamingOutputGuard, tokens: string[]) => tokens.map((t) => guard.push(t));

    it('releases a lower-case stream token by token: each word as soon as the next one starts', () => {
      const guard = new StreamingOutputGuard(defaults);
      expect(pushEach(guard, [' the', ' cat', ' sat', ' on', ' the', ' mat'])).toEqual([
        ' ',
        'the ',
        'cat ',
        'sat ',
        'on ',
        'the ',
      ]);
      expect(guard.finish()).toBe('mat');
    });

    it('releases a capitalised word once a lower-case word follows it, masked if it is a name', () => {
      const guard = new StreamingOutputGuard(defaults);
      expect(pushEach(guard, ['hi', ' Sarah', ' and', ' Tom'])).toEqual(['', 'hi ', '<PERSON> ', 'and ']);
    });

    it('releases capitalised words that cannot begin a name at once, even while more may follow', () => {
      const guard = new StreamingOutputGuard(defaults);
      expect(pushEach(guard, ['so', ' Thousands', ' Thousands', ' Thousands'])).toEqual([
        '',
        'so ',
        'Thousands ',
        'Thousands ',
      ]);
    });

    it('holds a name pair until the run of capitalised words ends, then masks all of it', () => {
      const guard = new StreamingOutputGuard(defaults);
      expect(pushEach(guard, ['ask', ' Anna', ' Schmidt', ' Meyer', ' about', ' it'])).toEqual([
        '',
        'ask ',
        '',
        '',
        '<PERSON> ',
        'about ',
      ]);
    });

    it('holds the name after a title, though the name is in no table', () => {
      const guard = new StreamingOutputGuard(defaults);
      let sent = pushEach(guard, ['see', ' Dr', '.', ' Okafor']).join('');
      expect(sent).toBe('see ');
      sent += guard.push(' today') + guard.finish();
      expect(sent).toBe('see Dr. <PERSON> today');
    });

    it('finds a name that begins inside a word, as the recognizer does', () => {
      const guard = new StreamingOutputGuard(defaults);
      const tokens = ['met', ' x', '-', 'Anna', ' Schmidt', ' here', ' now'];
      const sent = pushEach(guard, tokens).join('') + guard.finish();
      expect(sent).toBe(defaults.apply(tokens.join(''), 'output').text);
      expect(sent).not.toContain('Schmidt');
    });

    it('holds separators only while a number may follow them, and a number until it ends', () => {
      const plain = new StreamingOutputGuard(defaults);
      expect(pushEach(plain, ['a', ' (', ' see', ' below'])).toEqual(['', 'a ', '( ', 'see ']);
      const phone = new StreamingOutputGuard(defaults);
      let sent = pushEach(phone, ['call', ' +', '1', ' (', '415', ')', ' 555', '-', '2671', ' now']).join('');
      expect(sent).toBe('call ');
      sent += phone.push(' please') + phone.finish();
      expect(sent).toBe(defaults.apply('call +1 (415) 555-2671 now please', 'output').text);
      expect(sent).not.toContain('2671');
    });

    it('releases punctuation no entity contains at once, and a run of colons no IPv6 address has', () => {
      const guard = new StreamingOutputGuard(defaults);
      expect(pushEach(guard, [' "', ':', ':', ':', ':', ' Thousands'])).toEqual([
        ' "',
        '',
        '',
        ':::',
        ':',
        ' ',
      ]);
      const address = new StreamingOutputGuard(defaults);
      let sent = pushEach(address, ['at', ' ::', '1']).join('');
      expect(sent).toBe('at ');
      sent += address.push(' now') + address.finish();
      expect(sent).toBe('at <IP_ADDRESS> now');
    });

    it('streams exactly what guarding the whole text gives, over random token streams', () => {
      const vocabulary = [
        ' the',
        ' and',
        ' of',
        'ly',
        ' Anna',
        ' Schmidt',
        ' Sarah',
        ' Tom',
        ' Victoria',
        ' Station',
        ' Thousands',
        ' Golden',
        ' Gate',
        ' Dr',
        ' Mr',
        '.',
        ',',
        ' J',
        ' May',
        ' (',
        ')',
        ' +',
        '1',
        ' 4111',
        ' 1111',
        ' 555',
        '-',
        '2671',
        ' jane',
        '@',
        'example',
        '.com',
        ' GB',
        '82',
        ' WEST',
        ' 1234',
        ' 5698',
        ' 7654',
        ' 32',
        '\n',
        ' x',
        "'s",
        ' O',
        "'",
        'Connor',
        ' 192',
        '.168',
        '.1',
        ' Mac',
        ' Smith',
        ':',
        ' :',
        '::',
        'fe80',
        '1',
        ',',
        ' "',
        '!',
        '#',
        '?',
        '%',
        'eth0',
      ];
      let seed = 12345;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      // The defaults, and with masked blocklist terms and listed names that span words as well.
      const listed = compileGuardrailPolicy(
        parseGuardrailPolicy({
          ...DEFAULT_GUARDRAIL_POLICY,
          pii: { ...DEFAULT_GUARDRAIL_POLICY.pii, person_names: ['Tom Smith', 'the Mac'] },
          blocklist: { terms: ['Golden Gate', 'of the'], mode: 'mask' },
        }),
      );
      for (let run = 0; run < 600; run++) {
        const tokens = Array.from({ length: 4 + Math.floor(random() * 14) }, () => {
          return vocabulary[Math.floor(random() * vocabulary.length)]!;
        });
        const policy = run % 2 === 0 ? defaults : listed;
        const guard = new StreamingOutputGuard(policy);
        const sent = pushEach(guard, tokens).join('') + guard.finish();
        expect({ tokens, sent }).toEqual({ tokens, sent: policy.apply(tokens.join(''), 'output').text });
      }
    });
  });

  it('passes every token through at once when the policy has no output rules', () => {
    const inputOnly = compileGuardrailPolicy(
      parseGuardrailPolicy({
        pii: { rules: [{ entity_types: ['PERSON', 'EMAIL_ADDRESS'], mode: 'mask', phases: ['input'] }] },
      }),
    );
    const guard = new StreamingOutputGuard(inputOnly);
    const tokens = ['mail', ' Anna', ' at', ' anna@example', '.com'];
    expect(tokens.map((token) => guard.push(token))).toEqual(tokens);
    expect(guard.finish()).toBe('');
    expect(guard.releasedLength).toBe(tokens.join('').length);
    expect(guard.actions).toEqual([]);
  });
});
