import type { Language } from '../api/enums.js';

/**
 * The runtimes the server offers out of the box: one image each, built by runtime-images/build.sh. This list
 * mirrors runtime-images/versions.env (RUNTIMES, DEFAULT_<language>); a unit test keeps the two equal.
 */
export interface BuiltinRuntime {
  /** `<language>@<line>`, what a request names in `runtime`. */
  id: string;
  language: Language;
  /** The version line: an image tag (cronium/runtime-python:3.13). */
  line: string;
}

export const BUILTIN_RUNTIMES: readonly BuiltinRuntime[] = [
  { id: 'bash@5.2', language: 'bash', line: '5.2' },
  { id: 'python@3.11', language: 'python', line: '3.11' },
  { id: 'python@3.13', language: 'python', line: '3.13' },
  { id: 'node@22', language: 'node', line: '22' },
  { id: 'node@24', language: 'node', line: '24' },
];

/** Each language's default: its newest LTS/stable line, the one tagged :latest (CRONIUM_IMAGE_<LANGUAGE>). */
export const DEFAULT_RUNTIMES: Readonly<Record<Language, string>> = { bash: 'bash@5.2', python: 'python@3.13', node: 'node@24' };

/**
 * The image of a built-in runtime: a language's default runs in the image CRONIUM_IMAGE_<LANGUAGE> names (which
 * may be overridden), the others in their versioned tag.
 */
export function builtinImage(r: BuiltinRuntime, defaultImages: Readonly<Record<Language, string>>): string {
  return DEFAULT_RUNTIMES[r.language] === r.id ? defaultImages[r.language] : `cronium/runtime-${r.language}:${r.line}`;
}
