import { z } from 'zod';
import { isoDateTime } from '../api/schemas.js';

export const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'must start with a letter or underscore and contain only letters, digits, _ . -')
  .describe('secret name');

export const putSecretSchema = z.object({ value: z.string({ error: 'must be a string' }).min(1, 'must not be empty') }).strict();

/** A secret as the API shows it: never its value. */
export const secretSchema = z.object({ name: z.string(), createdAt: isoDateTime, updatedAt: isoDateTime });
export type Secret = z.infer<typeof secretSchema>;
