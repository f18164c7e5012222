import { z } from 'zod';
import { LANGUAGES } from '../api/enums.js';
import { contentItemSchema } from './catalog.js';

/** A runtime as GET /api/v1/runtimes lists it. */
export const runtimeSchema = z.object({
  id: z.string().describe('what a request names in `runtime`, e.g. "python@3.13"'),
  language: z.enum(LANGUAGES),
  version: z.string().describe("the interpreter's exact version, as the image reports it"),
  image: z.string(),
  default: z.boolean().describe("the language's default: what a request without `runtime` runs in"),
  contents: z.array(contentItemSchema).describe('what the image holds (interpreter, Debian, pip and npm packages), read from the image itself'),
});
export type Runtime = z.infer<typeof runtimeSchema>;
