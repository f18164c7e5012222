import { z } from 'zod';
import { ROLES } from '../api/enums.js';
import { isoDateTime } from '../api/schemas.js';

const role = z.enum(ROLES, { error: `must be ${ROLES.map((r) => `"${r}"`).join(' or ')}` });

export const userIdParam = z.uuid().describe('user id');
export const keyIdParam = z.string().describe('key id');

export const createUserSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.@-]{1,100}$/, 'must be 1-100 letters, digits or _ . @ -'),
    role: role.default('user'),
  })
  .strict();
export const updateUserSchema = z
  .object({
    disabled: z.boolean({ error: 'must be true or false' }).optional(),
    role: role.optional(),
  })
  .strict();
export const createKeySchema = z.object({ name: z.string().min(1).max(100).default('api key') }).strict();

export const userSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  disabled: z.boolean().describe('a disabled user’s keys are refused until an admin enables the user again'),
  createdAt: isoDateTime,
});
export type User = z.infer<typeof userSchema>;

/** An API key as listed: never the key itself. */
export const apiKeySchema = z.object({
  id: z.string(),
  userId: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: isoDateTime,
  lastUsedAt: isoDateTime.nullable(),
  revokedAt: isoDateTime.nullable(),
});
export type ApiKey = z.infer<typeof apiKeySchema>;

export const issuedKeySchema = z.object({
  id: z.string(),
  key: z.string().describe('in this answer only: the server keeps its hash'),
  prefix: z.string(),
  userId: z.string(),
  name: z.string(),
});
export type IssuedKey = z.infer<typeof issuedKeySchema>;
