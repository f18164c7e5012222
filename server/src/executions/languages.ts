import type { Language } from '../sandbox/driver.js';

/**
 * Node scripts written with static `import`/`export` run as ES modules, everything else as CommonJS; Node 18 in
 * the runtime image cannot detect this by itself.
 */
export function isEsm(script: string): boolean {
  return /^\s*(import\s*[\w*{"']|export\s+(default|const|let|var|function|class|async|\{|\*))/m.test(script) || /^\s*await\s/m.test(script);
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
