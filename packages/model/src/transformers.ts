/**
 * The one place that loads transformers.js. The package ships ESM type declarations beside a CommonJS build:
 * TypeScript (module Node16) refuses a static import of it from CommonJS code, while `require` at run time
 * resolves to the package's own `.cjs` entry. Types come from the declarations, values from that entry.
 */
import Module from 'node:module';
import type * as Transformers from '@huggingface/transformers' with { 'resolution-mode': 'import' };

export type {
  PreTrainedModel,
  PreTrainedTokenizer,
  Tensor,
  TextGenerationPipeline,
} from '@huggingface/transformers' with {
  'resolution-mode': 'import',
};

export const transformers: typeof Transformers = withoutImageLibrary(
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  () => require('@huggingface/transformers') as typeof Transformers,
);

/**
 * transformers.js loads sharp (libvips) at start for its image pipelines, whether or not a model takes images:
 * about 20 MB of resident memory and 50–120 ms of start-up. Strata serves text, so while transformers.js loads,
 * its `require('sharp')` gets a stand-in whose every use throws an error that says why.
 */
export function withoutImageLibrary<T>(load: () => T): T {
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = loader._load;
  loader._load = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === 'sharp' ? noImageLibrary : original.call(this, request, ...rest);
  };
  try {
    return load();
  } finally {
    loader._load = original;
  }
}

function noImageLibrary(): never {
  throw new Error(
    'image input is not supported: Strata serves text models and does not load the sharp image library',
  );
}
