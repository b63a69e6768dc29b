import { z } from 'zod';
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  ErrorBodySchema,
  GenerateRequestSchema,
  OpenAiChatCompletionChunkSchema,
  OpenAiChatCompletionSchema,
  OpenAiCompletionSchema,
  OpenAiErrorResponseSchema,
  OpenAiModelListSchema,
  TgiErrorResponseSchema,
  TgiGenerateResponseSchema,
  TgiInfoSchema,
  TgiStreamResponseSchema,
  TgiTokenizeResponseSchema,
  TokenizeRequestSchema,
} from '@strata/contracts';
import { CreateKeySchema } from '@strata/governance';
import { AuditQuerySchema } from './governance/admin.controller';

type JsonObject = Record<string, unknown>;

/** An OpenAPI operation object (summary, parameters, requestBody, responses, security…). */
export type OpenApiOperation = JsonObject & { summary: string; responses: JsonObject };

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonObject => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonObject) => ({ content: { 'application/json': { schema } } });
const body = (name: string) => ({ requestBody: { required: true, ...json(ref(name)) } });
const ok = (description: string, schema?: JsonObject, status = '200') => ({
  [status]: { description, ...(schema ? json(schema) : {}) },
});

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed JSON',
  401: 'No API key, or an unknown, revoked or expired one',
  403: 'The key may not do this',
  404: 'Not found',
  413: 'Request body too large',
  422: 'Invalid request: the message names the field',
  429: 'Too many requests: retry after the Retry-After header',
  500: 'Internal failure (no details are sent)',
  503: 'Model not loaded yet, or the server is shutting down',
};

/** Error responses in a surface's own shape: `TgiError`, `OpenAiError` or Strata's `Error`. */
const errorsIn =
  (schemaName: string) =>
  (...statuses: number[]) =>
    Object.fromEntries(
      statuses.map((status) => [
        String(status),
        { description: ERROR_TEXT[status] ?? 'Error', ...json(ref(schemaName)) },
      ]),
    );
const tgiErrors = errorsIn('TgiError');
const openAiErrors = errorsIn('OpenAiError');
const strataErrors = errorsIn('Error');

const sse = (description: string, schema: JsonObject) => ({
  '200': { description, content: { 'text/event-stream': { schema } } },
});

const pathParameter = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', maxLength: 256 },
});

/** Query parameters from a zod object schema: one OpenAPI parameter per field. */
function queryParameters(schema: z.ZodObject): JsonObject[] {
  const properties = (jsonSchema(schema, 'input')['properties'] ?? {}) as Record<string, JsonObject>;
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    schema: property,
  }));
}

const PUBLIC = { security: [] };

/** Operations added by other parts of the application with {@link documentRoute}. */
const documentedElsewhere = new Map<string, Map<string, OpenApiOperation>>();

/**
 * Adds a route to the OpenAPI document. A controller added to the module documents each of its routes with one
 * call beside it, at module load (`documentRoute('post', '/feedback', {...})`); paths use OpenAPI's `{param}`
 * syntax. The completeness test compares the routes the app registers with the documented ones, so a route left
 * out fails the build. Routes that need a key inherit the document's security; mark public ones `security: []`.
 */
export function documentRoute(method: string, path: string, operation: OpenApiOperation): void {
  const byMethod = documentedElsewhere.get(path) ?? new Map<string, OpenApiOperation>();
  byMethod.set(method.toLowerCase(), operation);
  documentedElsewhere.set(path, byMethod);
}

export interface OpenApiDocumentOptions {
  /** `/metrics` needs no key. */
  metricsPublic?: boolean;
  /** `/docs` and `/openapi.json` need no key (the default). */
  docsPublic?: boolean;
}

/**
 * The OpenAPI 3.1 description of the generation API, generated from the same zod schemas that validate requests
 * and from the response contracts, so the documentation cannot drift from what the server accepts and answers.
 * Every route is listed, the admin and audit routes included, with the API-key security schemes.
 */
