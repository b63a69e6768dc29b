export * from './promotion-gate';
export * from './comparison-table';
export * from './model-evaluator';
