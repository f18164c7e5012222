import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { addRealPackages, type PackageIndex, startPackageIndex } from '../fixtures/package-index.js';
import { driverEnv, logsOf, requireDocker, run, startTestServer, stdoutOf, type TestServer, testDrivers, until } from '../helpers.js';

const systemLines = (entries: { stream: string; text: string }[]) => entries.filter((e) => e.stream === 'system').map((e) => e.text);

/**
 * Packages through the API, as a user asks for them: real pip and npm on the host against a local index (the
 * "internal mirror" configuration), bundles mounted into real sandboxes, install scripts in build sandboxes. The
 * service's own cases (resolution errors, the lock, eviction, concurrent builds) are in dependencies-*.test.ts.
 */
describe('dependencies through the API', { concurrency: false }, () => {
  let index: PackageIndex;
  let s: TestServer;
  const marker = `/tmp/cronium-api-marker-${crypto.randomBytes(6).toString('hex')}`;

  before(async () => {
    await requireDocker();
    index = await startPackageIndex();
    await addRealPackages(index);
    index.addWheel({ name: 'cronium-test-b', version: '1.2.0' });
    index.addWheel({ name: 'cronium-test-a', version: '1.0.0', requires: ['cronium-test-b>=1'] });
    index.addNpm({ name: 'cronium-dep', version: '1.0.0' });
    index.addNpm({ name: 'cronium-uses-dep', version: '2.0.0', dependencies: { 'cronium-dep': '^1.0.0' }, files: { 'index.js': 'module.exports = "uses " + require("cronium-dep").name;\n' } });
    index.addNpm({ name: 'cronium-postinstall', version: '1.0.0', scripts: { postinstall: `node -e "require('fs').writeFileSync('${marker}', 'ran'); require('fs').writeFileSync('built.txt', String(process.getuid()))"` } });
    s = await startTestServer({ CRONIUM_PIP_INDEX_URL: index.pipIndexUrl, CRONIUM_NPM_REGISTRY: index.npmRegistry, CRONIUM_POOL_SIZE: '1' });
  });
  after(async () => {
    await s?.stop();
    await index?.close();
    fs.rmSync(marker, { force: true });
  });

  it('python: a wheel, a package with a dependency of its own, read-only from inside, the install step in the log; the second run reuses the bundle', async () => {
    const body = {
      language: 'python',
      runtime: 'python@3.11',
      dependencies: { python: ['six', 'cronium-test-a==1.0.0'] },
      script: [
        'import six, cronium_test_a, cronium_test_b, os',
        'print("six", six.__version__, "a", cronium_test_a.VERSION, "b", cronium_test_b.VERSION)',
        'try:',
        '    open(os.path.join(os.path.dirname(six.__file__), "planted.py"), "w")',
        'except OSError as e:',
        '    print("write:", e.strerror)',
      ].join('\n'),
    };
    const first = await run(s.api, body);
    assert.equal(first.status, 'succeeded', first.error);
    const logs = await logsOf(s.api, first.id);
    assert.match(stdoutOf(logs), /^six 1\.17\.0 a 1\.0\.0 b 1\.2\.0\nwrite: Read-only file system$/);
    assert.deepEqual(first.installed, [
      { name: 'cronium-test-a', version: '1.0.0' },
      { name: 'cronium-test-b', version: '1.2.0' },
      { name: 'six', version: '1.17.0' },
    ]);
    assert.ok(systemLines(logs).some((l) => /^\[cronium\] installing 3 packages/.test(l)), systemLines(logs).join('\n'));
    assert.deepEqual(first.dependencies, { dependencies: { python: ['six', 'cronium-test-a==1.0.0'] } });

    const served = index.requests.length;
    const second = await run(s.api, body);
    assert.equal(second.status, 'succeeded', second.error);
    assert.equal(index.requests.length, served, 'the second run did not ask the index');
    assert.ok(systemLines(await logsOf(s.api, second.id)).some((l) => /bundle [0-9a-f]{12} reused/.test(l)));

    // The bundle's key now has pooled members (learnt at the first take): a later run starts warm.
    const warm = await until(async () => {
      const r = await run(s.api, body);
      return r.pooled ? r : null;
    }, 60_000, 500);
    assert.equal(warm.status, 'succeeded', warm.error);
    assert.match(stdoutOf(await logsOf(s.api, warm.id)), /^six 1\.17\.0/);
  });

  it('node: a package with a dependency resolves from ESM and CommonJS; an install script runs in a sandbox, never on the host', async () => {
    const esm = await run(s.api, {
      language: 'node',
      dependencies: { node: ['lodash@^4.17.0', 'cronium-uses-dep'] },
      script: 'import _ from "lodash";\nimport uses from "cronium-uses-dep";\nimport cronium from "cronium";\nconsole.log(_.chunk([1, 2, 3], 2).length, uses, typeof cronium.setOutput);\n',
    });
    assert.equal(esm.status, 'succeeded', esm.error);
    assert.equal(stdoutOf(await logsOf(s.api, esm.id)), '2 uses cronium-dep function');
    assert.deepEqual(esm.installed.map((p: { name: string }) => p.name), ['cronium-dep', 'cronium-uses-dep', 'lodash']);

    const script = await run(s.api, {
      language: 'node',
      dependencies: { node: ['cronium-postinstall'] },
      script: 'const fs = require("fs");\nconsole.log(fs.readFileSync("/work/node_modules/cronium-postinstall/built.txt", "utf8"));\n',
    });
    assert.equal(script.status, 'succeeded', script.error);
    assert.equal(stdoutOf(await logsOf(s.api, script.id)), '10001', 'the install script ran, as the sandbox user');
    assert.equal(fs.existsSync(marker), false, 'the install script never ran on the host');
  });

  it('refuses a bad specifier (400 naming the entry) and fails an unknown or refused package with the reason', async () => {
    const bad = await s.api('POST', '/api/v1/executions', { language: 'python', script: 'pass', dependencies: { python: ['six', 'requests @ https://evil.example/r.whl'] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'dependencies.python.1');
    const other = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', dependencies: { node: ['lodash'] } });
    assert.equal(other.status, 400);
    assert.equal(other.body.error.field, 'dependencies.node');

    const missing = await run(s.api, { language: 'python', dependencies: { python: ['cronium-no-such-package'] }, script: 'print(1)' });
    assert.equal(missing.status, 'error');
    assert.match(missing.error, /cronium-no-such-package/);
    assert.doesNotMatch(missing.error, /Traceback/);
    assert.equal(missing.containerId, null, 'no sandbox was started');

    const patched = await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'denylist', python: ['cronium-test-b'], node: [] } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    try {
      const refused = await run(s.api, { language: 'python', runtime: 'python@3.11', dependencies: { python: ['cronium-test-a'] }, script: 'print(1)' });
      assert.equal(refused.status, 'error');
      assert.match(refused.error, /cronium-test-b \(a dependency of cronium-test-a\) is on the admin's python package denylist/);
    } finally {
      await s.api('PATCH', '/api/v1/settings', { packagePolicy: { mode: 'any' } });
    }
  });

  it('lists the bundles for an admin, and removes one', async () => {
    const list = await s.api('GET', '/api/v1/dependency-bundles');
    assert.equal(list.status, 200);
    const py = list.body.items.find((b: { language: string; packages: { name: string }[] }) => b.language === 'python' && b.packages.some((p) => p.name === 'six'));
    assert.ok(py, JSON.stringify(list.body));
    const del = await s.api('DELETE', `/api/v1/dependency-bundles/${py.key}`);
    assert.equal(del.status, 204, JSON.stringify(del.body));
  });

  for (const driver of testDrivers(['crun'])) {
    it(`${driver}: a bundle mounts read-only into the sandbox`, async () => {
      const c = await startTestServer({ ...driverEnv(driver), CRONIUM_PIP_INDEX_URL: index.pipIndexUrl, CRONIUM_NPM_REGISTRY: index.npmRegistry, CRONIUM_POOL_SIZE: '0' });
      try {
        const r = await run(c.api, {
          language: 'python',
          dependencies: { python: ['six'] },
          script: 'import six, os\nprint(six.__version__)\ntry:\n    open(os.path.join(os.path.dirname(six.__file__), "x"), "w")\nexcept OSError as e:\n    print(e.strerror)\n',
        });
        assert.equal(r.status, 'succeeded', r.error);
        assert.equal(stdoutOf(await logsOf(c.api, r.id)), '1.17.0\nRead-only file system');
      } finally {
        await c.stop();
      }
    });
  }
});
