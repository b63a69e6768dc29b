import { z } from 'zod';
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  ErrorBodySchema,
  GenerateRequestSchema,
  GenerateResponseSchema,
  TokenizeRequestSchema,
} from '@strata/contracts';

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
  404: 'Unknown model',
  413: 'Request body too large',
  429: 'Queue full: retry after the Retry-After header',
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
      description:
        'Text generation with Hugging Face TGI- and OpenAI-compatible request and response shapes.',
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
            ...errors(400, 413, 422, 429, 500, 503),
          },
        },
      },
      '/generate_stream': {
        post: {
          summary: 'Generate text as Server-Sent Events, one per token (TGI-compatible)',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/GenerateRequest' }) },
          responses: {
            '200': { description: 'An event stream', content: { 'text/event-stream': {} } },
            ...errors(400, 413, 422, 429, 503),
          },
        },
      },
      '/info': {
        get: {
          summary: 'Served model and limits (TGI-compatible)',
          responses: { '200': { description: 'Info' } },
        },
      },
      '/tokenize': {
        post: {
          summary: 'Tokenize a prompt (TGI-compatible)',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/TokenizeRequest' }) },
          responses: { '200': { description: 'Tokens with offsets' }, ...errors(422) },
        },
      },
      '/v1/models': {
        get: { summary: 'Served models (OpenAI-compatible)', responses: { '200': { description: 'List' } } },
      },
      '/v1/completions': {
        post: {
          summary: 'Text completion (OpenAI-compatible, with TGI extensions); `stream` for SSE',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/CompletionRequest' }) },
          responses: {
            '200': { description: 'A completion or an event stream' },
            ...errors(404, 422, 429, 503),
          },
        },
      },
      '/v1/chat/completions': {
        post: {
          summary: 'Chat completion (OpenAI-compatible); `stream` for SSE',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/ChatCompletionRequest' }) },
          responses: {
            '200': { description: 'A chat completion or an event stream' },
            ...errors(404, 422, 429, 503),
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
        TokenizeRequest: jsonSchema(TokenizeRequestSchema, 'input'),
        CompletionRequest: jsonSchema(CompletionRequestSchema, 'input'),
        ChatCompletionRequest: jsonSchema(ChatCompletionRequestSchema, 'input'),
        Error: jsonSchema(ErrorBodySchema, 'output'),
      },
    },
  };
}
