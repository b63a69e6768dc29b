/**
 * Offline starter models: GPT-2 architecture ONNX graphs, GPT-2's tokenizer files and complete Hugging Face
 * style model folders that transformers.js 4 loads without the Hub.
 */
export {
  GPT2_END_OF_TEXT_ID,
  GPT2_LAYER_TENSORS,
  KV_DELTA_OUTPUT_PREFIX,
  PRESENT_OUTPUT_PREFIX,
  STARTER_BUILDER_VERSION,
  buildGpt2Onnx,
  gpt2ParamCount,
  gpt2TensorSpecs,
  initGpt2Weights,
  quantizeInt8Symmetric,
  toGpt2Weights,
  validateGpt2Config,
  type BuildGpt2OnnxOptions,
  type Gpt2CacheOutputs,
  type Gpt2Config,
  type Gpt2LayerTensor,
  type Gpt2TensorInit,
  type Gpt2TensorName,
  type Gpt2TensorSpec,
  type Gpt2Weights,
} from './gpt2-onnx';
export {
  GPT2_END_OF_TEXT,
  GPT2_VOCAB_SIZE,
  buildGpt2TokenizerFiles,
  type Gpt2TokenizerFiles,
  type Gpt2TokenizerOptions,
} from './gpt2-tokenizer';
export {
  DISTILGPT2_SHAPE,
  KV_DELTA_MODEL_FILE,
  STARTER_MANIFEST_FILE,
  STARTER_MODEL_SHAPES,
  STARTER_KJV_SHAPE,
  STARTER_SHAPE,
  STARTER_TRAINED_WEIGHTS_FILE,
  ensureStarterModel,
  writeModelFolder,
  type EnsureStarterModelResult,
  type ModelFileInfo,
  type ModelFolderInfo,
  type StarterModelShape,
  type StarterModelShapeName,
  type WriteModelFolderOptions,
} from './starter-model';
export { StarterModelError } from './starter-model-error';
