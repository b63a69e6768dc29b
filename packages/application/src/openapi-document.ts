import { z } from 'zod';
import { ErrorBodySchema, GenerateRequestSchema, GenerateResponseSchema } from '@strata/contracts';

type JsonObject = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonObject => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
};

const json = (schema: JsonObject) => ({ content: { 'application/json': { schema } } });
const errorRef = { $ref: '#/components/schemas/Error' };
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [String(status), { description: ERROR_TEXT[status], ...json(errorRef) }]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed JSON',
  413: 'Request body too large',
  422: 'Invalid request: the message names the field',
  500: 'Generation failed',
  503: 'Model not loaded yet, or the server is shutting down',
};

/**
 * The OpenAPI 3.1 description of the generation API, generated from the same zod schemas that validate
 * requests, so the documentation cannot drift from what the server accepts.
 */
export function buildOpenApiDocument(version: string): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata generation API',
      version,
      description: 'Text generation with Hugging Face TGI-compatible request and response shapes.',
    },
    paths: {
      '/': {
        get: {
          summary: 'Health root: status, served model, revision and version',
          responses: { '200': { description: 'Service status' } },
        },
      },
      '/health/live': { get: { summary: 'Liveness probe', responses: { '200': { description: 'Alive' } } } },
      '/health/ready': {
        get: {
          summary: 'Readiness probe: ready once the model is loaded',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Model still loading' } },
        },
      },
      '/generate': {
        post: {
          summary: 'Generate text (TGI-compatible)',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/GenerateRequest' }) },
          responses: {
            '200': {
              description: 'Generated text',
              ...json({ $ref: '#/components/schemas/GenerateResponse' }),
            },
            ...errors(400, 413, 422, 500, 503),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
        },
      },
    },
    components: {
      schemas: {
        GenerateRequest: jsonSchema(GenerateRequestSchema, 'input'),
        GenerateResponse: jsonSchema(GenerateResponseSchema, 'output'),
        Error: jsonSchema(ErrorBodySchema, 'output'),
      },
    },
  };
}
