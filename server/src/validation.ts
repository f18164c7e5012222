import type { z } from 'zod';
import { badRequest } from './errors.js';

/** Parses request data; the first problem becomes a 400 that names the field and says what is wrong. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, where = 'body'): z.infer<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : where;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    return (() => {
      throw badRequest(`unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`, keys.length === 1 && !issue.path.length ? keys[0] : field);
    })();
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'is required';
  throw badRequest(`${field}: ${message}`, field);
}
