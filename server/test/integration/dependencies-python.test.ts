import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PackagePolicy } from '../../src/dependencies/policy.js';
import type { DependencyService } from '../../src/dependencies/service.js';
import { addRealPackages, makeSdist, type PackageIndex, startPackageIndex } from '../fixtures/package-index.js';
import { collectLog, PY, PYTHON_IMAGE, runWithBundle, testService, packageSet, refusal } from '../dependency-helpers.js';
import { requireDocker } from '../helpers.js';

const ANY: PackagePolicy = { mode: 'any' };

describe('python dependencies: real pip against a local index, byte-compiled in a real sandbox', { concurrency: false }, () => {
  let index: PackageIndex;
  let s: ReturnType<typeof testService>;
  let service: DependencyService;
  const marker = `/tmp/cronium-marker-${crypto.randomBytes(6).toString('hex')}`;
  const prepare = (pkgs: string[], log = collectLog().log, policy: PackagePolicy = ANY) =>
    service.prepare({ language: 'python', runtime: PY, set: packageSet('python', ...pkgs), policy }, log);

  before(async () => {
    await requireDocker();
    index = await startPackageIndex();
    await addRealPackages(index);
    index.addWheel({ name: 'cronium-test-b', version: '1.0' });
    index.addWheel({ name: 'cronium-test-b', version: '1.5' });
    index.addWheel({ name: 'cronium-test-a', version: '1.0', requires: ['cronium-test-b>=1'] });
    index.addWheel({ name: 'cronium-test-pin', version: '1.0' });
    index.addWheel({ name: 'cronium-test-pin', version: '2.0' });
    for (const n of ['c', 'd', 'e']) index.addWheel({ name: `cronium-test-${n}`, version: '1.0' });
    const sdist = makeSdist('cronium-test-sdist', '0.3', marker);
    index.addFile(sdist.file, sdist.data);
    index.addWheel({ name: 'cronium-test-mac', version: '1.0', tag: 'cp311-cp311-macosx_11_0_arm64' });
    s = testService({ pipIndexUrl: index.pipIndexUrl });
    service = s.service;
  });
  after(async () => {
    s?.cleanup();
    await index?.close();
  });

  it('six (a real wheel): installed with its exact version, the install step logged, importable from the read-only bundle', async () => {
    const { lines, log } = collectLog();
    const b = await prepare(['six'], log);
    try {
      assert.deepEqual(b.installed, [{ name: 'six', version: '1.17.0' }]);
      assert.equal(b.cached, false);
      assert.equal(b.bundle.mountPath, '/opt/cronium/deps/python');
      assert.deepEqual(b.bundle.env, { PYTHONPATH: '/opt/cronium/deps/python' });
      assert.ok(lines.some((l) => /^\[cronium\] installing 1 package: six==1\.17\.0$/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /^\[cronium\] bundle [0-9a-f]{12} built in/.test(l)), lines.join('\n'));
      const lock = JSON.parse(fs.readFileSync(path.join(b.bundle.hostPath, '..', 'lock.json'), 'utf8'));
      assert.match(lock.packages[0].hash, /^sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274$/);
      const r = runWithBundle(PYTHON_IMAGE, b.bundle, ['python3', '-c', 'import six; print(six.__version__, six.__file__)']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), '1.17.0 /opt/cronium/deps/python/six.py');
    } finally {
      b.release();
    }
  });

  it('the same set again reuses the bundle at once, without asking the index', async () => {
    const before = index.requests.length;
    const { lines, log } = collectLog();
    const started = Date.now();
    const b = await prepare(['Six'], log);
    b.release();
    assert.equal(b.cached, true);
    assert.equal(index.requests.length, before, `index asked: ${index.requests.slice(before).join(', ')}`);
    assert.ok(Date.now() - started < 500, `${Date.now() - started} ms`);
    assert.ok(lines.some((l) => /^\[cronium\] bundle [0-9a-f]{12} reused: 1 package \(six==1\.17\.0\)$/.test(l)), lines.join('\n'));
  });

  it('a pinned version is the one installed', async () => {
    const pinned = await prepare(['cronium-test-pin==1.0']);
    pinned.release();
    assert.deepEqual(pinned.installed, [{ name: 'cronium-test-pin', version: '1.0' }]);
    const latest = await prepare(['cronium-test-pin']);
    latest.release();
    assert.deepEqual(latest.installed, [{ name: 'cronium-test-pin', version: '2.0' }]);
    assert.notEqual(pinned.bundle.key, latest.bundle.key);
  });

  it('a package with dependencies of its own: requests and its four, importable and working offline', async () => {
    const b = await prepare(['requests>=2.31']);
    try {
      assert.deepEqual(
        b.installed.map((p) => p.name),
        ['certifi', 'charset-normalizer', 'idna', 'requests', 'urllib3'],
      );
      const py = 'import time; t=time.perf_counter(); import requests; print(requests.__version__, round((time.perf_counter()-t)*1000))';
      const r = runWithBundle(PYTHON_IMAGE, b.bundle, ['python3', '-c', py]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^2\.34\.2 \d+/);
      // compileall ran in the sandbox: the .pyc files are there, and name the path executions see.
      const pyc = fs.readdirSync(path.join(b.bundle.hostPath, 'requests', '__pycache__'));
      assert.ok(pyc.some((f) => f === `api.cpython-${PY.version.replace('.', '')}.pyc`), pyc.join(' '));
      assert.ok(fs.readFileSync(path.join(b.bundle.hostPath, 'requests', '__pycache__', `api.cpython-${PY.version.replace('.', '')}.pyc`)).includes('/opt/cronium/deps/python/requests/api.py'));
      console.log(`# import requests from the compiled read-only bundle: ${r.stdout.trim().split(' ')[1]} ms`);
    } finally {
      b.release();
    }
    const synthetic = await prepare(['cronium-test-a']);
    synthetic.release();
    assert.deepEqual(synthetic.installed, [
      { name: 'cronium-test-a', version: '1.0' },
      { name: 'cronium-test-b', version: '1.5' },
    ]);
  });

  it('the bundle is read-only: no file writable by uid 10001, and writes through the :ro mount fail', async () => {
    const b = await prepare(['six']);
    try {
      const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [path.join(d, e.name), ...walk(path.join(d, e.name))] : [path.join(d, e.name)]));
      for (const p of [b.bundle.hostPath, ...walk(b.bundle.hostPath)]) {
        const st = fs.lstatSync(p);
        if (st.isSymbolicLink()) continue;
        assert.equal(st.mode & 0o222, 0, `${p} is writable (${(st.mode & 0o777).toString(8)})`);
        assert.notEqual(st.uid, 10001, `${p} belongs to the sandbox user`);
        assert.equal(st.mode & 0o444, 0o444, `${p} is not readable by all`);
      }
      const r = runWithBundle(PYTHON_IMAGE, b.bundle, ['sh', '-c', 'echo x > /opt/cronium/deps/python/six.py; echo $?; touch /opt/cronium/deps/python/new 2>&1; echo $?']);
      assert.match(r.stdout + r.stderr, /Read-only file system/);
      assert.equal(r.stdout.trim().split('\n').filter((l) => l === '0').length, 0, r.stdout);
    } finally {
      b.release();
    }
  });

  it('a package that does not exist: PACKAGE_NOT_FOUND naming it', async () => {
    const e = await refusal(prepare(['cronium-test-nope']));
    assert.equal(e.code, 'PACKAGE_NOT_FOUND');
    assert.equal(e.pkg, 'cronium-test-nope');
    assert.equal(e.message, `cronium-test-nope was not found on the configured index ${index.pipIndexUrl}`);
  });

  it('no version matching the pin: NO_MATCHING_VERSION with the versions there are', async () => {
    const e = await refusal(prepare(['cronium-test-pin==9.9']));
    assert.equal(e.code, 'NO_MATCHING_VERSION');
    assert.match(e.message, /^cronium-test-pin: no version matches cronium-test-pin==9\.9 \(versions with a wheel for Python \d\.\d+: 1\.0, 2\.0\)$/);
  });

  it('a transitive requirement that cannot be met names the dependency', async () => {
    index.addWheel({ name: 'cronium-test-f', version: '1.0', requires: ['cronium-test-b>=5'] });
    const e = await refusal(prepare(['cronium-test-f']));
    assert.equal(e.code, 'NO_MATCHING_VERSION');
    assert.equal(e.pkg, 'cronium-test-b');
  });

  it('an sdist-only package: NO_WHEEL, and its setup.py never ran', async () => {
    const e = await refusal(prepare(['cronium-test-sdist']));
    assert.equal(e.code, 'NO_WHEEL');
    assert.equal(e.message, 'cronium-test-sdist 0.3 is published only as a source distribution; Cronium installs wheels only');
    assert.equal(fs.existsSync(marker), false, 'setup.py ran on the host');
  });

  it('a package with wheels for other platforms only: NO_WHEEL saying for what', async () => {
    const e = await refusal(prepare(['cronium-test-mac']));
    assert.equal(e.code, 'NO_WHEEL');
    assert.equal(e.message, `cronium-test-mac has no wheel for CPython ${PY.version} on Linux x86_64 (its wheels are for cp311-macosx_11_0_arm64)`);
  });

  it("the admin's policy refuses a requested package before anything is fetched, and a transitive one after resolution", async () => {
    const before = index.requests.length;
    const e = await refusal(prepare(['six', 'cronium-test-c'], undefined, { mode: 'allowlist', python: ['six'], node: [] }));
    assert.equal(e.code, 'POLICY_REFUSED');
    assert.equal(e.pkg, 'cronium-test-c');
    assert.match(e.message, /cronium-test-c is not on the admin's python package allowlist/);
    assert.equal(index.requests.length, before, 'the index was asked');
    const t = await refusal(prepare(['cronium-test-a'], undefined, { mode: 'denylist', python: ['Cronium_Test_B'], node: [] }));
    assert.equal(t.code, 'POLICY_REFUSED');
    assert.equal(t.message, "refused by the package policy: cronium-test-b (a dependency of cronium-test-a) is on the admin's python package denylist");
    // A cached resolution is checked again under the policy in force.
    const c = await refusal(prepare(['six'], undefined, { mode: 'denylist', python: ['six'], node: [] }));
    assert.equal(c.code, 'POLICY_REFUSED');
  });

  it('two concurrent requests for the same new set build it once', async () => {
    const before = index.requests.filter((r) => r.startsWith('/simple/cronium-test-d')).length;
    const logs = [collectLog(), collectLog()];
    const [x, y] = await Promise.all(logs.map((l) => prepare(['cronium-test-d'], l.log)));
    x!.release();
    y!.release();
    assert.equal(x!.bundle.key, y!.bundle.key);
    assert.deepEqual([x!.cached, y!.cached].sort(), [false, true]);
    assert.equal(index.requests.filter((r) => r.startsWith('/simple/cronium-test-d')).length - before, 1);
    assert.equal(logs.flatMap((l) => l.lines).filter((l) => /built in/.test(l)).length, 1);
  });

  it('an unreachable index: INDEX_UNREACHABLE, not a traceback', async () => {
    const down = testService({ pipIndexUrl: 'http://127.0.0.1:9/simple', buildSandbox: null });
    try {
      const e = await refusal(down.service.prepare({ language: 'python', runtime: PY, set: packageSet('python', 'six'), policy: ANY }, () => {}));
      assert.equal(e.code, 'INDEX_UNREACHABLE');
      assert.equal(e.message, 'the configured index http://127.0.0.1:9/simple could not be reached (connection refused) while looking up six');
    } finally {
      down.cleanup();
    }
  });
});