export function buildOpenApiDocument(version: string, options: OpenApiDocumentOptions = {}): JsonObject {
  const docsSecurity = options.docsPublic === false ? {} : PUBLIC;
  const paths: Record<string, Record<string, OpenApiOperation>> = {
    '/': {
      get: {
        summary: 'Health root: status, served model, revision and version',
        ...PUBLIC,
        responses: ok('Service status'),
      },
    },
    '/health/live': { get: { summary: 'Liveness probe', ...PUBLIC, responses: ok('Alive') } },
    '/health/ready': {
      get: {
        summary: 'Readiness probe: ready once the model is loaded',
        ...PUBLIC,
        responses: { ...ok('Ready'), '503': { description: 'Model still loading' } },
      },
    },
    '/generate': {
      post: {
        summary: 'Generate text (TGI)',
        tags: ['TGI'],
        ...body('GenerateRequest'),
        responses: {
          ...ok('Generated text', ref('TgiGenerateResponse')),
          ...tgiErrors(400, 401, 403, 413, 422, 429, 500, 503),
        },
      },
    },
    '/generate_stream': {
      post: {
        summary: 'Generate text as Server-Sent Events, one per token (TGI)',
        tags: ['TGI'],
        ...body('GenerateRequest'),
        responses: {
          ...sse('An event stream of StreamResponse events', ref('TgiStreamResponse')),
          ...tgiErrors(400, 401, 403, 413, 422, 429, 503),
        },
      },
    },
    '/info': {
      get: {
        summary: 'Served model and limits (TGI)',
        tags: ['TGI'],
        responses: { ...ok('Info', ref('TgiInfo')), ...tgiErrors(401, 403, 503) },
      },
    },
    '/tokenize': {
      post: {
        summary: 'Tokenize a prompt (TGI)',
        tags: ['TGI'],
        ...body('TokenizeRequest'),
        responses: {
          ...ok('Tokens with offsets', ref('TgiTokenizeResponse')),
          ...tgiErrors(400, 401, 403, 422, 503),
        },
      },
    },
    '/v1/models': {
      get: {
        summary: 'Served models (OpenAI)',
        tags: ['OpenAI'],
        responses: { ...ok('List', ref('OpenAiModelList')), ...openAiErrors(401, 403, 503) },
      },
    },
    '/v1/completions': {
      post: {
        summary:
          'Text completion (OpenAI, with TGI extensions); `stream: true` answers with Server-Sent Events',
        tags: ['OpenAI'],
        ...body('CompletionRequest'),
        responses: {
          '200': {
            description: 'A completion, or a stream of completion chunks',
            content: {
              'application/json': { schema: ref('OpenAiCompletion') },
              'text/event-stream': { schema: ref('OpenAiCompletion') },
            },
          },
          ...openAiErrors(400, 401, 403, 404, 413, 422, 429, 500, 503),
        },
      },
    },
    '/v1/chat/completions': {
      post: {
        summary: 'Chat completion (OpenAI); `stream: true` answers with Server-Sent Events',
        tags: ['OpenAI'],
        ...body('ChatCompletionRequest'),
        responses: {
          '200': {
            description: 'A chat completion, or a stream of chunks',
            content: {
              'application/json': { schema: ref('OpenAiChatCompletion') },
              'text/event-stream': { schema: ref('OpenAiChatCompletionChunk') },
            },
          },
          ...openAiErrors(400, 401, 403, 404, 413, 422, 429, 500, 503),
        },
      },
    },
    '/admin/keys': {
      post: {
        summary: 'Create an API key; the answer is the only place the key appears (role admin)',
        tags: ['Admin'],
        ...body('CreateKeyRequest'),
        responses: { ...ok('The key and its record', undefined, '201'), ...strataErrors(400, 401, 403, 422) },
      },
      get: {
        summary: 'List API keys, optionally of one tenant (role admin)',
        tags: ['Admin'],
        parameters: [
          { name: 'tenant', in: 'query', required: false, schema: { type: 'string', maxLength: 256 } },
        ],
        responses: { ...ok('Key records, never the keys'), ...strataErrors(401, 403, 422) },
      },
    },
    '/admin/keys/{keyId}': {
      delete: {
        summary: 'Revoke an API key at once (role admin)',
        tags: ['Admin'],
        parameters: [pathParameter('keyId', 'The key id, `key_…`')],
        responses: { ...ok('The revoked key record'), ...strataErrors(401, 403, 404, 422) },
      },
    },
    '/admin/subjects/{subjectId}/erase': {
      post: {
        summary: "GDPR erasure: make a data subject's personal fields in the audit trail unreadable",
        tags: ['Admin'],
        parameters: [pathParameter('subjectId', 'The data subject (`x-strata-subject` or OpenAI `user`)')],
        responses: { ...ok('What was erased'), ...strataErrors(401, 403, 422) },
      },
    },
    '/admin/retention/run': {
      post: {
        summary: 'Apply the audit retention periods now',
        tags: ['Admin'],
        responses: { ...ok('Records purged, by class'), ...strataErrors(401, 403) },
      },
    },
    '/audit/records': {
      get: {
        summary: 'Search the audit trail (role auditor or admin)',
        tags: ['Audit'],
        parameters: queryParameters(AuditQuerySchema),
        responses: { ...ok('Matching records'), ...strataErrors(401, 403, 422) },
      },
    },
    '/audit/export': {
      get: {
        summary: 'Export matching audit records as JSON Lines',
        tags: ['Audit'],
        parameters: queryParameters(AuditQuerySchema),
        responses: {
          '200': { description: 'One record per line', content: { 'application/x-ndjson': {} } },
          ...strataErrors(401, 403, 422),
        },
      },
    },
    '/audit/verify': {
      post: {
        summary: 'Verify the hash chain and the signed checkpoints',
        tags: ['Audit'],
        responses: { ...ok('The verification report'), ...strataErrors(401, 403) },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        ...(options.metricsPublic ? PUBLIC : {}),
        responses: {
          '200': { description: 'Prometheus text format', content: { 'text/plain': {} } },
          ...strataErrors(401, 403),
        },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', ...docsSecurity, responses: ok('OpenAPI 3.1 document') },
    },
    '/docs': {
      get: {
        summary: 'Swagger UI',
        ...docsSecurity,
        responses: { '200': { description: 'HTML page', content: { 'text/html': {} } } },
      },
    },
    '/docs/{asset}': {
      get: {
        summary: "Swagger UI's script and style sheet",
        ...docsSecurity,
        parameters: [pathParameter('asset', '`swagger-ui.css` or `swagger-ui-bundle.js`')],
        responses: { ...ok('The asset'), ...strataErrors(404) },
      },
    },
  };
  for (const [path, byMethod] of documentedElsewhere) {
    paths[path] = { ...paths[path], ...Object.fromEntries(byMethod) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata generation API',
      version,
      description:
        'Text generation with Hugging Face TGI- and OpenAI-compatible request and response shapes, plus ' +
        "Strata's admin and audit API. TGI routes answer errors as `{error, error_type}`, OpenAI routes as " +
        "`{error: {message, type, param, code}}`, and Strata's own routes as `{error: {code, message, field?}}`.",
    },
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'A Strata API key: `Authorization: Bearer sk-strata-…`',
        },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: {
        GenerateRequest: jsonSchema(GenerateRequestSchema, 'input'),
        TokenizeRequest: jsonSchema(TokenizeRequestSchema, 'input'),
        CompletionRequest: jsonSchema(CompletionRequestSchema, 'input'),
        ChatCompletionRequest: jsonSchema(ChatCompletionRequestSchema, 'input'),
        CreateKeyRequest: jsonSchema(CreateKeySchema, 'input'),
        TgiGenerateResponse: jsonSchema(TgiGenerateResponseSchema, 'output'),
        TgiStreamResponse: jsonSchema(TgiStreamResponseSchema, 'output'),
        TgiInfo: jsonSchema(TgiInfoSchema, 'output'),
        TgiTokenizeResponse: jsonSchema(TgiTokenizeResponseSchema, 'output'),
        TgiError: jsonSchema(TgiErrorResponseSchema, 'output'),
        OpenAiCompletion: jsonSchema(OpenAiCompletionSchema, 'output'),
        OpenAiChatCompletion: jsonSchema(OpenAiChatCompletionSchema, 'output'),
        OpenAiChatCompletionChunk: jsonSchema(OpenAiChatCompletionChunkSchema, 'output'),
        OpenAiModelList: jsonSchema(OpenAiModelListSchema, 'output'),
        OpenAiError: jsonSchema(OpenAiErrorResponseSchema, 'output'),
        Error: jsonSchema(ErrorBodySchema, 'output'),
      },
    },
  };
}
