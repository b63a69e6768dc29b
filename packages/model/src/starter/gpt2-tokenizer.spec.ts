import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { transformers, type PreTrainedTokenizer } from '../transformers';
import { encode as referenceEncode } from 'gpt-3-encoder';

import { GPT2_END_OF_TEXT, GPT2_VOCAB_SIZE, buildGpt2TokenizerFiles } from './gpt2-tokenizer';

const { AutoTokenizer, env } = transformers;

describe('buildGpt2TokenizerFiles', () => {
  const files = buildGpt2TokenizerFiles({ modelMaxLength: 1024 });
  let root: string;
  let tokenizer: PreTrainedTokenizer;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'strata-tokenizer-'));
    const dir = path.join(root, 'test', 'gpt2-tokenizer');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'tokenizer.json'), files.tokenizerJson);
    await writeFile(path.join(dir, 'tokenizer_config.json'), files.tokenizerConfigJson);
    env.allowRemoteModels = false;
    env.localModelPath = root;
    tokenizer = await AutoTokenizer.from_pretrained('test/gpt2-tokenizer');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const encode = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false });

  it('encodes "Hello world" as GPT-2 does', () => {
    expect(encode('Hello world')).toEqual([15496, 995]);
  });

  it.each([
    ['emoji, including a ZWJ family', 'I love 🦙 and 🎉! 👩‍👩‍👧'],
    ['Arabic (RTL)', 'مرحبا بالعالم'],
    ['Hebrew (RTL)', 'שלום עולם'],
    ['leading spaces', '   leading spaces'],
    ['newlines, tabs and trailing space', 'trailing  \n\n newline\t tab '],
    ['contractions', "I'm sure they've won't 'll"],
    ['numbers', '12345 3.14159 1,000,000'],
    ['CJK', '日本語のテキスト'],
    ['accents', 'Ünïcödé çombining é'],
    ['spaces before punctuation', "Hello , world . It 's"],
    ['control characters and CRLF', '\u0000\u0001 control a\r\nb'],
    ['a long run', 'x'.repeat(300)],
  ])('matches gpt-3-encoder and round-trips: %s', (_label, text) => {
    const ids = encode(text);
    expect(ids).toEqual(referenceEncode(text));
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('treats <|endoftext|> as the single special token 50256', () => {
    expect(encode(GPT2_END_OF_TEXT)).toEqual([50256]);
    expect(encode('Hello<|endoftext|>world')).toEqual([15496, 50256, 6894]);
    expect(tokenizer.decode([15496, 50256, 6894], { skip_special_tokens: true })).toBe('Helloworld');
    expect([tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id]).toEqual([
      50256, 50256, 50256,
    ]);
  });

  it('adds no BOS, has no chat template, and left-pads batches', () => {
    expect(tokenizer.encode('Hi')).toEqual([17250]);
    expect(tokenizer.chat_template).toBeNull();
    expect(tokenizer.model_max_length).toBe(1024);
    const batch = tokenizer(['Hello world', 'Hi'], { padding: true, return_tensor: false }) as unknown as {
      input_ids: number[][];
      attention_mask: number[][];
    };
    expect(batch.input_ids).toEqual([
      [15496, 995],
      [50256, 17250],
    ]);
    expect(batch.attention_mask).toEqual([
      [1, 1],
      [0, 1],
    ]);
  });

  it('writes the full GPT-2 vocabulary (by id) and merges', () => {
    const json = JSON.parse(files.tokenizerJson) as {
      model: { vocab: Record<string, number>; merges: string[] };
    };
    expect(Object.keys(json.model.vocab)).toHaveLength(GPT2_VOCAB_SIZE);
    expect(json.model.merges).toHaveLength(50000);
    expect(json.model.merges[0]).toBe('Ġ t');
    // Written in id order, even though digit-only keys such as "0" would otherwise be hoisted.
    expect(files.tokenizerJson.indexOf('"!": 0')).toBeLessThan(files.tokenizerJson.indexOf('"0": 15'));
    expect(buildGpt2TokenizerFiles({ modelMaxLength: 1024 })).toEqual(files);
  });
});
