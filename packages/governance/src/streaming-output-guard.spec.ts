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
});
