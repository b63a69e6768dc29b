import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { transformers, type PreTrainedModel, type Tensor } from '../transformers';

const { AutoModelForCausalLM, AutoTokenizer, env } = transformers;

import {
  KV_DELTA_OUTPUT_PREFIX,
  STARTER_BUILDER_VERSION,
  initGpt2Weights,
  type Gpt2Config,
} from './gpt2-onnx';
import {
  KV_DELTA_MODEL_FILE,
  STARTER_MANIFEST_FILE,
  STARTER_KJV_SHAPE,
  STARTER_SHAPE,
  ensureStarterModel,
  writeModelFolder,
  type StarterModelShape,
} from './starter-model';
import { packGpt2WeightsQ8 } from '../trainer/starter-weights';

/** The real GPT-2 vocabulary (the tokenizer needs it) with a tiny body. */
const TINY: Gpt2Config = {
  vocabSize: 50257,
  nPositions: 64,
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  bosTokenId: 50256,
  eosTokenId: 50256,
};
const TINY_SHAPE: StarterModelShape = { modelId: 'test/tiny-gpt2', config: TINY, seed: 7, quantized: true };

const EXPECTED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/model.onnx',
  'onnx/model_quantized.onnx',
  'onnx/model_kv_delta.onnx',
  'onnx/model_kv_delta_quantized.onnx',
];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'strata-starter-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** The last position's logits of a one-row [1, S, V] logits tensor, as a [1, 1, V] tensor. */
function lastPosition(logits: Tensor | undefined): Tensor {
  if (logits === undefined) throw new Error('missing logits');
  const [, length, vocabulary] = logits.dims as [number, number, number];
  const data = (logits.data as Float32Array).slice((length - 1) * vocabulary, length * vocabulary);
  return new transformers.Tensor('float32', data, [1, 1, vocabulary]);
}

/** Largest absolute difference between two float32 tensors of the same size. */
function maxAbsDiff(a: Tensor | undefined, b: Tensor | undefined): number {
  if (a === undefined || b === undefined) throw new Error('missing tensor');
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  expect(x.length).toBe(y.length);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs((x[i] ?? NaN) - (y[i] ?? NaN)));
  return max;
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('writeModelFolder', () => {
  it('writes the Hugging Face files, byte-identical on every build, and no temporary files', async () => {
    const a = await writeModelFolder(path.join(scratch, 'a'), 'test/tiny-gpt2', { config: TINY, seed: 7 });
    const b = await writeModelFolder(path.join(scratch, 'b'), 'test/tiny-gpt2', { config: TINY, seed: 7 });
    expect(a.files.map((f) => f.path)).toEqual(EXPECTED_FILES);
    expect(await listFiles(a.dir)).toEqual([...EXPECTED_FILES, STARTER_MANIFEST_FILE].sort());
    for (const file of [...EXPECTED_FILES, STARTER_MANIFEST_FILE]) {
      const [hashA, hashB] = await Promise.all([
        sha256File(path.join(a.dir, file)),
        sha256File(path.join(b.dir, file)),
      ]);
      expect({ file, hash: hashB }).toEqual({ file, hash: hashA });
    }
    expect(b.files).toEqual(a.files);
    expect(a.buildKey).toBe(b.buildKey);
    const other = await writeModelFolder(path.join(scratch, 'c'), 'test/tiny-gpt2', {
      config: TINY,
      seed: 8,
    });
    expect(other.files.find((f) => f.path === 'onnx/model.onnx')?.sha256).not.toBe(
      a.files.find((f) => f.path === 'onnx/model.onnx')?.sha256,
    );
  });

  it('writes a GPT-2 config.json that names the architecture and sizes', async () => {
    const { dir } = await writeModelFolder(path.join(scratch, 'config'), 'tiny', {
      config: TINY,
      seed: 1,
      quantized: false,
    });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      activation_function: 'gelu_new',
      n_embd: 32,
      n_layer: 2,
      n_head: 4,
      n_positions: 64,
      n_ctx: 64,
      vocab_size: 50257,
      bos_token_id: 50256,
      eos_token_id: 50256,
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: true,
    });
    expect((await listFiles(dir)).filter((f) => f.startsWith('onnx/'))).toEqual([
      'onnx/model.onnx',
      'onnx/model_kv_delta.onnx',
    ]);
    const manifest = JSON.parse(await readFile(path.join(dir, STARTER_MANIFEST_FILE), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      builder_version: STARTER_BUILDER_VERSION,
      seed: 1,
      quantized: false,
      weights: 'seeded-init',
    });
  });

  it('refuses a vocabulary smaller than the tokenizer and ids that leave the root', async () => {
    await expect(
      writeModelFolder(scratch, 'small', {
        config: { ...TINY, vocabSize: 1000, bosTokenId: 0, eosTokenId: 0 },
        seed: 1,
      }),
    ).rejects.toThrow(/vocabSize must be at least 50257/);
    await expect(writeModelFolder(scratch, '../escape', { config: TINY, seed: 1 })).rejects.toThrow(
      /model id/,
    );
  });
});

