import semver from 'semver';
import type { DependencySet, PackageLanguage, RequestedPackage, ValidationIssue } from './types.js';

/**
 * What an execution may ask for, and its normal form. Everything that would fetch from somewhere other than the
 * configured index (URLs, paths, VCS, aliases, index options) is refused here, before policy or any fetch: such a
 * spec would bypass both the mirror configuration and the admin's package policy.
 *
 * Python: PEP 508 requirements without environment markers (each runtime's environment is fixed, so a marker
 * only hides a package; refusing it says so instead) and without direct references (`name @ url`).
 * requirements.txt: requirements, comments, blank lines and `\` continuations; every pip option line is refused.
 * npm: `name`, `name@range`, `name@tag` (scoped too). packageJson: only `dependencies` is read; the fields that
 * would change resolution in ways the bundle does not honour are refused (see PACKAGE_JSON_REFUSED); all others
 * (name, scripts, devDependencies, peerDependencies, engines, …) are ignored: the top-level package's own scripts
 * never run and dev dependencies are not installed.
 */

export const LIMITS = {
  /** Packages one execution may request (its transitive dependencies are not counted). */
  maxPackages: 200,
  /** Characters in one requirement or npm spec. */
  maxSpecLength: 256,
  /** Characters of a requirements.txt text. */
  maxRequirementsLength: 64 * 1024,
};

export interface DependencyInput {
  dependencies?: unknown;
  requirements?: unknown;
  packageJson?: unknown;
}

export type ParseResult = { ok: true; set: DependencySet } | { ok: false; issues: ValidationIssue[] };

/** PEP 503 name normalisation: case-insensitive, runs of `-`, `_`, `.` are one `-`. */
export const canonicalPythonName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

const PY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// PEP 440, as packaging's VERSION_PATTERN (case-insensitive), optionally with `.*` for == and !=.
const PEP440 =
  'v?(?:[0-9]+!)?[0-9]+(?:\\.[0-9]+)*(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?(?:[-_.]?dev[-_.]?[0-9]*)?(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?';
const PY_SPEC = new RegExp(`^(~=|===|==|!=|<=|>=|<|>)\\s*(${PEP440}(?:\\.\\*)?|[^=\\s]\\S*)$`, 'i');
const PY_VERSION = new RegExp(`^${PEP440}$`, 'i');
const PY_VERSION_WILDCARD = new RegExp(`^${PEP440}\\.\\*$`, 'i');
const LOOKS_LIKE_LOCATION = /^(?:[a-z][a-z0-9+.-]*:\/\/|\.{0,2}\/|~\/|[a-z]:\\|git\+|hg\+|svn\+|bzr\+)|\.(?:whl|zip|tar\.gz|tgz|tar\.bz2)$/i;

const EXAMPLE_PY = 'a package name with optional [extras] and version specifiers, e.g. `pandas==2.2.3` or `requests>=2.31`';

