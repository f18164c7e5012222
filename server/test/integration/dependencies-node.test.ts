import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BuildStep } from '../../src/dependencies/build-sandbox.js';
import type { PackagePolicy } from '../../src/dependencies/policy.js';
import type { DependencyService } from '../../src/dependencies/service.js';
import { addRealPackages, type PackageIndex, startPackageIndex } from '../fixtures/package-index.js';
import { collectLog, dockerBuildSandbox, NODE, NODE_IMAGE, runWithBundle, testService, packageSet, refusal } from '../dependency-helpers.js';
import { requireDocker } from '../helpers.js';

const ANY: PackagePolicy = { mode: 'any' };

describe('node dependencies: real npm against a local registry, install scripts in a real sandbox', { concurrency: false }, () => {
  let index: PackageIndex;
  let s: ReturnType<typeof testService>;
  let service: DependencyService;
  const steps: BuildStep[] = [];
  const marker = `/tmp/cronium-marker-${crypto.randomBytes(6).toString('hex')}`;
  const prepare = (specs: string[], log = collectLog().log, policy: PackagePolicy = ANY) => service.prepare({ language: 'node', runtime: NODE, set: packageSet('node', ...specs), policy }, log);

  before(async () => {
    await requireDocker();
    index = await startPackageIndex();
    await addRealPackages(index);
    index.addNpm({ name: 'cronium-test-npm-b', version: '1.0.0' });
    index.addNpm({ name: 'cronium-test-npm-b', version: '1.2.0' });
    index.addNpm({ name: 'cronium-test-npm-a', version: '1.0.0', dependencies: { 'cronium-test-npm-b': '^1.0.0' } });
    index.addNpm({ name: '@cronium-test/scoped', version: '2.0.0' });
    // Its postinstall writes a marker at an absolute path that would be on the host if it ran there, and a file
    // in its own directory that shows where it did run.
    index.addNpm({
      name: 'cronium-test-postinstall',
      version: '1.0.0',
      dependencies: { 'cronium-test-npm-b': '^1.0.0' },
      scripts: {
        postinstall: `node -e "require('fs').writeFileSync('${marker}', 'ran'); require('fs').writeFileSync('built.txt', process.getuid() + ' ' + require('os').hostname() + ' ' + require('cronium-test-npm-b').version)"`,
      },
    });
    index.addNpm({ name: 'cronium-test-badscript', version: '1.0.0', scripts: { install: 'echo compiling >&2; exit 3' } });
    s = testService({ npmRegistry: index.npmRegistry, buildSandbox: dockerBuildSandbox(steps) });
    service = s.service;
  });
  after(async () => {
    s?.cleanup();
    await index?.close();
    fs.rmSync(marker, { force: true });
  });

  it('lodash (real) and a package with a dependency: exact versions and integrity in the lock; require() and import both resolve', async () => {
    const { lines, log } = collectLog();
    const b = await prepare(['lodash', 'cronium-test-npm-a@^1', '@cronium-test/scoped'], log);
    try {
      assert.deepEqual(b.installed, [
        { name: '@cronium-test/scoped', version: '2.0.0' },
        { name: 'cronium-test-npm-a', version: '1.0.0' },
        { name: 'cronium-test-npm-b', version: '1.2.0' },
        { name: 'lodash', version: '4.17.21' },
      ]);
      assert.equal(b.bundle.mountPath, '/work/node_modules');
      assert.match(path.basename(b.bundle.hostPath), /^node_modules$/);
      assert.ok(lines.some((l) => /^\[cronium\] installing 4 packages: /.test(l)), lines.join('\n'));
      const lock = JSON.parse(fs.readFileSync(path.join(b.bundle.hostPath, '..', '..', 'lock.json'), 'utf8'));
      assert.equal(lock.packages.find((p: { name: string }) => p.name === 'lodash').hash, 'sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==');
      // A script at /work/main.mjs (ESM) and /work/main.cjs (CommonJS), as the engine writes them; the SDK at /node_modules stays reachable.
      const esm = `import _ from 'lodash'; import a from 'cronium-test-npm-a'; import s from '@cronium-test/scoped'; import { createRequire } from 'node:module'; console.log(_.VERSION, a.version, s.version, createRequire(import.meta.url).resolve('cronium'));`;
      const cjs = `console.log(require('lodash').VERSION, require('cronium-test-npm-b').version);`;
      const r = runWithBundle(NODE_IMAGE, b.bundle, ['sh', '-c', `printf '%s' "$ESM" > /work/main.mjs && printf '%s' "$CJS" > /work/main.cjs && node /work/main.mjs && node /work/main.cjs`], ['-e', `ESM=${esm}`, '-e', `CJS=${cjs}`]);
      assert.equal(r.status, 0, r.stderr);
      const [first, second] = r.stdout.trim().split('\n');
      assert.match(first!, /^4\.17\.21 1\.0\.0 2\.0\.0 \/node_modules\/(cronium|@cronium\/sdk)\//);
      assert.equal(second, '4.17.21 1.2.0');
      const again = await prepare(['@cronium-test/scoped', 'cronium-test-npm-a@^1', 'lodash']);
      again.release();
      assert.equal(again.cached, true);
      assert.equal(again.bundle.key, b.bundle.key);
    } finally {
      b.release();
    }
  });

  it("a package whose postinstall tries to run: it runs only in the sandbox, and leaves no marker on the host", async () => {
    const before = steps.length;
    const { lines, log } = collectLog();
    const b = await prepare(['cronium-test-postinstall'], log);
    try {
      assert.equal(fs.existsSync(marker), false, `the install script ran on the host: ${marker} exists`);
      const ran = steps.slice(before);
      assert.equal(ran.length, 1);
      assert.deepEqual(ran[0]!.egressAllow, [new URL(index.npmRegistry).host]);
      const built = fs.readFileSync(path.join(b.bundle.hostPath, 'cronium-test-postinstall', 'built.txt'), 'utf8').split(' ');
      assert.equal(built[0], '10001', 'the script ran as the sandbox user');
      assert.equal(built[2], '1.2.0', 'its dependency was installed before it ran');
      assert.ok(lines.some((l) => l === '[cronium] running the install script of cronium-test-postinstall@1.0.0 in a sandbox'), lines.join('\n'));
      // The files the sandbox wrote belong to the server again, read-only.
      const st = fs.statSync(path.join(b.bundle.hostPath, 'cronium-test-postinstall', 'built.txt'));
      assert.notEqual(st.uid, 10001);
      assert.equal(st.mode & 0o222, 0);
    } finally {
      b.release();
    }
  });

  it('a failing install script: INSTALL_SCRIPT_FAILED naming the package', async () => {
    const e = await refusal(prepare(['cronium-test-badscript']));
    assert.equal(e.code, 'INSTALL_SCRIPT_FAILED');
    assert.equal(e.pkg, 'cronium-test-badscript');
    assert.equal(e.message, 'the install script of cronium-test-badscript@1.0.0 failed: it exited with status 3: compiling');
  });

  it('the bundle is read-only inside the sandbox', async () => {
    const b = await prepare(['cronium-test-npm-a']);
    try {
      const r = runWithBundle(NODE_IMAGE, b.bundle, ['sh', '-c', 'echo x > /work/node_modules/cronium-test-npm-a/index.js; mkdir /work/node_modules/x; echo done']);
      assert.equal((r.stderr.match(/Read-only file system/g) ?? []).length, 2, r.stderr);
    } finally {
      b.release();
    }
  });

  it('a package that does not exist, and a range nothing matches: named errors', async () => {
    const e = await refusal(prepare(['cronium-test-npm-nope']));
    assert.equal(e.code, 'PACKAGE_NOT_FOUND');
    assert.equal(e.message, `cronium-test-npm-nope was not found on the configured registry ${index.npmRegistry}`);
    const v = await refusal(prepare(['cronium-test-npm-b@^7']));
    assert.equal(v.code, 'NO_MATCHING_VERSION');
    assert.equal(v.pkg, 'cronium-test-npm-b');
    assert.match(v.message, /^cronium-test-npm-b: no published version matches cronium-test-npm-b@\^7/);
  });

  it('the policy refuses a transitive package before any tarball is fetched', async () => {
    const before = index.requests.length;
    const e = await refusal(prepare(['cronium-test-npm-a'], undefined, { mode: 'allowlist', python: [], node: ['cronium-test-npm-a', 'lodash'] }));
    assert.equal(e.code, 'POLICY_REFUSED');
    assert.equal(e.message, "refused by the package policy: cronium-test-npm-b (a dependency of cronium-test-npm-a) is not on the admin's node package allowlist");
    // (cached resolution: nothing asked at all); a fresh one asks for metadata only, never a tarball.
    assert.ok(!index.requests.slice(before).some((r) => r.startsWith('/npm/-/')), index.requests.slice(before).join(' '));
    const fresh = await refusal(prepare(['cronium-test-postinstall@1.0.0'], undefined, { mode: 'denylist', python: [], node: ['cronium-test-npm-b'] }));
    assert.equal(fresh.code, 'POLICY_REFUSED');
    assert.ok(!index.requests.slice(before).some((r) => r.startsWith('/npm/-/')), index.requests.slice(before).join(' '));
  });
});
