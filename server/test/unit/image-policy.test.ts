import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageConfigProblem } from '../../src/images/policy.js';

describe('imageConfigProblem (what a custom image must declare)', () => {
  const base = { id: 'sha256:x', entrypoint: ['/usr/local/bin/cronium-launch'], user: '10001:10001', labels: {} };
  const cases: [string, Partial<typeof base>, RegExp | null][] = [
    ['a runtime image', {}, null],
    ['user 10001 without group', { user: '10001' }, null],
    ['no entrypoint', { entrypoint: [] }, /entrypoint is \[\]/],
    ['tini in front of the launcher', { entrypoint: ['/usr/bin/tini', '--', '/usr/local/bin/cronium-launch'] }, /entrypoint/],
    ['another entrypoint', { entrypoint: ['/bin/sh'] }, /not \["\/usr\/local\/bin\/cronium-launch"\]/],
    ['root by default', { user: '' }, /runs as user "root"/],
    ['root by name', { user: 'root' }, /runs as user "root"/],
    ['uid 0', { user: '0:0' }, /"0:0"/],
    ['another uid', { user: '1000:1000' }, /not 10001:10001/],
    ['a uid that starts alike', { user: '100010' }, /not 10001:10001/],
  ];
  for (const [name, change, want] of cases) {
    it(name, () => {
      const got = imageConfigProblem({ ...base, ...change });
      if (want === null) assert.equal(got, null);
      else assert.match(got ?? '', want);
    });
  }
});