/** One PEP 508 requirement, in normal form; or why it is refused. */
export function parsePythonRequirement(raw: string): { ok: true; pkg: RequestedPackage } | { ok: false; message: string } {
  const text = raw.trim();
  if (!text) return { ok: false, message: 'is empty' };
  if (text.length > LIMITS.maxSpecLength) return { ok: false, message: `is longer than ${LIMITS.maxSpecLength} characters` };
  if (text.startsWith('-')) return { ok: false, message: `\`${text}\`: pip options are refused: only plain requirements` };
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@/.test(text)) {
    return { ok: false, message: `\`${text}\`: direct references (\`name @ url\`) are refused: packages come from the configured index only` };
  }
  if (LOOKS_LIKE_LOCATION.test(text)) {
    return { ok: false, message: `\`${text}\`: URLs, paths and archives are refused: packages come from the configured index only` };
  }
  const semi = text.indexOf(';');
  if (semi >= 0) {
    return {
      ok: false,
      message: `\`${text}\`: environment markers (\`${text.slice(semi).trim()}\`) are not supported: each runtime's environment is fixed; drop the marker`,
    };
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$/s.exec(text);
  if (!m || !PY_NAME.test(m[1]!)) return { ok: false, message: `\`${text}\`: not a requirement: expected ${EXAMPLE_PY}` };
  const name = canonicalPythonName(m[1]!);
  let rest = m[3]!.trim();
  if (rest.startsWith('@')) {
    return { ok: false, message: `\`${text}\`: direct references (\`name @ url\`) are refused: packages come from the configured index only` };
  }
  const extras: string[] = [];
  if (m[2] !== undefined) {
    for (const e of m[2].split(',').map((x) => x.trim())) {
      if (!e || !PY_NAME.test(e)) return { ok: false, message: `\`${text}\`: \`${e}\` is not a valid extra name` };
      extras.push(canonicalPythonName(e));
    }
  }
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  const specs: string[] = [];
  if (rest) {
    for (const part of rest.split(',').map((x) => x.trim())) {
      const s = PY_SPEC.exec(part);
      if (!s) return { ok: false, message: `\`${text}\`: \`${part || rest}\` is not a version specifier: expected ${EXAMPLE_PY}` };
      const [, op, version] = s as unknown as [string, string, string];
      const wildcard = version.endsWith('.*');
      if (op !== '===') {
        if (wildcard ? !(op === '==' || op === '!=') || !PY_VERSION_WILDCARD.test(version) : !PY_VERSION.test(version)) {
          return { ok: false, message: `\`${text}\`: \`${version}\` is not a valid version for \`${op}\` (PEP 440)` };
        }
        if (op === '~=' && !version.includes('.')) return { ok: false, message: `\`${text}\`: \`~=\` needs a version with at least two parts, e.g. \`~=1.4\`` };
      }
      specs.push(`${op}${version}`);
    }
  }
  const ex = [...new Set(extras)].sort();
  const spec = `${name}${ex.length ? `[${ex.join(',')}]` : ''}${[...new Set(specs)].sort().join(',')}`;
  return { ok: true, pkg: { name, spec } };
}

/** requirements.txt text → its requirements with their line numbers, or the lines refused. */
export function parseRequirementsText(text: string): { items: { line: number; text: string }[]; issues: ValidationIssue[] } {
  const items: { line: number; text: string }[] = [];
  const issues: ValidationIssue[] = [];
  if (text.length > LIMITS.maxRequirementsLength) {
    return { items, issues: [{ path: ['requirements'], message: `is longer than ${LIMITS.maxRequirementsLength} characters` }] };
  }
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!;
    const content = line.replace(/(^|\s)#.*$/, '').trim();
    if (!content) continue;
    if (content.startsWith('-')) {
      const opt = content.split(/[\s=]/)[0];
      issues.push({ path: ['requirements'], message: `line ${start}: pip options (\`${opt}\`) are refused in requirements: only plain requirements and comments` });
      continue;
    }
    if (/\s--?[a-z]/i.test(content)) {
      issues.push({ path: ['requirements'], message: `line ${start}: per-requirement pip options (\`${content}\`) are refused: only plain requirements and comments` });
      continue;
    }
    items.push({ line: start, text: content });
  }
  return { items, issues };
}

