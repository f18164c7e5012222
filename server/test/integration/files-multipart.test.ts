import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { file, idleRss, json, type Part, peakRssDuring as peakRssOf, randomBody, sendForm } from '../upload-helpers.js';
import { apiFor, freshPostgres, logsOf, requireDocker, spawnServer, startTestServer, stdoutOf, testEnv, until, type Api, type TestServer } from '../helpers.js';

/**
 * POST /api/v1/executions as multipart/form-data (issue 26): the request in the field `request`, each file part
 * under its path. Real servers on real PostgreSQL, real sandboxes; the big upload's memory is measured on a server
 * process of its own, from /proc.
 */

const MiB = 1024 * 1024;

/** What the file store and the execution_files table hold: after a refusal, no more than before. */
async function storeState(dataDir: string, db: pg.Client) {
  const root = path.join(dataDir, 'files');
  const entries = fs.existsSync(root) ? fs.readdirSync(root, { recursive: true }).map(String).sort() : [];
  const rows = Number((await db.query('select count(*)::int as n from execution_files')).rows[0].n);
  return { entries, rows };
}

describe('multipart files in: a 50 MiB file streamed through a server of its own', { timeout: 300_000 }, () => {
  let proc: ChildProcess | undefined;
  let api: Api;
  let url: string;
  let key: string;
  let dataDir: string;
  let db: pg.Client;

  before(async () => {
    await requireDocker();
    const dbUrl = (await freshPostgres())!;
    // /work keeps 64 MiB free and may grow to 140: the files of one request may take up to 76 MiB in all.
    const env = testEnv({ DATABASE_URL: dbUrl, CRONIUM_POOL_SIZE: '0', CRONIUM_MAX_TMPFS_MB: '140' });
    key = env.CRONIUM_ADMIN_KEY!;
    dataDir = env.CRONIUM_DATA_DIR!;
    const started = await spawnServer(env);
    proc = started.proc;
    url = started.url;
    api = apiFor(url, key);
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });

  const peakRssDuring = <T>(fn: () => Promise<T>) => peakRssOf(proc!.pid!, fn);

  let baseline = 0;
  it('idle baseline: after a small multipart execution has run (code loaded, caches warm)', async () => {
    const warm = await sendForm(url, key, [json({ language: 'bash', script: 'cat a.txt', wait: true }), file('a.txt', 'warm')]);
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
    assert.equal(warm.body.status, 'succeeded');
    const idle = await idleRss(proc!.pid!);
    baseline = idle.median;
    console.log(`# idle RSS: ${(baseline / MiB).toFixed(1)} MiB (median of 20 samples, ${(idle.min / MiB).toFixed(1)}–${(idle.max / MiB).toFixed(1)})`);
  });

  it('a 50 MiB binary part and a text part, beside a JSON file: the script sees them all, the server stays within 64 MiB of its idle RSS', async () => {
    const big = randomBody(50 * MiB);
    const script = [
      'set -e',
      'echo "sha=$(sha256sum data/big.bin | cut -d" " -f1)"',
      'echo "size=$(stat -c %s data/big.bin)"',
      'echo "notes=$(cat notes/é.txt)"',
      'echo "json=$(cat from-json.txt)"',
      'echo "stat=$(stat -c "%u:%g %a" data/big.bin) $(stat -c %a notes)"',
    ].join('\n');
    // Measured in two phases: the upload (answered 202 once every part is stored), then the run, whose files the
    // server streams from its store into the sandbox.
    const upload = await peakRssDuring(() =>
      sendForm(url, key, [
        json({ language: 'bash', script, files: [{ path: 'from-json.txt', content: 'inline' }] }),
        file('data/big.bin', big.body),
        { ...file('notes/é.txt', 'hello from a part'), type: 'text/plain' },
      ]),
    );
    assert.equal(upload.result.status, 202, JSON.stringify(upload.result.body));
    const id = upload.result.body.id as string;
    const run = await peakRssDuring(() => until(async () => ((await api('GET', `/api/v1/executions/${id}`)).body.finishedAt ? true : null), 120_000, 50));
    const ex = (await api('GET', `/api/v1/executions/${id}`)).body;
    const out = stdoutOf(await logsOf(api, id));
    assert.equal(ex.status, 'succeeded', out);
    assert.match(out, new RegExp(`^sha=${big.sha256()}$`, 'm'));
    assert.match(out, new RegExp(`^size=${50 * MiB}$`, 'm'));
    assert.match(out, /^notes=hello from a part$/m);
    assert.match(out, /^json=inline$/m);
    assert.match(out, /^stat=10001:10001 644 755$/m);
    for (const [phase, m] of [['upload', upload], ['run', run]] as const) {
      const grew = m.peak - baseline;
      console.log(`# 50 MiB ${phase}: peak RSS ${(m.peak / MiB).toFixed(1)} MiB, ${(grew / MiB).toFixed(1)} MiB above idle (${m.samples} samples)`);
      assert.ok(grew <= 64 * MiB, `${phase}: RSS grew by ${(grew / MiB).toFixed(1)} MiB (peak ${(m.peak / MiB).toFixed(1)}, idle ${(baseline / MiB).toFixed(1)})`);
    }
    const rows = await db.query('select name, size, mode from execution_files where execution_id = $1 order by position', [id]);
    assert.deepEqual(
      rows.rows.map((r) => [r.name, Number(r.size), r.mode]),
      [
        ['from-json.txt', 6, 0o644],
        ['data/big.bin', 50 * MiB, 0o644],
        ['notes/é.txt', 17, 0o644],
      ],
    );
  });

  it('a part over CRONIUM_MAX_FILE_BYTES (64 MiB): 413 naming it, and what the request stored before it is gone', async () => {
    const before = await storeState(dataDir, db);
    const { result, peak } = await peakRssDuring(() =>
      sendForm(url, key, [
        json({ language: 'bash', script: 'true', files: [{ path: 'inline.txt', content: 'x' }] }),
        file('first.bin', randomBody(2 * MiB).body),
        file('huge.bin', randomBody(64 * MiB + 1).body),
      ]),
    );
    assert.equal(result.status, 413, JSON.stringify(result.body));
    assert.equal(result.body.error.field, 'huge.bin');
    assert.match(result.body.error.message, /per file/);
    assert.deepEqual(await storeState(dataDir, db), before);
    console.log(`# 413 after 66 MiB: peak RSS ${(peak / MiB).toFixed(1)} MiB, ${((peak - baseline) / MiB).toFixed(1)} MiB above idle`);
    assert.ok(peak - baseline <= 64 * MiB, `RSS grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`);
  });

  it("files that do not fit /work (2 × 40 MiB, with room for 76): 413 naming the part that crossed, nothing left", async () => {
    const before = await storeState(dataDir, db);
    const r = await sendForm(url, key, [json({ language: 'bash', script: 'true' }), file('one.bin', randomBody(40 * MiB).body), file('two.bin', randomBody(40 * MiB).body)]);
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.equal(r.body.error.field, 'two.bin');
    assert.match(r.body.error.message, /do not fit the sandbox's \/work/);
    assert.deepEqual(await storeState(dataDir, db), before);
  });

  it('a client that goes away half way through a part leaves nothing behind', async () => {
    const before = await storeState(dataDir, db);
    const r = await sendForm(url, key, [json({ language: 'bash', script: 'true' }), file('cut.bin', randomBody(30 * MiB).body)], { abortAfter: 10 * MiB });
    assert.equal(r.status, 0);
    await until(async () => JSON.stringify(await storeState(dataDir, db)) === JSON.stringify(before), 10_000);
    // And the server still serves.
    assert.equal((await api('GET', '/health')).status, 200);
  });

  it('a JSON request whose inline files exceed the server-wide body limit (3 MiB of base64) is taken: the route keeps its own limit', async () => {
    const bytes = crypto.randomBytes(3 * MiB);
    const r = await api('POST', '/api/v1/executions', {
      language: 'bash',
      wait: true,
      script: 'sha256sum blob.bin | cut -d" " -f1',
      files: [{ path: 'blob.bin', content: bytes.toString('base64'), encoding: 'base64' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(stdoutOf(await logsOf(api, r.body.id)), crypto.createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('multipart files in: bad requests', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let db: pg.Client;
  before(async () => {
    await requireDocker();
    const dbUrl = (await freshPostgres())!;
    srv = await startTestServer({ DATABASE_URL: dbUrl, CRONIUM_POOL_SIZE: '0', CRONIUM_MAX_FILE_BYTES: '1000', CRONIUM_MAX_FILES_BYTES: '1500' });
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await srv?.stop();
  });

  const req = json({ language: 'bash', script: 'true' });
  const withJsonFile = (p: string) => json({ language: 'bash', script: 'true', files: [{ path: p, content: 'x' }] });
  const cases: [string, Part[], number, string][] = [
    ['no request field', [file('a', 'x')], 400, 'request'],
    ['an empty form', [], 400, 'request'],
    ['request after a file', [file('a', 'x'), req], 400, 'request'],
    ['request not JSON', [{ name: 'request', body: '{"language":' }], 400, 'request'],
    ['request sent as application/json but not JSON', [{ name: 'request', type: 'application/json', body: 'nope' }], 400, 'request'],
    ['request given twice', [req, req], 400, 'request'],
    ['request failing the schema', [json({ language: 'cobol', script: 'x' }), file('a', 'x')], 400, 'language'],
    ['request with an unknown key', [json({ language: 'bash', script: 'x', modes: {} }), file('a', 'x')], 400, 'modes'],
    ['an unknown plain field', [req, { name: 'note', body: 'hello' }], 400, 'note'],
    ['an unknown field after a file', [req, file('a', 'x'), { name: 'note', body: 'hello' }], 400, 'note'],
    ['an absolute path', [req, file('/etc/x', 'x')], 400, '/etc/x'],
    ['dot-dot', [req, file('a/../../x', 'x')], 400, 'a/../../x'],
    ['a backslash', [req, file('a\\b', 'x')], 400, 'a\\b'],
    ['a NUL', [req, file('a\u0000b', 'x')], 400, 'a\u0000b'],
    ["the script's own file", [req, file('main.sh', 'x')], 400, 'main.sh'],
    ['two parts, one path', [req, file('a', 'x'), file('a', 'y')], 400, 'a'],
    ['a part with the path of a JSON file', [withJsonFile('data/a.csv'), file('data/a.csv', 'y')], 400, 'data/a.csv'],
    ['a part under a JSON file', [withJsonFile('data'), file('data/a.csv', 'y')], 400, 'data/a.csv'],
    ['a bad JSON file, before any part is read', [json({ language: 'bash', script: 'x', files: [{ path: '../x', content: '' }] }), file('a', 'x')], 400, 'files.0.path'],
    ['a part over CRONIUM_MAX_FILE_BYTES', [req, file('small', 'x'), file('big', Buffer.alloc(1001))], 413, 'big'],
    ['parts together over CRONIUM_MAX_FILES_BYTES', [req, file('a', Buffer.alloc(1000)), file('b', Buffer.alloc(600))], 413, 'b'],
    ['a JSON file and a part together over CRONIUM_MAX_FILES_BYTES', [json({ language: 'bash', script: 'x', files: [{ path: 'j', content: 'x'.repeat(1000) }] }), file('b', Buffer.alloc(501))], 413, 'b'],
  ];
  for (const [name, parts, status, field] of cases) {
    it(`${name}: ${status} naming ${JSON.stringify(field)}, nothing stored`, async () => {
      const before = await storeState(srv.dataDir, db);
      const r = await sendForm(srv.url, srv.adminKey, parts);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.field, field, JSON.stringify(r.body));
      assert.deepEqual(await storeState(srv.dataDir, db), before);
    });
  }

  it('a body that is not multipart at all, or cut short: 400 naming body', async () => {
    for (const [contentType, data] of [
      ['multipart/form-data', 'garbage'],
      ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="request"\r\n\r\n{"language":'],
    ]) {
      const r = await fetch(`${srv.url}/api/v1/executions`, { method: 'POST', headers: { authorization: `Bearer ${srv.adminKey}`, 'content-type': contentType! }, body: data });
      assert.equal(r.status, 400, contentType);
      assert.equal(((await r.json()) as any).error.field, 'body', contentType);
    }
  });

  it('a well-formed request with files in both forms runs; the OpenAPI document describes the form; other routes still refuse one (415)', async () => {
    const r = await sendForm(srv.url, srv.adminKey, [
      json({ language: 'bash', script: 'cat j.txt p.txt; echo; stat -c %a p.txt', wait: true, files: [{ path: 'j.txt', content: 'J' }] }),
      file('p.txt', 'P'),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'succeeded');
    assert.equal(stdoutOf(await logsOf(srv.api, r.body.id)), 'JP\n644');
    const doc = (await (await fetch(`${srv.url}/api/v1/openapi.json`)).json()) as any;
    const form = doc.paths['/api/v1/executions'].post.requestBody.content['multipart/form-data'];
    assert.deepEqual(form.schema.required, ['request']);
    const ref = form.schema.properties.request.$ref as string;
    assert.ok(doc.components.schemas[ref.replace('#/components/schemas/', '')], `${ref} is a component`);
    const other = await fetch(`${srv.url}/api/v1/variables/x`, { method: 'PUT', headers: { authorization: `Bearer ${srv.adminKey}` }, body: new FormData() });
    assert.equal(other.status, 415);
  });
});
