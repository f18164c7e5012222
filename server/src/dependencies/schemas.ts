import { z } from 'zod';
import { isoDateTime } from '../api/schemas.js';
import { PACKAGE_LANGUAGES } from './types.js';

export const bundleKeyParam = z.string().regex(/^[0-9a-f]{64}$/, 'must be a bundle key (64 hex digits)').describe('bundle key');

export const bundleSchema = z.object({
  key: z.string().describe('sha256 of the language, runtime version, platform and the resolved packages with their hashes'),
  language: z.enum(PACKAGE_LANGUAGES),
  runtime: z.string().describe('the runtime it was built for, e.g. python@3.11'),
  packages: z.array(z.object({ name: z.string(), version: z.string() })),
  sizeBytes: z.number().int(),
  createdAt: isoDateTime,
  lastUsedAt: isoDateTime,
  inUse: z.boolean().describe('mounted by a running execution: it cannot be removed or evicted now'),
});