const NPM_PART = /^[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;
const NPM_TAG = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** npm name rules (validate-npm-package-name): ≤ 214 characters, URL-safe, no leading `.` or `_`; scoped too. */
export function validNpmName(name: string): boolean {
  if (!name || name.length > 214 || name.trim() !== name) return false;
  const m = /^(?:@([^/]+)\/)?([^/@]+)$/.exec(name);
  if (!m) return false;
  return (m[1] === undefined || NPM_PART.test(m[1])) && NPM_PART.test(m[2]!) && name.toLowerCase() !== 'node_modules';
}

/** A range or tag an npm spec may carry: anything npm would read as git, a URL, a path, a tarball or an alias is refused. */
function npmRangeProblem(range: string): string | null {
  if (range.length > LIMITS.maxSpecLength) return `is longer than ${LIMITS.maxSpecLength} characters`;
  if (/^(?:npm|git|git\+\w+|github|gitlab|bitbucket|gist|file|link|workspace|https?|patch|portal|exec):/i.test(range) || /^[a-z][a-z0-9+.-]*:/i.test(range)) {
    return 'git, URL, file, workspace and alias (`npm:`) specs are refused: packages come from the configured registry only';
  }
  if (range.includes('/') || /\.(?:tgz|tar\.gz|tar)$/i.test(range)) {
    return 'paths, tarballs and GitHub shorthands are refused: packages come from the configured registry only';
  }
  if (range === '' || semver.validRange(range) !== null || NPM_TAG.test(range)) return null;
  return 'is neither a semver range (e.g. `^1.7`, `~4.17.21`, `1.2.3`) nor a dist-tag (e.g. `latest`)';
}

/** One npm spec `name[@range|@tag]` in normal form (no range: `latest`), or why it is refused. */
export function parseNpmSpec(raw: string): { ok: true; pkg: RequestedPackage } | { ok: false; message: string } {
  const text = raw.trim();
  if (!text) return { ok: false, message: 'is empty' };
  if (text.length > LIMITS.maxSpecLength) return { ok: false, message: `is longer than ${LIMITS.maxSpecLength} characters` };
  if (LOOKS_LIKE_LOCATION.test(text) || /^[a-z][a-z0-9+.-]*:/i.test(text)) {
    return { ok: false, message: `\`${text}\`: git, URL, file and alias specs are refused: packages come from the configured registry only` };
  }
  const at = text.indexOf('@', text.startsWith('@') ? 1 : 0);
  const name = at < 0 ? text : text.slice(0, at);
  const range = at < 0 ? '' : text.slice(at + 1).trim();
  if (!validNpmName(name)) return { ok: false, message: `\`${text}\`: \`${name}\` is not a valid npm package name` };
  return npmPackage(name, range, text);
}

function npmPackage(name: string, range: string, shown: string): { ok: true; pkg: RequestedPackage } | { ok: false; message: string } {
  const problem = npmRangeProblem(range);
  if (problem) return { ok: false, message: `\`${shown}\`: \`${range}\` ${problem}` };
  return { ok: true, pkg: { name, spec: `${name}@${range || 'latest'}` } };
}

/** package.json fields that would change what gets installed in ways a bundle does not honour: refused, not ignored. */
export const PACKAGE_JSON_REFUSED = ['optionalDependencies', 'bundleDependencies', 'bundledDependencies', 'overrides', 'resolutions', 'workspaces'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The problems with an execution's dependency fields, with paths as the request body spells them
 * (`["dependencies","python",1]`, `["requirements"]`, `["packageJson","dependencies","lodash"]`); empty when fine.
 */
export function dependencyIssues(language: string, body: DependencyInput): ValidationIssue[] {
  const r = parseDependencies(language, body);
  return r.ok ? [] : r.issues;
}

/** Whether a request asks for any packages at all (an empty list asks for none). */
export function requestsDependencies(body: DependencyInput): boolean {
  return body.dependencies !== undefined || body.requirements !== undefined || body.packageJson !== undefined;
}

/** Validates and normalises an execution's dependency fields for its language. */
export function parseDependencies(language: string, body: DependencyInput): ParseResult {
  const issues: ValidationIssue[] = [];
  const given = (['dependencies', 'requirements', 'packageJson'] as const).filter((k) => body[k] !== undefined);
  if (!given.length) return { ok: true, set: { language: language === 'node' ? 'node' : 'python', packages: [] } };
  if (language !== 'python' && language !== 'node') {
    return { ok: false, issues: [{ path: [given[0]!], message: `${language} executions take no packages: only python and node do` }] };
  }
  if (given.length > 1) {
    return { ok: false, issues: [{ path: [given[1]!], message: `give packages in one form only: ${given.join(' and ')} were both given` }] };
  }
  const lang: PackageLanguage = language;
  const found: { pkg: RequestedPackage; path: (string | number)[] }[] = [];
  const form = given[0]!;

  if (form === 'dependencies') {
    const d = body.dependencies;
    if (!isRecord(d)) return { ok: false, issues: [{ path: ['dependencies'], message: `must be an object keyed by language, e.g. { "${lang}": [...] }` }] };
    for (const k of Object.keys(d)) {
      if (k !== lang) issues.push({ path: ['dependencies', k], message: `this execution's language is ${lang}: only dependencies.${lang} is read` });
    }
    const list = d[lang];
    if (list === undefined && !issues.length) issues.push({ path: ['dependencies', lang], message: 'is required' });
    if (list !== undefined && !Array.isArray(list)) issues.push({ path: ['dependencies', lang], message: 'must be a list of strings' });
    if (Array.isArray(list)) {
      if (list.length > LIMITS.maxPackages) issues.push({ path: ['dependencies', lang], message: `lists ${list.length} packages: at most ${LIMITS.maxPackages}` });
      else
        list.forEach((item, i) => {
          const path = ['dependencies', lang, i];
          if (typeof item !== 'string') return issues.push({ path, message: 'must be a string' });
          const r = lang === 'python' ? parsePythonRequirement(item) : parseNpmSpec(item);
          if (r.ok) found.push({ pkg: r.pkg, path });
          else issues.push({ path, message: r.message });
        });
    }
  } else if (form === 'requirements') {
    if (lang !== 'python') return { ok: false, issues: [{ path: ['requirements'], message: 'requirements is for python executions: node takes packageJson or dependencies.node' }] };
    if (typeof body.requirements !== 'string') return { ok: false, issues: [{ path: ['requirements'], message: 'must be the text of a requirements.txt' }] };
    const parsed = parseRequirementsText(body.requirements);
    issues.push(...parsed.issues);
    if (parsed.items.length > LIMITS.maxPackages) issues.push({ path: ['requirements'], message: `lists ${parsed.items.length} packages: at most ${LIMITS.maxPackages}` });
    else
      for (const item of parsed.items) {
        const r = parsePythonRequirement(item.text);
        if (r.ok) found.push({ pkg: r.pkg, path: ['requirements', `line ${item.line}`] });
        else issues.push({ path: ['requirements'], message: `line ${item.line}: ${r.message}` });
      }
  } else {
    if (lang !== 'node') return { ok: false, issues: [{ path: ['packageJson'], message: 'packageJson is for node executions: python takes requirements or dependencies.python' }] };
    const pj = body.packageJson;
    if (!isRecord(pj)) return { ok: false, issues: [{ path: ['packageJson'], message: 'must be a package.json object' }] };
    for (const k of PACKAGE_JSON_REFUSED) {
      if (pj[k] !== undefined) issues.push({ path: ['packageJson', k], message: `is not supported: only packageJson.dependencies is read` });
    }
    const deps = pj.dependencies ?? {};
    if (!isRecord(deps)) issues.push({ path: ['packageJson', 'dependencies'], message: 'must be an object of package name to version range' });
    else {
      const entries = Object.entries(deps);
      if (entries.length > LIMITS.maxPackages) issues.push({ path: ['packageJson', 'dependencies'], message: `lists ${entries.length} packages: at most ${LIMITS.maxPackages}` });
      else
        for (const [name, range] of entries) {
          const path = ['packageJson', 'dependencies', name];
          if (typeof range !== 'string') {
            issues.push({ path, message: 'must be a version range string' });
            continue;
          }
          if (!validNpmName(name)) {
            issues.push({ path, message: `\`${name}\` is not a valid npm package name` });
            continue;
          }
          const r = npmPackage(name, range.trim(), `${name}: ${range}`);
          if (r.ok) found.push({ pkg: r.pkg, path });
          else issues.push({ path, message: r.message });
        }
    }
  }

  const seen = new Map<string, (string | number)[]>();
  for (const f of found) {
    const first = seen.get(f.pkg.name);
    if (first) issues.push({ path: f.path, message: `${f.pkg.name} is listed twice (also at ${first.join('.')}): list each package once` });
    else seen.set(f.pkg.name, f.path);
  }
  if (issues.length) return { ok: false, issues };
  const packages = found.map((f) => f.pkg).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, set: { language: lang, packages } };
}
