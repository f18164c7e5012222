import { z } from 'zod';
import { errorBodySchema } from './schemas.js';

/**
 * Builds the OpenAPI 3.1 document from the API's zod schemas (the ones the routes parse with and the responses are
 * typed by) and a table of operations (operations.ts): nothing about a body's shape is written here by hand.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface OperationResponse {
  description: string;
  /** The JSON body; a component (`components` of the document) referred to by $ref. */
  schema?: z.ZodType;
  /** Other media types, written out (an event stream, Prometheus text). */
  content?: Record<string, { schema: object }>;
}

export interface Operation {
  method: Method;
  /** OpenAPI's spelling: `/api/v1/executions/{id}`. */
  path: string;
  summary: string;
  /** Served without an API key. */
  public?: boolean;
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  /** The JSON body (`schema`, a component); `content`: other media types the same body may come as, written out. */
  body?: { schema: z.ZodType; required?: boolean; description?: string; content?: Record<string, Record<string, unknown>> };
  /** A status and its response; `error` (or a reason) for the API's error body. */
  responses: Record<number, OperationResponse | ErrorResponse>;
}

interface ErrorResponse {
  error: true;
  description?: string;
}

/** The error body; with a description, why this operation answers it. */
export const apiError = (description?: string): ErrorResponse => ({ error: true, ...(description ? { description } : {}) });
export const commonErrors = { 400: apiError(), 401: apiError(), 403: apiError(), 404: apiError() };

export interface ApiDescription {
  info: { title: string; version: string; description: string };
  /** Named schemas: request bodies are described as the client sends them (defaults optional), responses as sent. */
  requestComponents: Record<string, z.ZodType>;
  responseComponents: Record<string, z.ZodType>;
  operations: readonly Operation[];
}

const REF = '#/components/schemas/';
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Drops what zod adds for its own checks and that says nothing to a reader: a format's regex, ±2^53 bounds. */
const tidy: NonNullable<z.core.ToJSONSchemaParams['override']> = ({ jsonSchema: s }) => {
  if (s.format && s.pattern) delete s.pattern;
  if (s.maximum === MAX_SAFE) delete s.maximum;
  if (s.minimum === -MAX_SAFE) delete s.minimum;
};

function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output') {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, { io, uri: (id) => REF + id, override: tidy }).schemas;
  for (const s of Object.values(out)) {
    delete s.$schema;
    delete s.$id;
  }
  return out;
}

/** A schema that is not a component (a parameter), written in place. */
function inline(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', override: tidy });
  return rest;
}

function parameter(name: string, where: 'path' | 'query', schema: z.ZodType) {
  const { description, ...s } = inline(schema);
  // Absent is accepted when the schema is optional or has a default.
  const required = where === 'path' || !schema.safeParse(undefined).success;
  return { name, in: where, required, ...(typeof description === 'string' ? { description } : {}), schema: s };
}

export function buildOpenApiDocument(api: ApiDescription) {
  const responseComponents = { ApiError: errorBodySchema, ...api.responseComponents };
  const names = new Map<z.ZodType, string>();
  for (const [id, s] of [...Object.entries(api.requestComponents), ...Object.entries(responseComponents)]) {
    if (names.has(s)) throw new Error(`OpenAPI: ${id} and ${names.get(s)} are the same schema`);
    if ([...names.values()].includes(id)) throw new Error(`OpenAPI: two components are called ${id}`);
    names.set(s, id);
  }
  const ref = (schema: z.ZodType, where: string) => {
    const id = names.get(schema);
    if (!id) throw new Error(`OpenAPI: ${where} uses a schema that is not a component`);
    return { $ref: REF + id };
  };
  const errorRef = { $ref: '#/components/responses/Error' };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of api.operations) {
    const where = `${op.method.toUpperCase()} ${op.path}`;
    const parameters = [
      ...Object.entries(op.params ?? {}).map(([name, s]) => parameter(name, 'path', s)),
      ...Object.entries(op.query?.shape ?? {}).map(([name, s]) => parameter(name, 'query', s as z.ZodType)),
    ];
    const responses = Object.fromEntries(
      Object.entries(op.responses).map(([status, r]) => {
        if ('error' in r) return [status, r.description ? { ...errorRef, description: r.description } : errorRef];
        const content = { ...(r.schema ? { 'application/json': { schema: ref(r.schema, where) } } : {}), ...(r.content ?? {}) };
        return [status, { description: r.description, ...(Object.keys(content).length ? { content } : {}) }];
      }),
    );
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      ...(op.public ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: op.body.required ?? true,
              ...(op.body.description ? { description: op.body.description } : {}),
              content: { 'application/json': { schema: ref(op.body.schema, where) }, ...(op.body.content ?? {}) },
            },
          }
        : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: api.info,
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (csk_…). Execution tokens are refused here.' } },
      responses: {
        Error: {
          description: 'An error: the code says what happened, field names the offending field',
          content: { 'application/json': { schema: ref(errorBodySchema, 'the error response') } },
        },
      },
      schemas: { ...components(api.requestComponents, 'input'), ...components(responseComponents, 'output') },
    },
    paths,
  };
}
