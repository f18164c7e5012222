/**
 * The fenced code blocks of the READMEs, and what each one is (see README, "Development and tests": examples in
 * the docs are tests). The info string is `<language> [attribute…]`:
 *
 *   python / js / bash       a script for the sandbox: run through the API in a real container, must succeed;
 *                            `fixture=NAME` gives it an input and granted secrets (docs-examples.test.ts)
 *   sh api                   curl against the API: run by bash -e with KEY set to an API key, the test server's
 *                            address standing in for http://127.0.0.1:8080; exit 0 and no error answer
 *   sh run                   a host command run from the repository root; must exit 0
 *   json                     a JSON document: must parse
 *   text                     a diagram, a tree, a program's printout: not code
 *   <any> norun              not run (too long, destructive, or an abridged sample with …): counted, and for sh
 *                            the npm scripts, workspaces and files its commands name must exist
 *
 * Anything else (an unlabelled fence, an unknown language or attribute) is an error, so that no example is skipped
 * without saying so.
 */

export type ExampleKind = 'sandbox' | 'api' | 'host' | 'json' | 'text' | 'norun';

export interface DocExample {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  attrs: Record<string, string | true>;
  kind: ExampleKind;
  code: string;
  /** Why the block is not valid under the convention, if it is not. */
  problem?: string;
}

const SANDBOX_LANGS: Record<string, 'python' | 'node' | 'bash'> = { python: 'python', js: 'node', bash: 'bash' };
const KNOWN_ATTRS = new Set(['norun', 'api', 'run', 'fixture']);

export function sandboxLanguage(lang: string): 'python' | 'node' | 'bash' | undefined {
  return SANDBOX_LANGS[lang];
}

function parseInfo(info: string): { lang: string; attrs: Record<string, string | true> } {
  const [lang = '', ...rest] = info.trim().split(/\s+/).filter(Boolean);
  const attrs: Record<string, string | true> = {};
  for (const a of rest) {
    const eq = a.indexOf('=');
    if (eq > 0) attrs[a.slice(0, eq)] = a.slice(eq + 1);
    else attrs[a] = true;
  }
  return { lang, attrs };
}

function classify(lang: string, attrs: Record<string, string | true>): { kind: ExampleKind; problem?: string } {
  const unknown = Object.keys(attrs).filter((a) => !KNOWN_ATTRS.has(a));
  if (unknown.length) return { kind: 'norun', problem: `unknown attribute ${unknown.join(', ')}` };
  if (!lang) return { kind: 'norun', problem: 'a fence without a language: say what it is (python, js, bash, sh, json, text…)' };
  if (attrs.norun) return { kind: 'norun' };
  if (lang === 'text') return { kind: 'text' };
  if (lang === 'json') return { kind: 'json' };
  if (SANDBOX_LANGS[lang]) return { kind: 'sandbox' };
  if (attrs.fixture) return { kind: 'norun', problem: 'fixture= is for sandbox scripts (python, js, bash)' };
  if (lang === 'sh' && attrs.api) return { kind: 'api' };
  if (lang === 'sh' && attrs.run) return { kind: 'host' };
  if (lang === 'sh') return { kind: 'norun', problem: 'an sh block says whether it runs: `sh api`, `sh run` or `sh norun`' };
  return { kind: 'norun', problem: `unknown language "${lang}": mark it norun, or use one the docs test knows` };
}

/** Every fenced block of a Markdown text (backtick or tilde fences, indented ones inside list items too). */
export function extractExamples(file: string, markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const out: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    if (fence[0] === '`' && info.includes('`')) continue; // inline code that happens to start a line
    const body: string[] = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    for (; j < lines.length && !close.test(lines[j]!); j++) {
      const l = lines[j]!;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    const { lang, attrs } = parseInfo(info);
    const c = classify(lang, attrs);
    out.push({ file, line: i + 1, lang, attrs, kind: c.kind, code: body.join('\n'), ...(j >= lines.length ? { problem: 'the fence is never closed' } : c.problem ? { problem: c.problem } : {}) });
    i = j;
  }
  return out;
}

/**
 * What the commands of a `norun` shell block name that must exist: npm scripts (of the root or of a workspace
 * given with -w), and the files given to bash, node or python3. Returns the problems found.
 */
export function checkShellCommands(
  code: string,
  facts: { scripts: (workspace: string | null) => Set<string> | null; exists: (path: string) => boolean },
): string[] {
  const problems: string[] = [];
  for (const raw of code.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    for (const cmd of line.split(/\s*(?:&&|\|\||;|\|)\s*/)) {
      const words = cmd.split(/\s+/).filter(Boolean);
      if (!words.length) continue;
      const ws = (() => {
        const k = words.findIndex((w) => w === '-w' || w === '--workspace');
        return k >= 0 ? (words[k + 1] ?? null) : null;
      })();
      if (words[0] === 'npm' && ['run', 'test', 'start'].includes(words[1] ?? '')) {
        const name = words[1] === 'run' ? words[2] : words[1];
        if (!name) continue;
        const scripts = facts.scripts(ws);
        if (!scripts) problems.push(`${cmd}: there is no workspace ${ws}`);
        else if (!scripts.has(name)) problems.push(`${cmd}: ${ws ?? 'the root package'} has no npm script "${name}"`);
      } else if (['bash', 'node', 'python3'].includes(words[0]!)) {
        const args = words.slice(1);
        let path: string | undefined;
        if (words[0] === 'python3' && args[0] === '-m') {
          const s = args.indexOf('-s');
          path = s >= 0 ? args[s + 1] : undefined;
        } else {
          // The script or directory: the first argument that looks like a path (an option's value, like tsx, does not).
          path = args.find((a) => !a.startsWith('-') && /[/.]/.test(a));
        }
        if (path && !/[<$*]/.test(path) && !facts.exists(path)) problems.push(`${cmd}: ${path} does not exist`);
      }
    }
  }
  return problems;
}