describe('ensureStarterModel', () => {
  it('builds once, then finds the folder up to date until something changes', async () => {
    const root = path.join(scratch, 'ensure');
    const first = await ensureStarterModel(root, TINY_SHAPE);
    expect(first.status).toBe('built');
    const modelFile = path.join(first.dir, 'onnx', 'model.onnx');
    const builtAt = (await stat(modelFile)).mtimeMs;

    const second = await ensureStarterModel(root, TINY_SHAPE);
    expect(second).toEqual({ ...first, status: 'up-to-date' });
    expect((await stat(modelFile)).mtimeMs).toBe(builtAt);

    await rm(modelFile);
    expect((await ensureStarterModel(root, TINY_SHAPE)).status).toBe('built');

    const reseeded = await ensureStarterModel(root, { ...TINY_SHAPE, seed: 8 });
    expect(reseeded.status).toBe('built');
    expect(reseeded.buildKey).not.toBe(first.buildKey);
    expect((await ensureStarterModel(root, { ...TINY_SHAPE, seed: 8 })).status).toBe('up-to-date');

    await writeFile(path.join(first.dir, STARTER_MANIFEST_FILE), '{ not json');
    expect((await ensureStarterModel(root, { ...TINY_SHAPE, seed: 8 })).status).toBe('built');
    expect((await ensureStarterModel(root, { ...TINY_SHAPE, seed: 8 }, { force: true })).status).toBe(
      'built',
    );
    expect((await listFiles(first.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keys trained weights by their packed file: the same file is up to date, other weights rebuild', async () => {
    const root = path.join(scratch, 'trained');
    const weightsFile = path.join(scratch, 'tiny.q8.safetensors');
    const pack = (seed: number) =>
      packGpt2WeightsQ8(TINY, initGpt2Weights(TINY, seed), { seed: String(seed) });
    await writeFile(weightsFile, pack(1));
    const shape: StarterModelShape = {
      ...TINY_SHAPE,
      modelId: 'test/tiny-trained',
      trainedWeightsFile: weightsFile,
    };
    const first = await ensureStarterModel(root, shape);
    expect(first.status).toBe('built');
    const onnx = () => readFile(path.join(first.dir, 'onnx', 'model.onnx'));
    const builtFromFirst = await onnx();
    expect(await ensureStarterModel(root, shape)).toEqual({ ...first, status: 'up-to-date' });

    await writeFile(weightsFile, pack(2));
    const retrained = await ensureStarterModel(root, shape);
    expect(retrained.status).toBe('built');
    expect(retrained.buildKey).not.toBe(first.buildKey);
    expect((await onnx()).equals(builtFromFirst)).toBe(false);

    await writeFile(weightsFile, 'not safetensors');
    await expect(ensureStarterModel(root, shape)).rejects.toThrow();
    await rm(weightsFile);
    await expect(ensureStarterModel(root, shape)).rejects.toThrow(/are missing/);
  });
});

describe('the starter model in transformers.js 4', () => {
  let root: string;
  beforeAll(async () => {
    root = path.join(scratch, 'models');
    const result = await ensureStarterModel(root);
    expect(result).toMatchObject({ status: 'built', modelId: 'strata/starter-gpt2', paramCount: 3_382_080 });
    env.allowRemoteModels = false;
    env.localModelPath = root;
  });

  it('is byte-for-byte the pinned starter build, and the pinned KJV-trained starter build', async () => {
    // These hashes pin the output on every machine. If a change to the builder alters them on purpose,
    // bump STARTER_BUILDER_VERSION (so existing folders are rebuilt) and update the hashes.
    // The two transformers.js graphs are still byte-for-byte builder 2's: builder 3 only added the KV-delta
    // graphs and builder 4 only changed them (the head on the last position), and neither may change the files
    // other consumers already load.
    const { files } = await ensureStarterModel(root);
    expect(
      Object.fromEntries(files.filter((f) => f.path.startsWith('onnx/')).map((f) => [f.path, f.sha256])),
    ).toEqual({
      'onnx/model.onnx': '64529f43f59b7ed40db62e6c24a973b13997e946b08a65a34ef2057940bbadc8',
      'onnx/model_quantized.onnx': 'e96d858fa0f990df78ae8bb30c950f2a9252f3f7c4b0d4a36c7f31a0581de50e',
      'onnx/model_kv_delta.onnx': 'e1a0ff12a095c6080a06da38ce7170947e6dc18a5d76a2779142c3f09bf78319',
      'onnx/model_kv_delta_quantized.onnx':
        '469e519097dc2cb246afc6bbdbba6c09bfb96eb56dd0a3485be82f94d9e41beb',
    });
    // The KJV-trained starter is built from the weights in assets/ (pnpm train:starter); these hashes change
    // when those weights are retrained.
    const kjv = await ensureStarterModel(path.join(scratch, 'kjv'), STARTER_KJV_SHAPE);
    expect(
      Object.fromEntries(kjv.files.filter((f) => f.path.startsWith('onnx/')).map((f) => [f.path, f.sha256])),
    ).toEqual({
      'onnx/model.onnx': 'f25b47af2a491a149f85aa366d5fb779c58cc209c6e62ee4afe17238f68fb693',
      'onnx/model_quantized.onnx': '262dc69dc1cd5145662b745a93abe42acef1f2ba2f168317921ce74b762574cd',
      'onnx/model_kv_delta.onnx': 'fc7ef78109524808924c3844cfdc4263e1f47d0e3fff7148fd4dacfa09fb1261',
      'onnx/model_kv_delta_quantized.onnx':
        'd6b81c5f7d55e5dbd6f1b8adc340857cc63b980b6432266f71bb72fc2365d608',
    });
    expect(STARTER_BUILDER_VERSION).toBe('4');
  });

  it('names the KV-delta file as the model loader expects', () => {
    expect(KV_DELTA_MODEL_FILE).toBe('model_kv_delta');
  });

  /**
   * The KV-delta graph loaded through transformers.js as Strata's engine does. `model.forward` runs it: without
   * `past_key_values` transformers.js feeds empty [batch, heads, 0, head_dim] past tensors (a prefill), and
   * with them it passes the given tensors through. `generate()` cannot drive this graph (it looks for
   * `present.*` outputs to build the next step's cache); it needs `onnx/model.onnx`.
   */
  it.each(['fp32', 'q8'] as const)(
    'loads the KV-delta graph with dtype %s and matches the standard graph through model.forward',
    async (dtype) => {
      const options = { dtype, session_options: { extra: { session: { disable_quant_qdq: '1' } } } };
      const [standard, delta] = await Promise.all([
        AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, options),
        AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, {
          ...options,
          model_file_name: KV_DELTA_MODEL_FILE,
        }),
      ]);
      try {
        const { nHead, nEmbd, nLayer, vocabSize } = STARTER_SHAPE.config;
        const headDim = nEmbd / nHead;
        const int64 = (values: bigint[], dims: number[]): Tensor =>
          new transformers.Tensor('int64', BigInt64Array.from(values), dims);
        const ids = [464n, 2068n, 7586n, 21831n, 18045n];
        const prefix = ids.slice(0, -1);
        const ones = (n: number): bigint[] => Array.from({ length: n }, () => 1n);

        type Outputs = Record<string, Tensor>;

        // Prefill without past_key_values.
        const prefill = {
          input_ids: int64(prefix, [1, prefix.length]),
          attention_mask: int64(ones(prefix.length), [1, prefix.length]),
        };
        const [expected, actual] = (await Promise.all([
          standard.forward(prefill),
          delta.forward(prefill),
        ])) as [Outputs, Outputs];
        expect(Object.keys(actual).sort()).toEqual(
          [
            'logits',
            ...Array.from({ length: nLayer }, (_, i) => [
              `${KV_DELTA_OUTPUT_PREFIX}${i}.key`,
              `${KV_DELTA_OUTPUT_PREFIX}${i}.value`,
            ]).flat(),
          ].sort(),
        );
        // The delta graph returns the last position's logits only.
        expect(actual['logits']?.dims).toEqual([1, 1, expected['logits']!.dims[2]]);
        expect(maxAbsDiff(actual['logits'], lastPosition(expected['logits']))).toBeLessThan(1e-4);
        expect(actual[`${KV_DELTA_OUTPUT_PREFIX}1.value`]?.dims).toEqual([1, nHead, prefix.length, headDim]);
        expect(
          maxAbsDiff(actual[`${KV_DELTA_OUTPUT_PREFIX}1.value`], expected['present.1.value']),
        ).toBeLessThan(1e-4);

        // A decode step with explicit position_ids and a past in a capacity buffer: 3 spare columns, masked.
        // (Were they not masked, the logits would differ by about 0.07; under q8, loading the fp32 file
        // instead would differ from the q8 standard graph by about 0.008.)
        const spare = 3;
        const capacity = prefix.length + spare;
        const compact: Record<string, Tensor> = {};
        const buffered: Record<string, Tensor> = {};
        for (let i = 0; i < nLayer; i++) {
          for (const kv of ['key', 'value']) {
            const present = expected[`present.${i}.${kv}`];
            if (present === undefined) throw new Error(`no present.${i}.${kv}`);
            compact[`past_key_values.${i}.${kv}`] = present;
            const data = new Float32Array(nHead * capacity * headDim);
            for (let h = 0; h < nHead; h++) {
              data.set(
                (present.data as Float32Array).subarray(
                  h * prefix.length * headDim,
                  (h + 1) * prefix.length * headDim,
                ),
                h * capacity * headDim,
              );
            }
            buffered[`past_key_values.${i}.${kv}`] = new transformers.Tensor('float32', data, [
              1,
              nHead,
              capacity,
              headDim,
            ]);
          }
        }
        const next = {
          input_ids: int64(ids.slice(-1), [1, 1]),
          position_ids: int64([BigInt(prefix.length)], [1, 1]),
        };
        const [expectedStep, actualStep] = (await Promise.all([
          standard.forward({
            ...next,
            attention_mask: int64(ones(ids.length), [1, ids.length]),
            past_key_values: compact,
          }),
          delta.forward({
            ...next,
            attention_mask: int64(
              [...ones(prefix.length), ...Array.from({ length: spare }, () => 0n), 1n],
              [1, capacity + 1],
            ),
            past_key_values: buffered,
          }),
        ])) as [Outputs, Outputs];
        expect(actualStep['logits']?.dims).toEqual([1, 1, vocabSize]);
        expect(maxAbsDiff(actualStep['logits'], expectedStep['logits'])).toBeLessThan(1e-4);
        expect(actualStep[`${KV_DELTA_OUTPUT_PREFIX}0.key`]?.dims).toEqual([1, nHead, 1, headDim]);
      } finally {
        await Promise.all([standard.dispose(), delta.dispose()]);
      }
    },
  );

  async function tokenize(texts: string[]): Promise<{ input_ids: Tensor; attention_mask: Tensor }> {
    const tokenizer = await AutoTokenizer.from_pretrained(STARTER_SHAPE.modelId);
    return tokenizer(texts, { padding: true }) as { input_ids: Tensor; attention_mask: Tensor };
  }

  /**
   * Greedy decoding driven through `model.forward` with an explicit KV cache, the way a serving loop owns it:
   * the first call gets no cache (transformers.js feeds empty past tensors and derives position ids from
   * the mask); later calls pass the previous `present.*` outputs renamed to `past_key_values.*`.
   */
  async function greedyWithForward(
    model: PreTrainedModel,
    inputIds: bigint[][],
    mask: bigint[][],
    steps: number,
  ): Promise<bigint[][]> {
    const batch = inputIds.length;
    const sequences = inputIds.map((ids) => [...ids]);
    let attention = mask.map((m) => [...m]);
    let feeds: Record<string, unknown> = {
      input_ids: new transformers.Tensor('int64', BigInt64Array.from(inputIds.flat()), [
        batch,
        inputIds[0]?.length ?? 0,
      ]),
      attention_mask: new transformers.Tensor('int64', BigInt64Array.from(attention.flat()), [
        batch,
        attention[0]?.length ?? 0,
      ]),
    };
    for (let s = 0; s < steps; s++) {
      const out = (await model.forward(feeds)) as Record<string, Tensor>;
      const logits = out['logits'];
      if (logits === undefined) throw new Error('forward returned no logits');
      const [, seq, vocab] = logits.dims as [number, number, number];
      const data = logits.data as Float32Array;
      const next = sequences.map((ids, b) => {
        const offset = (b * seq + seq - 1) * vocab;
        let best = 0;
        for (let v = 1; v < vocab; v++)
          if ((data[offset + v] ?? -Infinity) > (data[offset + best] ?? -Infinity)) best = v;
        ids.push(BigInt(best));
        return BigInt(best);
      });
      const past: Record<string, Tensor> = {};
      for (const [name, tensor] of Object.entries(out)) {
        if (name.startsWith('present.')) past[name.replace('present.', 'past_key_values.')] = tensor;
      }
      attention = attention.map((m) => [...m, 1n]);
      const positions = attention.map((m) => BigInt(m.reduce((a, b) => a + Number(b), 0) - 1));
      feeds = {
        input_ids: new transformers.Tensor('int64', BigInt64Array.from(next), [batch, 1]),
        attention_mask: new transformers.Tensor('int64', BigInt64Array.from(attention.flat()), [
          batch,
          attention[0]?.length ?? 0,
        ]),
        position_ids: new transformers.Tensor('int64', BigInt64Array.from(positions), [batch, 1]),
        past_key_values: past,
      };
    }
    return sequences;
  }

  it('forward with an explicit cache gives the same logits as forward over the whole sequence', async () => {
    const model = await AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, { dtype: 'fp32' });
    try {
      const ids = [464n, 2068n, 7586n, 21831n, 18045n, 625n, 262n, 16931n, 3290n, 13n];
      const ones = (n: number): Tensor =>
        new transformers.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
      const full = (await model.forward({
        input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids), [1, ids.length]),
        attention_mask: ones(ids.length),
      })) as Record<string, Tensor>;
      const prefix = (await model.forward({
        input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids.slice(0, -1)), [
          1,
          ids.length - 1,
        ]),
        attention_mask: ones(ids.length - 1),
      })) as Record<string, Tensor>;
      const past: Record<string, Tensor> = {};
      for (const [name, tensor] of Object.entries(prefix)) {
        if (name.startsWith('present.')) past[name.replace('present.', 'past_key_values.')] = tensor;
      }
      // No position_ids: transformers.js derives them from the mask and keeps the last input_ids.dims[1].
      const last = (await model.forward({
        input_ids: new transformers.Tensor('int64', BigInt64Array.from(ids.slice(-1)), [1, 1]),
        attention_mask: ones(ids.length),
        past_key_values: past,
      })) as Record<string, Tensor>;
      const vocab = STARTER_SHAPE.config.vocabSize;
      const expected = (full['logits']?.data as Float32Array).subarray((ids.length - 1) * vocab);
      const actual = last['logits']?.data as Float32Array;
      expect(last['logits']?.dims).toEqual([1, 1, vocab]);
      expect(last['present.1.key']?.dims).toEqual([1, 2, ids.length, 32]);
      let worst = 0;
      for (let v = 0; v < vocab; v++)
        worst = Math.max(worst, Math.abs((actual[v] ?? NaN) - (expected[v] ?? NaN)));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
    }
  });

  it.each(['fp32', 'q8'] as const)(
    'loads offline with dtype %s and generates 5 new tokens',
    async (dtype) => {
      const model = await AutoModelForCausalLM.from_pretrained(STARTER_SHAPE.modelId, { dtype });
      try {
        const inputs = await tokenize(['Hello world, this is', 'Hi']);
        const output = (await model.generate({ ...inputs, max_new_tokens: 5, do_sample: false })) as Tensor;
        expect(output.dims).toEqual([2, (inputs.input_ids.dims[1] ?? 0) + 5]);
        const sequences = output.tolist() as bigint[][];
        expect(sequences.map((s) => s.slice(0, 5))).toEqual(inputs.input_ids.tolist());
        for (const id of sequences.flat()) expect(Number(id)).toBeLessThan(50257);

        const manual = await greedyWithForward(
          model,
          inputs.input_ids.tolist() as bigint[][],
          inputs.attention_mask.tolist() as bigint[][],
          5,
        );
        expect(manual).toEqual(sequences);
      } finally {
        await model.dispose();
      }
    },
  );
});
