export * from './create-generation-app';
export * from './generation-api.module';
export * from './generation-api.options';
export * from './http-errors';
export * from './openapi-document';
export * from './tokens';
export * from './start-generation-service';
export * from './version';
