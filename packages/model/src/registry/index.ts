export * from './registry-error';
export * from './registry-migrations';
export * from './model-registry';
export * from './model-artifacts';
export * from './run-tracker';
export * from './registered-model-loader';
export * from './model-lifecycle';
export * from './training-pipeline';
