import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleKey, chooseEvictions, requestKey } from '../../src/dependencies/bundle-key.js';
import type { LockedPackage, RuntimeTarget } from '../../src/dependencies/types.js';

const py311: RuntimeTarget = { id: 'python@3.11', version: '3.11', platform: 'manylinux_2_36_x86_64' };
const six: LockedPackage = { name: 'six', version: '1.17.0', hash: 'sha256:aa', source: 'six-1.17.0-py2.py3-none-any.whl' };
const idna: LockedPackage = { name: 'idna', version: '3.20', hash: 'sha256:bb', source: 'idna-3.20-py3-none-any.whl' };

describe('bundleKey', () => {
  test('a sha256 of the resolved set, independent of order', () => {
    assert.match(bundleKey('python', py311, [six, idna]), /^[0-9a-f]{64}$/);
    assert.equal(bundleKey('python', py311, [six, idna]), bundleKey('python', py311, [idna, six]));
  });
  test('changes with the runtime version, the platform, a version or a hash', () => {
    const base = bundleKey('python', py311, [six]);
    assert.notEqual(base, bundleKey('python', { ...py311, version: '3.13' }, [six]));
    assert.notEqual(base, bundleKey('python', { ...py311, platform: 'manylinux_2_41_x86_64' }, [six]));
    assert.notEqual(base, bundleKey('python', py311, [{ ...six, version: '1.16.0' }]));
    assert.notEqual(base, bundleKey('python', py311, [{ ...six, hash: 'sha256:cc' }]));
    assert.notEqual(base, bundleKey('node', py311, [six]));
  });
  test('the runtime id alone does not split bundles (python@3.11 images with the same version and glibc share)', () => {
    assert.equal(bundleKey('python', py311, [six]), bundleKey('python', { ...py311, id: 'python@3.11-other' }, [six]));
  });
});

describe('requestKey', () => {
  const set = { language: 'python' as const, packages: [{ name: 'six', spec: 'six' }] };
  test('depends on the request, the runtime and the index', () => {
    const k = requestKey(set, py311, { pip: ['http://a/simple'] });
    assert.equal(k, requestKey({ ...set, packages: [{ name: 'six', spec: 'six' }] }, py311, { pip: ['http://a/simple'] }));
    assert.notEqual(k, requestKey(set, py311, { pip: ['http://b/simple'] }));
    assert.notEqual(k, requestKey(set, { ...py311, id: 'python@3.11b' }, { pip: ['http://a/simple'] }));
    assert.notEqual(k, requestKey({ ...set, packages: [{ name: 'six', spec: 'six==1.17.0' }] }, py311, { pip: ['http://a/simple'] }));
  });
});

describe('chooseEvictions', () => {
  const b = (key: string, sizeBytes: number, lastUsedAt: number, inUse = false) => ({ key, sizeBytes, lastUsedAt, inUse });
  const cases: Array<[string, ReturnType<typeof b>[], number, string[], string[]]> = [
    ['under the limit: nothing', [b('a', 10, 1), b('b', 10, 2)], 20, [], []],
    ['least recently used first', [b('new', 10, 3), b('old', 10, 1), b('mid', 10, 2)], 20, [], ['old']],
    ['as many as needed', [b('a', 10, 1), b('b', 10, 2), b('c', 10, 3)], 10, [], ['a', 'b']],
    ['never one in use', [b('a', 10, 1, true), b('b', 10, 2), b('c', 10, 3)], 20, [], ['b']],
    ['never one kept', [b('a', 10, 1), b('b', 10, 2)], 10, ['a'], ['b']],
    ['everything in use: nothing, over the limit', [b('a', 10, 1, true), b('b', 10, 2, true)], 5, [], []],
    ['a big old one frees enough', [b('big', 100, 1), b('s1', 1, 2), b('s2', 1, 3)], 50, [], ['big']],
  ];
  for (const [title, bundles, limit, keep, out] of cases) test(title, () => assert.deepEqual(chooseEvictions(bundles, limit, new Set(keep)), out));
});
