export * from './mlflow-types';
export * from './mlflow-client';
