import { z } from 'zod';
import { LANGUAGES } from '../api/enums.js';
import { contentItemSchema } from '../runtimes/catalog.js';

export const imageName = z
  .string({ error: 'must be a string' })
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 of a-z, 0-9, ".", "_", "-", starting with a letter or digit');

export const registerImageSchema = z
  .object({
    name: imageName.describe('what requests name in `image`'),
    language: z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.map((l) => `"${l}"`).join(', ')}` }),
    image: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(300)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/, 'must be an image reference as the local Docker engine knows it (repo:tag or sha256:…)')
      .describe('an image in the local Docker engine, built FROM a cronium/runtime-* image (never pulled)'),
  })
  .strict();

export const customImageSchema = z.object({
  name: z.string(),
  language: z.enum(LANGUAGES),
  image: z.string(),
  imageId: z.string().describe('the image id the check ran'),
  version: z.string().describe("the interpreter's version the check found"),
  contents: z.array(contentItemSchema),
  registeredBy: z.string(),
  createdAt: z.string(),
});
export const imageNameParam = imageName;
