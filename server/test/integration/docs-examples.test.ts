import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkShellCommands, type DocExample, extractExamples, sandboxLanguage } from '../doc-examples.js';
import { logsOf, repoRoot, requireDocker, startTestServer, type TestServer } from '../helpers.js';

/**
 * Every code example of every README runs as written (the convention is in server/test/doc-examples.ts and the
 * README's "Development and tests"): sandbox scripts through the API in real containers, curl examples against a
 * real server, host commands from the repository root. A wrong example fails here; an example that cannot run in a
 * test is marked `norun` and counted below, never skipped silently.
 */
const READMES = ['README.md', 'sdk-node/README.md', 'sdk-python/README.md', 'sdk-bash/README.md', 'runtime-images/README.md', 'deploy/README.md', 'web/README.md'];

/** What the SDK examples read: their input, the secrets they are granted (created with these values), their files. */
const FIXTURES: Record<string, { input?: unknown; secrets?: Record<string, string>; event?: Record<string, string>; files?: { path: string; content: string }[] }> = {
  order: {
    input: { id: 'A-1001', items: [{ price: 12.5 }, { price: 7.5 }], express: true },
    secrets: { SHOP_API_KEY: 'shop-key-for-the-docs' },
  },
  report: {
    input: { items: [{ amount: 700 }, { amount: 450 }] },
    secrets: { REPORT_API_KEY: 'report-key-for-the-docs' },
  },
  cronium: { input: { hello: 'world' }, event: { id: 'evt-1', name: 'nightly', type: 'schedule' } },
  // The SDK READMEs' "CSV in, report out".
  orders: { files: [{ path: 'data/orders.csv', content: 'id,amount\n1,12.50\n2,7.50\n3,22.00\n' }] },
};

const examples: DocExample[] = READMES.flatMap((f) => extractExamples(f, fs.readFileSync(path.join(repoRoot, f), 'utf8')));
const where = (e: DocExample) => `${e.file}:${e.line}`;

const sh = (script: string, env: Record<string, string>, timeoutMs = 120_000) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const pkgScripts = (ws: string | null): Set<string> | null => {
  const file = path.join(repoRoot, ws ?? '.', 'package.json');
  if (!fs.existsSync(file)) return null;
  return new Set(Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {}));
};

describe('the examples in the READMEs run as written', { concurrency: false }, () => {
  let s: TestServer;

  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => {
    await s?.stop();
  });

  it('every fence says what it is, and none is skipped without being counted', (t) => {
    const problems = examples.filter((e) => e.problem).map((e) => `${where(e)}: ${e.problem}`);
    assert.deepEqual(problems, [], 'fences that do not follow the convention');
    const count: Record<string, number> = {};
    for (const e of examples) count[e.kind] = (count[e.kind] ?? 0) + 1;
    t.diagnostic(`docs examples: ${examples.length} fences in ${READMES.length} READMEs: ${Object.entries(count).map(([k, n]) => `${n} ${k}`).join(', ')}`);
    for (const e of examples.filter((x) => x.kind === 'norun')) t.diagnostic(`not run: ${where(e)} (${e.lang})`);
    // A broken extractor must not pass by finding nothing.
    assert.ok((count.sandbox ?? 0) >= 8, `sandbox scripts found: ${count.sandbox ?? 0}`);
    assert.ok((count.api ?? 0) >= 1, 'a curl example against the API');
  });

  for (const e of examples.filter((x) => x.kind === 'sandbox' && !x.problem)) {
    it(`${where(e)}: the ${e.lang} script succeeds in a sandbox`, async () => {
      const name = typeof e.attrs.fixture === 'string' ? e.attrs.fixture : null;
      const fixture = name ? FIXTURES[name] : {};
      assert.ok(fixture, `${where(e)} names the unknown fixture ${name}`);
      for (const [secret, value] of Object.entries(fixture.secrets ?? {})) {
        const put = await s.api('PUT', `/api/v1/secrets/${secret}`, { value });
        assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
      }
      const res = await s.api('POST', '/api/v1/executions', {
        language: sandboxLanguage(e.lang),
        script: e.code,
        wait: true,
        ...(fixture.input !== undefined ? { input: fixture.input } : {}),
        ...(fixture.secrets ? { secrets: Object.keys(fixture.secrets) } : {}),
        ...(fixture.event ? { event: fixture.event } : {}),
        ...(fixture.files ? { files: fixture.files } : {}),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const entries = await logsOf(s.api, res.body.id);
      const log = entries.map((l) => `${l.stream}: ${l.text}`).join('\n');
      assert.equal(res.body.status, 'succeeded', `${where(e)} ended ${res.body.status} (${res.body.error}):\n${log}`);
      // A bash script without `set -e` succeeds whatever its other lines did: an example prints no error either.
      assert.ok(!entries.some((l) => l.stream !== 'stdout'), `${where(e)} wrote to stderr (or the server logged about it):\n${log}`);
    });
  }

  for (const e of examples.filter((x) => x.kind === 'api' && !x.problem)) {
    it(`${where(e)}: the curl example answers without an error`, async () => {
      const script = e.code.replaceAll('http://127.0.0.1:8080', s.url);
      const r = await sh(script, { KEY: s.adminKey });
      assert.equal(r.code, 0, `${where(e)} exited ${r.code}: ${r.stderr}`);
      let answer: any = null;
      try {
        answer = JSON.parse(r.stdout);
      } catch {
        /* not one JSON document */
      }
      assert.ok(!answer?.error, `${where(e)} got an error answer: ${r.stdout}`);
      if (answer?.status) assert.ok(['succeeded', 'queued', 'running'].includes(answer.status), `${where(e)}: ${r.stdout}`);
    });
  }

  for (const e of examples.filter((x) => x.kind === 'host' && !x.problem)) {
    it(`${where(e)}: the host command succeeds`, async () => {
      const r = await sh(e.code, {});
      assert.equal(r.code, 0, `${where(e)} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    });
  }

  it('every JSON block parses', () => {
    for (const e of examples.filter((x) => x.kind === 'json')) {
      assert.doesNotThrow(() => JSON.parse(e.code), `${where(e)} is not JSON; mark an abridged sample "json norun"`);
    }
  });

  it('the commands of the norun shell blocks name npm scripts and files that exist', () => {
    const problems = examples
      .filter((x) => x.kind === 'norun' && x.lang === 'sh')
      .flatMap((e) => checkShellCommands(e.code, { scripts: pkgScripts, exists: (p) => fs.existsSync(path.join(repoRoot, p)) }).map((p) => `${where(e)}: ${p}`));
    assert.deepEqual(problems, []);
  });
});
