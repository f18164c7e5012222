import { z } from 'zod';
import { tooLarge } from '../errors.js';
import { storableJson } from '../validation.js';
import { variableKey } from './repository.js';

/** What a variable is written with, through the public API and the runtime API alike. */
export const keySchema = z.string().regex(variableKey, 'must be 1-200 letters, digits or _ . : -');

/** `{ "value": <JSON> }`, where a left-out value means null: what the runtime API takes (output, variables). */
export const valueOrNullBody = z.object({ value: storableJson }).strict();

/** The public API asks for the value explicitly. */
export const valueBody = valueOrNullBody.refine((b) => 'value' in b, { message: 'value is required', path: ['value'] });

export function checkVariableSize(value: unknown, max: number) {
  if (Buffer.byteLength(JSON.stringify(value ?? null)) > max) throw tooLarge(`value is larger than the limit of ${max} bytes`, 'value');
}
