import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { driverEnv, logsOf, requireDocker, run, startTestServer, stdoutOf, testDrivers, type TestServer } from '../helpers.js';

/** Files in /work and stdin (issue 26): what each language sees, on each driver, cold and pooled. */
const bin = crypto.randomBytes(70_000);
bin[0] = 0; // a NUL first, and every byte value somewhere
const binSha = crypto.createHash('sha256').update(bin).digest('hex');
const csv = 'id,amount\n1,10\n2,32\n';
const stdin = 'line one\nline two é\n';

const files = [
  { path: 'data/orders.csv', content: csv },
  { path: 'blob.bin', content: bin.toString('base64'), encoding: 'base64' },
  { path: 'tools/run.sh', content: 'echo ran\n', mode: '0755' },
];

const scripts = {
  bash: `
sum=0; while IFS=, read -r id amount; do [[ $id == id ]] || sum=$((sum + amount)); done < data/orders.csv
echo "sum=$sum"
echo "sha=$(sha256sum blob.bin | cut -d' ' -f1)"
echo "stat=$(stat -c '%u:%g %a' data/orders.csv) $(stat -c '%a' tools/run.sh) $(stat -c '%a' data)"
echo "run=$(bash tools/run.sh)"
echo "stdin=$(cat | base64 -w0)"
`,
  python: `
import csv, hashlib, os, sys, base64
rows = list(csv.DictReader(open("data/orders.csv")))
print("sum=%d" % sum(int(r["amount"]) for r in rows))
print("sha=" + hashlib.sha256(open("blob.bin", "rb").read()).hexdigest())
st = os.stat("data/orders.csv")
print("stat=%d:%d %o %o %o" % (st.st_uid, st.st_gid, st.st_mode & 0o777, os.stat("tools/run.sh").st_mode & 0o777, os.stat("data").st_mode & 0o777))
print("stdin=" + base64.b64encode(sys.stdin.buffer.read()).decode())
`,
  node: `
const fs = require("fs"), crypto = require("crypto");
const rows = fs.readFileSync("data/orders.csv", "utf8").trim().split("\\n").slice(1);
console.log("sum=" + rows.reduce((n, r) => n + Number(r.split(",")[1]), 0));
console.log("sha=" + crypto.createHash("sha256").update(fs.readFileSync("blob.bin")).digest("hex"));
const st = fs.statSync("data/orders.csv"), o = (m) => (m & 0o777).toString(8);
console.log("stat=" + st.uid + ":" + st.gid + " " + o(st.mode) + " " + o(fs.statSync("tools/run.sh").mode) + " " + o(fs.statSync("data").mode));
console.log("stdin=" + fs.readFileSync(0).toString("base64"));
`,
};

for (const driver of testDrivers()) {
  describe(`files in and stdin (${driver})`, { timeout: 240_000 }, () => {
    let srv: TestServer;
    before(async () => {
      await requireDocker();
      // A pool of one per language: a job with stdin must start a fresh interpreter, one without takes the pooled one.
      srv = await startTestServer({ ...driverEnv(driver), CRONIUM_POOL_SIZE: '1' });
    });
    after(async () => srv?.stop());

    const langs = driver === 'docker' ? (['bash', 'python', 'node'] as const) : (['python'] as const);
    for (const language of langs) {
      it(`${language}: the files are in /work, owned by the sandbox user with their modes, and stdin is the script's`, async () => {
        const ex = await run(srv.api, { language, script: scripts[language], files, stdin });
        const out = stdoutOf(await logsOf(srv.api, ex.id));
        assert.equal(ex.status, 'succeeded', out);
        assert.match(out, /^sum=42$/m);
        assert.match(out, new RegExp(`^sha=${binSha}$`, 'm'));
        assert.match(out, /^stat=10001:10001 644 755 755$/m);
        assert.match(out, new RegExp(`^stdin=${Buffer.from(stdin).toString('base64').replace(/[+/]/g, '\\$&')}$`, 'm'));
      });
    }

    it('a pooled python reads its files; stdin is empty without one, and stdinBase64 carries any byte', async () => {
      const script = 'import sys; print(open("data/orders.csv").read().count("\\n"), repr(sys.stdin.buffer.read()))';
      // The pool refills after each take: the first tries may find its python sandbox still starting.
      let pooled = await run(srv.api, { language: 'python', script, files: files.slice(0, 1) });
      for (let i = 0; i < 10 && !pooled.pooled; i++) {
        await new Promise((r) => setTimeout(r, 1500));
        pooled = await run(srv.api, { language: 'python', script, files: files.slice(0, 1) });
      }
      assert.equal(pooled.status, 'succeeded');
      assert.equal(pooled.pooled, true, 'small files keep the tmpfs size: the pooled sandbox takes the job');
      assert.equal(stdoutOf(await logsOf(srv.api, pooled.id)), "3 b''");
      const bytes = await run(srv.api, { language: 'python', script, files: files.slice(0, 1), stdinBase64: Buffer.from([0, 255, 10]).toString('base64') });
      assert.equal(stdoutOf(await logsOf(srv.api, bytes.id)), "3 b'\\x00\\xff\\n'");
    });
  });
}

describe('files in: bad requests', { timeout: 120_000 }, () => {
  let srv: TestServer;
  before(async () => {
    await requireDocker();
    srv = await startTestServer({ CRONIUM_POOL_SIZE: '0', CRONIUM_MAX_FILE_BYTES: '1000', CRONIUM_MAX_FILES_BYTES: '1500' });
  });
  after(async () => srv?.stop());

  const cases: [string, unknown, number, string][] = [
    ['absolute', [{ path: '/etc/x', content: '' }], 400, 'files.0.path'],
    ['dot-dot', [{ path: 'a/../../x', content: '' }], 400, 'files.0.path'],
    ['NUL', [{ path: 'a\u0000b', content: '' }], 400, 'files.0.path'],
    ['backslash', [{ path: 'a\\b', content: '' }], 400, 'files.0.path'],
    ['twice', [{ path: 'a', content: '' }, { path: 'a', content: '' }], 400, 'files.1.path'],
    ['the script', [{ path: 'main.sh', content: '' }], 400, 'files.0.path'],
    ['bad base64', [{ path: 'a', content: '%%%', encoding: 'base64' }], 400, 'files.0.content'],
    ['bad mode', [{ path: 'a', content: '', mode: '0777' }], 400, 'files.0.mode'],
    ['too big', [{ path: 'a', content: 'x'.repeat(1001) }], 413, 'files.0.content'],
    ['too big together', [{ path: 'a', content: 'x'.repeat(1000) }, { path: 'b', content: 'x'.repeat(600) }], 413, 'files'],
  ];
  for (const [name, body, status, field] of cases) {
    it(`${name}: ${status} naming ${field}`, async () => {
      const r = await srv.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', files: body });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.field, field, JSON.stringify(r.body));
    });
  }
  it('stdin and stdinBase64 together, or bad base64: 400', async () => {
    const both = await srv.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', stdin: 'a', stdinBase64: 'YQ==' });
    assert.equal(both.status, 400);
    assert.equal(both.body.error.field, 'stdinBase64');
    const bad = await srv.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', stdinBase64: '!' });
    assert.equal(bad.status, 400);
  });
});
