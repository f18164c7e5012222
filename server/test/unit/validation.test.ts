import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { AppError } from '../../src/errors.js';
import { MAX_JSON_DEPTH, parse, storableJson, storableString, unstorableJson, unstorableText } from '../../src/validation.js';

const nested = (n: number): unknown => (n === 0 ? 'leaf' : [nested(n - 1)]);

describe('unstorableText', () => {
  const cases: [string, RegExp | null][] = [
    ['plain', null],
    ['', null],
    ['emoji 😀 \ud83d\ude00 pair', null],
    ['control \u0001\u001f\u007f and \t\n', null],
    ['literal \\u0000 is six characters', null],
    ['a\u0000b', /NUL/],
    ['\u0000', /NUL/],
    ['high \ud800 alone', /lone UTF-16 surrogate \(\\ud800\)/],
    ['low \udc00 alone', /\\udc00/],
    ['high at the end \ud83d', /\\ud83d/],
    ['reversed pair \ude00\ud83d', /\\ude00/],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      const why = unstorableText(text);
      if (expected === null) assert.equal(why, null);
      else assert.match(why ?? '', expected);
    });
  }
});

describe('unstorableJson', () => {
  const cases: [string, unknown, { path: (string | number)[]; message: RegExp } | null][] = [
    ['scalars', [1, true, null, 'x', 2.5], null],
    ['a nested string', { a: { b: 'x\u0000' } }, { path: ['a', 'b'], message: /NUL/ }],
    ['an array item', { a: ['ok', '\ud800'] }, { path: ['a', 1], message: /surrogate/ }],
    ['the value itself', '\u0000', { path: [], message: /NUL/ }],
    ['an object key, spelled escaped in the path', { a: { 'k\u0000': 1 } }, { path: ['a', 'k\\u0000'], message: /^this key .*NUL/ }],
    ['a key with a lone surrogate', { '\udc00': 1 }, { path: ['\\udc00'], message: /^this key .*surrogate/ }],
    ['the first problem in document order', { a: 'fine', b: ['\u0000'], c: '\ud800' }, { path: ['b', 0], message: /NUL/ }],
    ['as deep as allowed', nested(MAX_JSON_DEPTH), null],
    ['one level deeper', nested(MAX_JSON_DEPTH + 1), { path: [], message: new RegExp(`deeper than ${MAX_JSON_DEPTH}`) }],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      const got = unstorableJson(value);
      if (expected === null) return assert.equal(got, null);
      assert.ok(got);
      assert.deepEqual(got.path, expected.path);
      assert.match(got.message, expected.message);
    });
  }

  it('walks a value far deeper than the stack allows without overflowing', () => {
    let v: unknown = 'x';
    for (let i = 0; i < 100_000; i++) v = { v };
    assert.match(unstorableJson(v)?.message ?? '', /deeper/);
  });
});

describe('storable zod pieces in parse(): a 400 naming the innermost field', () => {
  const schema = z.object({ input: storableJson.optional(), name: storableString().max(5).optional() }).strict();
  const failure = (data: unknown) => {
    try {
      parse(schema, data);
    } catch (err) {
      assert.ok(err instanceof AppError);
      return { status: err.status, field: err.field, message: err.message };
    }
    assert.fail('accepted');
  };

  it('names the field inside the value', () => {
    assert.deepEqual(failure({ input: { a: [{ b: 'x\u0000' }] } }), {
      status: 400,
      field: 'input.a.0.b',
      message: 'input.a.0.b: contains a NUL character (\\u0000), which cannot be stored',
    });
    assert.equal(failure({ name: 'a\ud800' }).field, 'name');
    assert.equal(failure({ name: 'toolong' }).field, 'name', 'other checks still apply');
    assert.equal(failure({ input: nested(MAX_JSON_DEPTH + 1) }).field, 'input');
  });

  it('passes storable values through unchanged', () => {
    const input = { emoji: '😀', ctrl: '\u0001', deep: nested(10) };
    assert.deepEqual(parse(schema, { input, name: 'ok' }), { input, name: 'ok' });
  });
});
