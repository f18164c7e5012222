import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { driverEnv, logsOf, repoRoot, requireDocker, requireRunc, run, startTestServer, stdoutOf, type TestServer } from '../helpers.js';

/** versions.env, the pins the images are built from. */
const pins = Object.fromEntries(
  fs
    .readFileSync(path.join(repoRoot, 'runtime-images/versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_a-z0-9]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/** One SDK round trip per runtime (input → output, a variable, the interpreter's version): each version once. */
const sdkScript = {
  python: `
import platform, requests, cronium
n = cronium.get_input()["n"]
cronium.set_variable("rt_python_" + platform.python_version().replace(".", "_"), n)
cronium.set_output({"doubled": n * 2, "version": platform.python_version(), "requests": requests.__version__})
`,
  // Node: the ESM spelling (import, top-level await) …
  nodeEsm: `
import cronium from "cronium";
const { n } = await cronium.getInput();
await cronium.setOutput({ doubled: n * 2, version: process.versions.node, esm: true });
`,
  // … and CommonJS (require) run in each Node version.
  nodeCjs: `
const cronium = require("cronium");
(async () => {
  const { n } = await cronium.getInput();
  const r = await fetch("http://refused.invalid/").then(() => "fetched", (e) => String(e && e.message));
  await cronium.setOutput({ doubled: n * 2, version: process.versions.node, esm: false, fetch: r });
})();
`,
} as const;

describe('runtimes: GET /api/v1/runtimes, choosing one, each version running the SDK', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => s?.stop());

  it('lists every runtime with its exact version, image, default and contents (read from the images)', async () => {
    const r = await s.api('GET', '/api/v1/runtimes');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const byId = Object.fromEntries(r.body.items.map((x: { id: string }) => [x.id, x]));
    assert.deepEqual(Object.keys(byId).sort(), pins.RUNTIMES!.split(' ').sort(), 'the runtimes of versions.env');
    for (const lang of ['bash', 'python', 'node']) {
      const defaults = r.body.items.filter((x: { language: string; default: boolean }) => x.language === lang && x.default);
      assert.deepEqual(defaults.map((x: { id: string }) => x.id), [`${lang}@${pins[`DEFAULT_${lang}`]}`], `one default for ${lang}`);
    }
    assert.equal(byId['node@24'].version, pins.NODE_24_VERSION);
    assert.equal(byId['node@22'].version, pins.NODE_22_VERSION);
    assert.match(byId['python@3.13'].version, /^3\.13\.\d+$/);
    assert.match(byId['python@3.11'].version, /^3\.11\.\d+$/);
    assert.equal(byId['node@24'].image, 'cronium/runtime-node:latest', 'the default keeps the :latest image (CRONIUM_IMAGE_NODE)');
    assert.equal(byId['node@22'].image, 'cronium/runtime-node:22');
    const names = (id: string) => byId[id].contents.map((c: { name: string }) => c.name);
    for (const id of Object.keys(byId)) for (const p of ['bash', 'curl', 'jq', 'ca-certificates']) assert.ok(names(id).includes(p), `${id} lists ${p}`);
    for (const id of ['python@3.11', 'python@3.13']) for (const p of ['requests', 'python3-requests', 'cronium (SDK)']) assert.ok(names(id).includes(p), `${id} lists ${p}`);
    for (const id of ['node@22', 'node@24']) assert.ok(names(id).includes('@cronium/sdk'), `${id} lists the SDK`);
    const md = fs.readFileSync(path.join(repoRoot, 'runtime-images/CONTENTS.md'), 'utf8');
    for (const x of r.body.items) {
      assert.ok(md.includes(`| \`${x.id}\` | \`cronium/runtime-${x.language}:${x.id.split('@')[1]}\` | ${x.language} `), `CONTENTS.md lists ${x.id}`);
      for (const n of names(x.id)) assert.ok(md.includes(`| ${n} |`), `CONTENTS.md lists ${n} for ${x.id} (regenerate it: npm run images)`);
    }
  });

  for (const version of ['3.11', '3.13']) {
    it(`python@${version}: the SDK works and the execution records its runtime and image`, async () => {
      const e = await run(s.api, { language: 'python', runtime: `python@${version}`, script: sdkScript.python, input: { n: 21 } });
      assert.equal(e.status, 'succeeded', JSON.stringify(e) + JSON.stringify(await logsOf(s.api, e.id)));
      assert.equal(e.output.doubled, 42);
      assert.ok(e.output.version.startsWith(`${version}.`), e.output.version);
      assert.equal(e.runtime, `python@${version}`);
      assert.equal(e.image, version === pins.DEFAULT_python ? 'cronium/runtime-python:latest' : `cronium/runtime-python:${version}`);
      assert.deepEqual(Object.keys(e.variables), [`rt_python_${e.output.version.replaceAll('.', '_')}`]);
    });
  }

  for (const major of ['22', '24']) {
    it(`node@${major}: the SDK works as ESM and as CommonJS, and fetch() goes through the egress proxy`, async () => {
      const esm = await run(s.api, { language: 'node', runtime: `node@${major}`, script: sdkScript.nodeEsm, input: { n: 2 } });
      assert.equal(esm.status, 'succeeded', JSON.stringify(esm) + stdoutOf(await logsOf(s.api, esm.id)));
      assert.deepEqual(esm.output, { doubled: 4, version: pins[`NODE_${major}_VERSION`], esm: true });
      const cjs = await run(s.api, { language: 'node', runtime: `node@${major}`, script: sdkScript.nodeCjs, input: { n: 3 } });
      assert.equal(cjs.status, 'succeeded', JSON.stringify(cjs) + JSON.stringify(await logsOf(s.api, cjs.id)));
      assert.equal(cjs.output.version, pins[`NODE_${major}_VERSION`]);
      assert.equal(cjs.output.esm, false);
      assert.match(cjs.output.fetch, /egress refused refused\.invalid:80/, 'the preload routes fetch() through the proxy and explains its refusal');
      assert.equal(cjs.runtime, `node@${major}`);
    });
  }

  it('without runtime, a request runs in its language default, and records it', async () => {
    const e = await run(s.api, { language: 'bash', script: 'echo "$BASH_VERSION"' });
    assert.equal(e.status, 'succeeded');
    assert.equal(e.runtime, `bash@${pins.DEFAULT_bash}`);
    assert.equal(e.image, 'cronium/runtime-bash:latest');
    const p = await run(s.api, { language: 'python', script: 'import platform; print(platform.python_version())' });
    assert.equal(p.runtime, `python@${pins.DEFAULT_python}`);
    assert.ok(stdoutOf(await logsOf(s.api, p.id)).startsWith(`${pins.DEFAULT_python}.`));
    const listed = await s.api('GET', `/api/v1/executions/${p.id}`);
    assert.equal(listed.body.runtime, `python@${pins.DEFAULT_python}`);
  });

  it('refuses an unknown runtime, or one of another language, with 400 naming runtime', async () => {
    const unknown = await s.api('POST', '/api/v1/executions', { language: 'python', runtime: 'python@2.7', script: 'print(1)' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.field, 'runtime');
    assert.match(unknown.body.error.message, /unknown runtime "python@2\.7".*python@3\.11.*python@3\.13.*node@24/);
    const other = await s.api('POST', '/api/v1/executions', { language: 'python', runtime: 'node@24', script: 'print(1)' });
    assert.equal(other.status, 400);
    assert.equal(other.body.error.field, 'runtime');
    assert.match(other.body.error.message, /node runtime, but language is "python"/);
    const wrongType = await s.api('POST', '/api/v1/executions', { language: 'python', runtime: 313, script: 'print(1)' });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.field, 'runtime');
  });
});

describe('runtimes on the runc driver (crun)', () => {
  let s: TestServer | undefined;
  after(async () => s?.stop());

  it('runs a non-default runtime (node@22) and a default one (python) with the SDK under crun', async (t) => {
    if (!requireRunc(t, 'crun')) return;
    s = await startTestServer({ ...driverEnv('crun'), CRONIUM_POOL_SIZE: '0' });
    const node = await run(s.api, { language: 'node', runtime: 'node@22', script: sdkScript.nodeEsm, input: { n: 5 } });
    assert.equal(node.status, 'succeeded', JSON.stringify(node));
    assert.deepEqual(node.output, { doubled: 10, version: pins.NODE_22_VERSION, esm: true });
    const py = await run(s.api, { language: 'python', runtime: 'python@3.11', script: sdkScript.python, input: { n: 1 } });
    assert.equal(py.status, 'succeeded', JSON.stringify(py));
    assert.ok(py.output.version.startsWith('3.11.'));
  });
});
