export * from './drift-statistics';
export * from './drift-monitor';
