export * from './errors';
export * from './text';
export * from './generation';
export * from './openai';
