import { z } from 'zod';
import { isoDateTime } from '../api/schemas.js';
import { storableJson } from '../validation.js';

export const keySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be 1-200 letters, digits or _ . : -')
  .describe('variable key: 1-200 letters, digits or _ . : -');
/** `{ "value": <JSON> }` where a left-out value means null: what the runtime API takes (output, variables). */
export const valueOrNullBody = z.object({ value: storableJson.describe('any JSON value') }).strict();
/** The public API asks for the value explicitly. */
export const valueBody = valueOrNullBody.refine((b) => 'value' in b, { message: 'value is required', path: ['value'] });

export const variableSchema = z.object({
  key: z.string(),
  value: z.unknown(),
  updatedAt: isoDateTime,
  updatedByExecution: z.string().nullable().describe('the execution that set it last, or null when set through this API'),
});
export type Variable = z.infer<typeof variableSchema>;
