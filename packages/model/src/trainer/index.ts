/**
 * TypeScript-native fine-tuning on ONNX Runtime: an autodiff IR that emits forward and backward ONNX graphs,
 * LoRA with PEFT's semantics and file format, AdamW, and merged-model output.
 */
export { Tape, broadcastShape, type FloatType, type TensorRef } from './autodiff';
export {
  DEFAULT_TRAINING_CONFIG,
  finetune,
  type FinetuneBase,
  type FinetuneMetrics,
  type FinetuneOptions,
  type FinetuneResult,
  type TrainingConfig,
  type TrainingProgress,
} from './finetune';
export {
  TRAINING_INPUTS,
  buildGpt2TrainingGraph,
  type DropoutMaskInput,
  type Gpt2TrainingGraph,
  type Gpt2TrainingGraphOptions,
  type TrainableInput,
  type TrainingMode,
} from './gpt2-training-graph';
export {
  DEFAULT_LORA_CONFIG,
  LORA_TARGET_MODULES,
  initLoraWeights,
  loraModules,
  mergeLora,
  peftTensorName,
  validateLoraConfig,
  type LoraConfig,
  type LoraModule,
  type LoraTargetModule,
  type LoraWeights,
} from './lora';
export { readGpt2ModelFolder, type Gpt2Checkpoint } from './model-folder-reader';
export {
  adamWStep,
  clipGradNorm,
  warmupCosineLearningRate,
  type AdamWConfig,
  type OptimizerSlot,
} from './optimizer';
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  readPeftAdapter,
  writePeftAdapter,
  type PeftAdapter,
} from './peft-adapter';
export { readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors';
export { packGpt2WeightsQ8, unpackGpt2WeightsQ8 } from './starter-weights';
export { STARTER_CORPUS, STARTER_TRAINING, chaptersOf } from './train-starter';
export { TrainerError, type TrainerErrorCode } from './trainer-error';
