import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { logsOf, requireDocker, run, startTestServer, stdoutOf, type TestServer } from '../helpers.js';

const tag = `cronium-test/custom-${crypto.randomBytes(4).toString('hex')}`;

/** docker build of a Dockerfile (classic builder: no registry, FROM local images only). */
function build(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-image-'));
  try {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    execFileSync('docker', ['build', '-q', '-t', `${tag}:${name}`, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    return `${tag}:${name}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The privilege checks of engine-isolation.test.ts, run from Python through bash in the custom image. */
const hardeningProbe = `
import subprocess, cronium, acme_helpers
print(acme_helpers.greet("custom"))
print(subprocess.run(["bash", "-c", """
id -u; id -g
grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status
touch /evil 2>/dev/null && echo ROOT_WRITABLE || echo ROOT_DENIED
touch /usr/lib/python3/dist-packages/evil 2>/dev/null && echo USR_WRITABLE || echo USR_DENIED
echo x > /work/ok && echo WORK_OK
"""], capture_output=True, text=True).stdout)
cronium.set_output({"n": cronium.get_input()["n"] + 1})
`;

describe('custom images: registration check, hardening, refusals', { concurrency: false }, () => {
  let s: TestServer;
  const images: Record<string, string> = {};
  before(async () => {
    await requireDocker();
    images.good = build(
      'good',
      'FROM cronium/runtime-python:latest\nUSER 0:0\nCOPY acme_helpers.py /usr/lib/python3/dist-packages/acme_helpers.py\nUSER 10001:10001\n',
      { 'acme_helpers.py': 'def greet(who):\n    return f"hello from the {who} image"\n' },
    );
    images.noLauncher = build('no-launcher', 'FROM cronium/debian:bookworm\nRUN true\n');
    images.root = build('root', 'FROM cronium/runtime-python:latest\nUSER 0:0\n');
    images.noPython = build('no-python', 'FROM cronium/runtime-base:latest\nLABEL x=y\n');
    s = await startTestServer();
  });
  after(async () => {
    await s?.stop();
    for (const i of Object.values(images)) execFileSync('docker', ['rmi', '-f', i], { stdio: 'ignore' });
  });

  it('registers a good image after its check, lists it, and runs it with the same hardening', async () => {
    const reg = await s.api('POST', '/api/v1/images', { name: 'acme-python', language: 'python', image: images.good });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    assert.equal(reg.body.name, 'acme-python');
    assert.match(reg.body.version, /^3\.13\./);
    assert.ok(reg.body.contents.some((c: { name: string }) => c.name === 'requests'), 'contents found by the check');
    assert.match(reg.body.imageId, /^sha256:/);

    const listed = await s.api('GET', '/api/v1/images');
    assert.deepEqual(listed.body.items.map((i: { name: string }) => i.name), ['acme-python']);
    const runtimes = await s.api('GET', '/api/v1/runtimes');
    const entry = runtimes.body.items.find((r: { id: string }) => r.id === 'image:acme-python');
    assert.ok(entry && entry.language === 'python' && entry.default === false && entry.image === images.good, JSON.stringify(entry));

    // The registration check's sandbox taught the pool the image's key (warm-pool.ts, learnt keys): runs of it
    // may start warm, in a sandbox started from the checked image with the same spec. Both kinds are probed.
    const runs = [];
    for (let i = 0; i < 8 && !runs.some((r) => r.e.pooled); i++) {
      const e = await run(s.api, { language: 'python', image: 'acme-python', script: hardeningProbe, input: { n: 41 } });
      runs.push({ e, out: stdoutOf(await logsOf(s.api, e.id)) });
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(runs.some((r) => r.e.pooled), 'a custom image is pooled once the pool has learnt it');
    for (const { e, out } of runs) assertHardened(e, out, reg.body.imageId);
  });

  function assertHardened(e: any, out: string, imageId: string) {
    assert.equal(e.status, 'succeeded', JSON.stringify(e) + out);
    assert.deepEqual(e.output, { n: 42 }, 'the SDK works in the custom image');
    assert.equal(e.runtime, 'image:acme-python');
    assert.equal(e.image, imageId, 'runs the very image the check ran');
    const lines = out.split('\n');
    assert.equal(lines[0], 'hello from the custom image');
    assert.equal(lines[1], '10001');
    assert.equal(lines[2], '10001');
    assert.match(out, /CapEff:\s+0000000000000000/);
    assert.match(out, /CapPrm:\s+0000000000000000/);
    assert.match(out, /CapBnd:\s+0000000000000000/);
    assert.match(out, /NoNewPrivs:\s+1/);
    assert.match(out, /Seccomp:\s+2/);
    assert.match(out, /ROOT_DENIED/);
    assert.match(out, /USR_DENIED/);
    assert.match(out, /WORK_OK/);
  }

  it('refuses, naming image and the reason, images that cannot run the launcher', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['no-launcher', images.noLauncher!, 422, /entrypoint is \[\], not \["\/usr\/local\/bin\/cronium-launch"\]/],
      ['root', images.root!, 422, /runs as user "0:0", not 10001:10001/],
      ['no-python', images.noPython!, 422, /python3 is not installed/],
      ['missing', `${tag}:never-built`, 400, /is not in the local Docker engine/],
    ];
    for (const [name, image, status, why] of cases) {
      const r = await s.api('POST', '/api/v1/images', { name, language: 'python', image });
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.field, 'image', name);
      assert.match(r.body.error.message, why, name);
    }
    const names = (await s.api('GET', '/api/v1/images')).body.items.map((i: { name: string }) => i.name);
    assert.deepEqual(names, ['acme-python'], 'none of them was registered');
  });

  it('refuses an unregistered image, a language mismatch and runtime+image with 400 naming image', async () => {
    const unknown = await s.api('POST', '/api/v1/executions', { language: 'python', image: 'nope', script: 'print(1)' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.field, 'image');
    assert.match(unknown.body.error.message, /unknown image "nope"; registered images: acme-python/);
    const mismatch = await s.api('POST', '/api/v1/executions', { language: 'node', image: 'acme-python', script: '1' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.error.field, 'image');
    const both = await s.api('POST', '/api/v1/executions', { language: 'python', image: 'acme-python', runtime: 'python@3.13', script: '1' });
    assert.equal(both.status, 400);
    assert.equal(both.body.error.field, 'image');
  });

  it('lets only admins register and remove images; a duplicate name is 409', async () => {
    const user = await s.api('POST', '/api/v1/users', { name: `u-${crypto.randomBytes(3).toString('hex')}`, role: 'user' });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const issued = await s.api('POST', `/api/v1/users/${user.body.id}/keys`, { name: 'images' });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const key = issued.body.key as string;
    const asUser = await s.api('POST', '/api/v1/images', { name: 'mine', language: 'python', image: images.good }, key);
    assert.equal(asUser.status, 403, JSON.stringify(asUser.body));
    assert.equal((await s.api('DELETE', '/api/v1/images/acme-python', undefined, key)).status, 403);
    const dup = await s.api('POST', '/api/v1/images', { name: 'acme-python', language: 'python', image: images.good });
    assert.equal(dup.status, 409);
    assert.equal((await s.api('DELETE', '/api/v1/images/acme-python')).status, 204);
    assert.equal((await s.api('DELETE', '/api/v1/images/acme-python')).status, 404);
    const gone = await s.api('POST', '/api/v1/executions', { language: 'python', image: 'acme-python', script: 'print(1)' });
    assert.equal(gone.status, 400);
  });
});
