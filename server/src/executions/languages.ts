import type { Language } from '../sandbox/driver.js';

const staticImportExport = /^\s*(import\s*[\w*{"'$]|export\s+(default|const|let|var|function|class|async|\{|\*))/m;
const requireCall = /\brequire\s*\(/;
/** Top-level await, as an unindented line; an indented await is most likely inside a function. */
const topLevelAwait = /^(await\s|(const|let|var)\s+[^=]+=\s*await\s)/m;

/**
 * Node scripts written with static `import`/`export` (or top-level await) run as ES modules, everything else as
 * CommonJS; Node 18 in the runtime image cannot detect this by itself.
 */
export function isEsm(script: string): boolean {
  if (staticImportExport.test(script)) return true;
  if (requireCall.test(script)) return false;
  return topLevelAwait.test(script);
}

export function commandFor(language: Language, script: string): { filename: string; argv: string[] } {
  switch (language) {
    case 'bash':
      return { filename: 'main.sh', argv: ['bash', '/work/main.sh'] };
    case 'python':
      return { filename: 'main.py', argv: ['python3', '-u', '/work/main.py'] };
    case 'node': {
      const filename = isEsm(script) ? 'main.mjs' : 'main.cjs';
      return { filename, argv: ['node', `/work/${filename}`] };
    }
  }
}

/** Environment the runtime image expects for a language (part of the image contract, see runtime-images/). */
export function languageEnv(language: Language, userEnv: Record<string, string>): Record<string, string> {
  if (language !== 'node') return {};
  const preload = '--require=/usr/local/lib/cronium/node/proxy-preload.cjs';
  return { NODE_OPTIONS: userEnv.NODE_OPTIONS ? `${preload} ${userEnv.NODE_OPTIONS}` : preload };
}
