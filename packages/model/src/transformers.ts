/**
 * The one place that loads transformers.js. The package ships ESM type declarations beside a CommonJS build:
 * TypeScript (module Node16) refuses a static import of it from CommonJS code, while `require` at run time
 * resolves to the package's own `.cjs` entry. Types come from the declarations, values from that entry.
 */
import type * as Transformers from '@huggingface/transformers' with { 'resolution-mode': 'import' };

export type {
  PreTrainedModel,
  PreTrainedTokenizer,
  Tensor,
  TextGenerationPipeline,
} from '@huggingface/transformers' with {
  'resolution-mode': 'import',
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const transformers: typeof Transformers = require('@huggingface/transformers');
