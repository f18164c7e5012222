import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BUILTIN_RUNTIMES, builtinImage, DEFAULT_RUNTIMES } from '../../src/runtimes/builtin.js';
import { chooseRuntime, parseContentsLabel, type RuntimeEntry } from '../../src/runtimes/catalog.js';

const repoRoot = path.resolve(new URL('../../..', import.meta.url).pathname);
const pin = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(fs.readFileSync(path.join(repoRoot, 'runtime-images/versions.env'), 'utf8'))?.[1];

describe('built-in runtimes', () => {
  it('are the runtimes and defaults versions.env builds (the two lists cannot diverge)', () => {
    assert.deepEqual(BUILTIN_RUNTIMES.map((r) => r.id), pin('RUNTIMES')!.split(' '));
    for (const lang of ['bash', 'python', 'node'] as const) assert.equal(DEFAULT_RUNTIMES[lang], `${lang}@${pin(`DEFAULT_${lang}`)}`);
    for (const r of BUILTIN_RUNTIMES) assert.equal(r.id, `${r.language}@${r.line}`);
  });

  it("run a default in CRONIUM_IMAGE_<LANGUAGE>'s image, the others in their versioned tag", () => {
    const images = { bash: 'b:x', python: 'my/python:1', node: 'n:x' };
    assert.equal(builtinImage(BUILTIN_RUNTIMES.find((r) => r.id === 'python@3.13')!, images), 'my/python:1');
    assert.equal(builtinImage(BUILTIN_RUNTIMES.find((r) => r.id === 'python@3.11')!, images), 'cronium/runtime-python:3.11');
  });
});

describe('chooseRuntime', () => {
  const e = (id: string, d = false): RuntimeEntry => ({ id, language: id.split('@')[0] as 'python', version: id.split('@')[1]!, image: id, default: d, contents: [] });
  const entries = [e('python@3.11'), e('python@3.13', true), e('node@22'), e('node@24', true)];
  const cases: [string, 'python' | 'node' | 'bash', string | undefined, string | RegExp][] = [
    ['no runtime: the default', 'python', undefined, 'python@3.13'],
    ['a named one', 'python', 'python@3.11', 'python@3.11'],
    ['unknown: lists the offered ones', 'python', 'python@3.12', /unknown runtime "python@3\.12"; this server offers python@3\.11, python@3\.13, node@22, node@24/],
    ['another language', 'node', 'python@3.11', /python runtime, but language is "node" \(node: node@22, node@24\)/],
    ['a language without runtimes', 'bash', undefined, /no default runtime for bash/],
  ];
  for (const [name, language, runtime, want] of cases) {
    it(name, () => {
      const got = chooseRuntime(entries, language, runtime);
      if (typeof want === 'string') assert.deepEqual(got.ok && got.runtime.id, want);
      else {
        assert.equal(got.ok, false);
        if (!got.ok) {
          assert.equal(got.field, 'runtime');
          assert.match(got.message, want);
        }
      }
    });
  }
});

describe('parseContentsLabel', () => {
  it('reads cronium-contents JSON and ignores a missing or malformed label', () => {
    const good = { language: 'node', version: '24.1.0', contents: [{ name: 'jq', version: '1.6', source: 'debian' }] };
    assert.deepEqual(parseContentsLabel({ 'io.cronium.contents': JSON.stringify(good) }), good);
    assert.equal(parseContentsLabel({}), null);
    assert.equal(parseContentsLabel(null), null);
    assert.equal(parseContentsLabel({ 'io.cronium.contents': '{not json' }), null);
    assert.equal(parseContentsLabel({ 'io.cronium.contents': '{"language":1}' }), null);
  });
});
