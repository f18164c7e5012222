import { z } from 'zod';
import { isoDateTime } from '../api/schemas.js';

/** One file an execution left under /work/out, as GET /api/v1/executions/{id}/artifacts lists it. */
export const artifactSchema = z.object({
  name: z.string().describe('its path under /work/out, made safe to download (no empty, "." or ".." segment, no control character or backslash)'),
  size: z.number().int().describe('bytes, as received from the sandbox'),
  sha256: z.string().describe('hex digest of the stored bytes; also the ETag'),
  contentType: z.string().describe('from the name’s extension only'),
  createdAt: isoDateTime,
});

export const artifactListSchema = z.object({
  items: z.array(artifactSchema),
  truncated: z.boolean().describe('an artifact was cut or not kept: the execution’s log says which and why'),
  expiresAt: isoDateTime.nullable().describe('when the artifacts are removed; null without artifacts'),
});

export type Artifact = z.infer<typeof artifactSchema>;
export type ArtifactList = z.infer<typeof artifactListSchema>;

export const artifactNameParam = z.string().min(1).describe('the artifact’s name, URL-encoded (a "/" in it as %2F)');

export const storageQuery = z
  .object({ scope: z.enum(['mine', 'all']).default('mine').describe('all: every user’s, for admins; a user always gets their own') })
  .strict();

export const storageUseSchema = z.object({
  userId: z.string(),
  artifacts: z.object({ bytes: z.number().int(), files: z.number().int() }).describe('what the user’s executions’ artifacts take in the file store until they expire'),
});
export const storageListSchema = z.object({ items: z.array(storageUseSchema) });
