import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, type PackagePolicy, packagePolicySchema } from '../../src/dependencies/policy.js';

describe('checkPolicy', () => {
  const cases: Array<[string, PackagePolicy, 'python' | 'node', string[], string[]]> = [
    ['any refuses nothing', { mode: 'any' }, 'python', ['six', 'evil'], []],
    ['allowlist: listed passes, the rest is refused', { mode: 'allowlist', python: ['six'], node: [] }, 'python', ['six', 'requests'], ['requests']],
    ['allowlist: PEP 503 names match', { mode: 'allowlist', python: ['Typing_Extensions'], node: [] }, 'python', ['typing-extensions'], []],
    ['allowlist: the other ecosystem does not count', { mode: 'allowlist', python: ['lodash'], node: [] }, 'node', ['lodash'], ['lodash']],
    ['allowlist: npm scope wildcard', { mode: 'allowlist', python: [], node: ['@types/*'] }, 'node', ['@types/node', '@typesx/a', 'types'], ['@typesx/a', 'types']],
    ['allowlist: npm names are exact', { mode: 'allowlist', python: [], node: ['lodash'] }, 'node', ['Lodash', 'lodash'], ['Lodash']],
    ['denylist: listed refused', { mode: 'denylist', python: ['requests'], node: [] }, 'python', ['six', 'requests'], ['requests']],
    ['denylist: normalised names match', { mode: 'denylist', python: ['Zope.Interface'], node: [] }, 'python', ['zope-interface'], ['zope-interface']],
    ['denylist: empty refuses nothing', { mode: 'denylist', python: [], node: [] }, 'node', ['a'], []],
    ['duplicates reported once', { mode: 'denylist', python: ['a'], node: [] }, 'python', ['a', 'a'], ['a']],
  ];
  for (const [title, policy, language, names, refused] of cases) {
    test(title, () => {
      assert.deepEqual(
        checkPolicy(policy, language, names).map((r) => r.name),
        refused,
      );
    });
  }
  test('reasons name the package, the list and what pulled it in', () => {
    const [r] = checkPolicy({ mode: 'denylist', python: ['idna'], node: [] }, 'python', ['idna'], (n) => (n === 'idna' ? 'requests' : undefined));
    assert.equal(r!.reason, "idna (a dependency of requests) is on the admin's python package denylist");
    const [a] = checkPolicy({ mode: 'allowlist', python: [], node: ['lodash'] }, 'node', ['left-pad']);
    assert.equal(a!.reason, "left-pad is not on the admin's node package allowlist");
  });
});

describe('packagePolicySchema', () => {
  test('accepts the three modes; lists default to empty', () => {
    assert.deepEqual(packagePolicySchema.parse({ mode: 'any' }), { mode: 'any' });
    assert.deepEqual(packagePolicySchema.parse({ mode: 'allowlist', python: ['six'] }), { mode: 'allowlist', python: ['six'], node: [] });
    assert.deepEqual(packagePolicySchema.parse({ mode: 'denylist', node: ['@evil/*'] }), { mode: 'denylist', python: [], node: ['@evil/*'] });
  });
  const bad: Array<[unknown, string]> = [
    [{ mode: 'some' }, 'mode'],
    [{ mode: 'any', python: ['six'] }, ''],
    [{ mode: 'allowlist', python: ['six==1'] }, 'python.0'],
    [{ mode: 'denylist', node: ['a b'] }, 'node.0'],
    [{ mode: 'denylist', node: 'lodash' }, 'node'],
  ];
  for (const [value, path] of bad) {
    test(`refuses ${JSON.stringify(value)}`, () => {
      const r = packagePolicySchema.safeParse(value);
      assert.equal(r.success, false);
      assert.equal(r.error!.issues[0]!.path.join('.'), path);
    });
  }
});
