import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { driverEnv, freshPostgres, gvisorOrSkip, logsOf, requireDocker, run, startTestServer, stdoutOf, testDrivers, type TestServer, until } from '../helpers.js';

/** Artifacts out (issue 26): what a script leaves under /work/out, collected from inside its sandbox. */

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function raw(srv: TestServer, p: string, headers: Record<string, string> = {}) {
  const res = await fetch(srv.url + p, { headers: { authorization: `Bearer ${srv.adminKey}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const systemLines = (entries: { stream: string; text: string }[]) => entries.filter((e) => e.stream === 'system').map((e) => e.text);

const MiB = 1024 * 1024;

describe('artifacts (docker driver)', { timeout: 300_000 }, () => {
  let srv: TestServer;
  let pgUrl: string;
  before(async () => {
    await requireDocker();
    pgUrl = (await freshPostgres())!;
    srv = await startTestServer({
      DATABASE_URL: pgUrl,
      CRONIUM_SANDBOX_DRIVER: 'docker',
      CRONIUM_MAX_ARTIFACT_BYTES: String(2 * MiB),
      CRONIUM_MAX_ARTIFACTS_BYTES: String(3 * MiB),
      CRONIUM_ARTIFACT_CLEANUP_MS: '300',
    });
  });
  after(async () => srv?.stop());

  it('files under /work/out are listed with size, sha256 and type, downloaded whole, by range, and as a zip', async () => {
    const script = `
mkdir -p out/sub
printf 'total,42\\n' > out/report.csv
head -c 300000 /dev/urandom > out/sub/data.bin
echo "bin=$(sha256sum out/sub/data.bin | cut -d' ' -f1)"
printf '{"ok":true}' > out/summary.json
`;
    const ex = await run(srv.api, { language: 'bash', script });
    const out = stdoutOf(await logsOf(srv.api, ex.id));
    assert.equal(ex.status, 'succeeded', out);
    assert.equal(ex.artifactCount, 3);
    assert.equal(ex.artifactsTruncated, false);
    const expires = Date.parse(ex.artifactsExpireAt);
    assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 600_000, `expires in 7 days: ${ex.artifactsExpireAt}`);
    const binSha = /^bin=([0-9a-f]{64})$/m.exec(out)![1]!;

    const list = await srv.api('GET', `/api/v1/executions/${ex.id}/artifacts`);
    assert.equal(list.status, 200);
    const byName = Object.fromEntries(list.body.items.map((a: { name: string }) => [a.name, a]));
    assert.deepEqual(Object.keys(byName).sort(), ['report.csv', 'sub/data.bin', 'summary.json']);
    assert.equal(byName['report.csv'].size, 9);
    assert.equal(byName['report.csv'].sha256, sha(Buffer.from('total,42\n')));
    assert.match(byName['report.csv'].contentType, /^text\/csv/);
    assert.equal(byName['summary.json'].contentType, 'application/json');
    assert.equal(byName['sub/data.bin'].size, 300000);
    assert.equal(byName['sub/data.bin'].sha256, binSha);
    assert.equal(list.body.truncated, false);

    const whole = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/${encodeURIComponent('sub/data.bin')}`);
    assert.equal(whole.status, 200);
    assert.equal(sha(whole.bytes), binSha);
    assert.equal(whole.headers.get('content-length'), '300000');
    assert.equal(whole.headers.get('etag'), `"${binSha}"`);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.match(whole.headers.get('content-disposition')!, /^attachment; filename="data.bin"/);
    assert.equal(whole.headers.get('x-content-type-options'), 'nosniff');

    const part = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/sub%2Fdata.bin`, { range: 'bytes=1000-1999' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 1000-1999/300000');
    assert.deepEqual(part.bytes, whole.bytes.subarray(1000, 2000));
    const tail = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/sub%2Fdata.bin`, { range: 'bytes=-10' });
    assert.deepEqual(tail.bytes, whole.bytes.subarray(299990));
    const outside = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/sub%2Fdata.bin`, { range: 'bytes=300000-' });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers.get('content-range'), 'bytes */300000');
    assert.equal(JSON.parse(outside.bytes.toString()).error.field, 'range');
    const cached = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/sub%2Fdata.bin`, { 'if-none-match': `"${binSha}"` });
    assert.equal(cached.status, 304);

    const inline = await raw(srv, `/api/v1/executions/${ex.id}/artifacts/report.csv?inline=1`);
    assert.match(inline.headers.get('content-disposition')!, /^inline;/);
    assert.equal(inline.bytes.toString(), 'total,42\n');

    const missing = await srv.api('GET', `/api/v1/executions/${ex.id}/artifacts/nope.txt`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /artifact nope\.txt/);

    const zip = await raw(srv, `/api/v1/executions/${ex.id}/artifacts.zip`);
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get('content-type'), 'application/zip');
    assert.equal(Number(zip.headers.get('content-length')), zip.bytes.length);
    const zipFile = path.join(os.tmpdir(), `cronium-artifacts-${ex.id}.zip`);
    fs.writeFileSync(zipFile, zip.bytes);
    try {
      const listing = execFileSync(
        'python3',
        ['-c', 'import hashlib,json,sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))', zipFile],
        { encoding: 'utf8' },
      );
      assert.deepEqual(JSON.parse(listing), { 'report.csv': byName['report.csv'].sha256, 'sub/data.bin': binSha, 'summary.json': byName['summary.json'].sha256 });
    } finally {
      fs.rmSync(zipFile, { force: true });
    }
  });

  it('an execution without /work/out has no artifacts; another user cannot see someone else’s', async () => {
    const ex = await run(srv.api, { language: 'python', script: 'print("hi")' });
    assert.equal(ex.artifactCount, 0);
    assert.equal(ex.artifactsExpireAt, null);
    const list = await srv.api('GET', `/api/v1/executions/${ex.id}/artifacts`);
    assert.deepEqual(list.body, { items: [], truncated: false, expiresAt: null });
    const user = await srv.api('POST', '/api/v1/users', { name: 'artifact-peeker', role: 'user' });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const key = (await srv.api('POST', `/api/v1/users/${user.body.id}/keys`, {})).body.key as string;
    assert.ok(key);
    const withFile = await run(srv.api, { language: 'bash', script: 'mkdir out; echo mine > out/mine.txt' });
    for (const p of ['/artifacts/mine.txt', '/artifacts', '/artifacts.zip']) {
      const peek = await srv.api('GET', `/api/v1/executions/${withFile.id}${p}`, undefined, key);
      assert.equal(peek.status, 404, p);
    }
    const own = await run(srv.api, { language: 'bash', script: 'mkdir out; echo theirs > out/t.txt' }, key);
    assert.equal((await srv.api('GET', `/api/v1/executions/${own.id}/artifacts/t.txt`, undefined, key)).body, 'theirs\n');
    // Storage use: a user sees their own, an admin everyone's.
    const mine = await srv.api('GET', '/api/v1/storage', undefined, key);
    assert.deepEqual(mine.body, { items: [{ userId: user.body.id, artifacts: { bytes: 7, files: 1 } }] });
    const everyone = (await srv.api('GET', '/api/v1/storage?scope=all')).body.items as { userId: string }[];
    assert.ok(everyone.some((u) => u.userId === user.body.id) && everyone.length >= 2, JSON.stringify(everyone));
    assert.deepEqual((await srv.api('GET', '/api/v1/storage?scope=all', undefined, key)).body, mine.body, 'a user asking for all gets their own');
    assert.equal((await srv.api('GET', '/api/v1/storage?scope=nope')).body.error.field, 'scope');
  });

  it('links, hard links, FIFOs and sockets are skipped with a log line; a link swapped meanwhile yields only the script’s bytes', async () => {
    const script = `
import os, socket, subprocess, sys
os.makedirs("out/d", exist_ok=True)
os.symlink("/etc/shadow", "out/shadow")
os.symlink("/proc/1/environ", "out/environ")
# A host path as the sandbox sees it named: the source of a bind mount, from mountinfo.
host = [l.split()[3] for l in open("/proc/self/mountinfo") if l.split()[4] in ("/etc/hosts", "/etc/resolv.conf")]
os.symlink(host[0] if host else "/etc/hostname", "out/hostpath")
os.symlink("/", "out/root")
open("/work/secret.txt", "w").write("outside out/")
os.link("/work/secret.txt", "out/hard")
os.mkfifo("out/fifo")
s = socket.socket(socket.AF_UNIX); s.bind("out/sock")
open("out/own.txt", "w").write("own bytes")
# A process that swaps a file for a link to /etc/shadow, as fast as it can, left running when the script ends.
subprocess.Popen(["bash", "-c", 'while :; do echo mine > out/swap.tmp; mv -f out/swap.tmp out/swap; ln -sfn /etc/shadow out/swap; done'], start_new_session=True)
import time; time.sleep(0.3)
print("host=" + (host[0] if host else "none"))
`;
    const ex = await run(srv.api, { language: 'python', script, timeoutMs: 20_000 });
    const logs = await logsOf(srv.api, ex.id);
    assert.equal(ex.status, 'succeeded', JSON.stringify(logs));
    const sys = systemLines(logs).join('\n');
    for (const [name, why] of [
      ['shadow', 'symbolic link'],
      ['environ', 'symbolic link'],
      ['hostpath', 'symbolic link'],
      ['root', 'symbolic link'],
      ['hard', 'hard link'],
      ['fifo', 'FIFO'],
      ['sock', 'socket'],
    ]) {
      assert.match(sys, new RegExp(`artifact out/${name} not collected: .*${why}`), `${name} skipped: ${sys}`);
    }
    const list = (await srv.api('GET', `/api/v1/executions/${ex.id}/artifacts`)).body.items as { name: string }[];
    const names = list.map((a) => a.name).sort();
    assert.ok(names.includes('own.txt'), names.join());
    for (const forbidden of ['shadow', 'environ', 'hostpath', 'root', 'hard', 'fifo', 'sock']) assert.ok(!names.includes(forbidden), `${forbidden} not collected`);
    for (const a of list) {
      const body = (await raw(srv, `/api/v1/executions/${ex.id}/artifacts/${encodeURIComponent(a.name)}`)).bytes.toString();
      // Only what the script itself wrote: its own file, or the swapping loop's "mine".
      assert.ok(['own bytes', 'mine\n', ''].includes(body), `${a.name} holds only the script's bytes: ${JSON.stringify(body.slice(0, 80))}`);
    }
  });

  it('the SDKs save a file from elsewhere as an artifact, in each language', async () => {
    const scripts = {
      bash: 'echo "from bash" > /tmp/r.txt; cronium save-artifact /tmp/r.txt reports/r.txt',
      python: 'import cronium\nopen("/tmp/r.txt", "w").write("from python\\n")\nprint(cronium.save_artifact("/tmp/r.txt", "reports/r.txt"))',
      node: 'const fs = require("fs"); const cronium = require("cronium");\nfs.writeFileSync("/tmp/r.txt", "from node\\n");\ncronium.saveArtifact("/tmp/r.txt", "reports/r.txt").then(console.log);',
    } as const;
    for (const [language, script] of Object.entries(scripts)) {
      const ex = await run(srv.api, { language, script });
      const out = stdoutOf(await logsOf(srv.api, ex.id));
      assert.equal(ex.status, 'succeeded', `${language}: ${out}`);
      assert.match(out, /^reports\/r\.txt$/m, `${language} prints the name`);
      assert.equal(ex.artifactCount, 1, language);
      assert.equal((await raw(srv, `/api/v1/executions/${ex.id}/artifacts/reports%2Fr.txt`)).bytes.toString(), `from ${language}\n`);
    }
  });

  it('under gVisor: collected, a link skipped, and still collected on a time-out', async (t) => {
    if (!(await gvisorOrSkip(srv.api, t))) return;
    const ex = await run(srv.api, { language: 'python', isolation: 'gvisor', script: 'import os\nos.makedirs("out")\nopen("out/g.txt","w").write("gvisor")\nos.symlink("/etc/shadow","out/s")' });
    assert.equal(ex.status, 'succeeded', ex.error);
    assert.equal(ex.artifactCount, 1);
    assert.equal((await raw(srv, `/api/v1/executions/${ex.id}/artifacts/g.txt`)).bytes.toString(), 'gvisor');
    const slow = await run(srv.api, { language: 'bash', isolation: 'gvisor', script: 'mkdir out; echo t > out/t.txt; sleep 60', timeoutMs: 3000 });
    assert.equal(slow.status, 'timed_out');
    assert.equal(slow.artifactCount, 1);
  });

  it('out/ itself a link is not followed', async () => {
    const ex = await run(srv.api, { language: 'bash', script: 'ln -s /etc out' });
    assert.equal(ex.status, 'succeeded');
    assert.equal(ex.artifactCount, 0);
    assert.match(systemLines(await logsOf(srv.api, ex.id)).join('\n'), /artifact out\/\. not collected: a symbolic link/);
  });

  it('a time-out and an OOM kill still yield the files written before', async () => {
    const slow = await run(srv.api, { language: 'bash', script: 'mkdir out; echo before > out/before.txt; sleep 60; echo after > out/after.txt', timeoutMs: 2000 });
    assert.equal(slow.status, 'timed_out');
    assert.equal(slow.artifactCount, 1);
    const got = await raw(srv, `/api/v1/executions/${slow.id}/artifacts/before.txt`);
    assert.equal(got.bytes.toString(), 'before\n');
    assert.ok(slow.durationMs < 20_000, `the time-out did not wait for the grace period: ${slow.durationMs} ms`);

    const oom = await run(srv.api, {
      language: 'python',
      script: 'import os\nos.makedirs("out")\nopen("out/before.txt","w").write("before")\nx = bytearray(1024*1024*1024)\nprint("survived")',
      resources: { memoryMb: 128 },
    });
    assert.equal(oom.status, 'oom_killed');
    assert.equal(oom.artifactCount, 1);
    assert.equal((await raw(srv, `/api/v1/executions/${oom.id}/artifacts/before.txt`)).bytes.toString(), 'before');
  });

  it('beyond the limits a file is cut and later ones are not kept, and the execution says so', async () => {
    const big = await run(srv.api, { language: 'bash', script: `mkdir out; head -c ${3 * MiB} /dev/urandom > out/a.bin; sha256sum out/a.bin` });
    assert.equal(big.status, 'succeeded');
    assert.equal(big.artifactsTruncated, true);
    const [a] = (await srv.api('GET', `/api/v1/executions/${big.id}/artifacts`)).body.items as { name: string; size: number }[];
    assert.equal(a!.size, 2 * MiB, 'cut at CRONIUM_MAX_ARTIFACT_BYTES');
    assert.match(systemLines(await logsOf(srv.api, big.id)).join('\n'), /artifact out\/a\.bin cut at 2 MiB of 3 MiB: CRONIUM_MAX_ARTIFACT_BYTES \(2 MiB\)/);

    // Three of 1.5 MiB against 3 MiB in all: whichever order tar takes them in, two are kept whole, one is not.
    const many = await run(srv.api, { language: 'bash', script: `mkdir out; for f in x y z; do head -c ${1.5 * MiB} /dev/zero > out/$f.bin; done` });
    assert.equal(many.artifactsTruncated, true);
    assert.equal(many.artifactCount, 2);
    const sizes = ((await srv.api('GET', `/api/v1/executions/${many.id}/artifacts`)).body.items as { size: number }[]).map((x) => x.size);
    assert.deepEqual(sizes, [1.5 * MiB, 1.5 * MiB]);
    assert.match(systemLines(await logsOf(srv.api, many.id)).join('\n'), /artifact out\/[xyz]\.bin not kept: the execution's artifacts reached CRONIUM_MAX_ARTIFACTS_BYTES \(3 MiB\)/);
  });

  it('expired artifacts are removed, bytes and rows, by the background cleanup', async () => {
    const ex = await run(srv.api, { language: 'bash', script: 'mkdir out; echo old > out/old.txt' });
    assert.equal(ex.artifactCount, 1);
    const stored = path.join(srv.dataDir, 'files', ex.id, 'out');
    assert.ok(fs.existsSync(stored), 'the bytes are on the data directory’s disk');
    const { default: pg } = await import('pg');
    const db = new pg.Client({ connectionString: pgUrl });
    await db.connect();
    try {
      await db.query(`update execution_files set expires_at = now() - interval '1 minute' where execution_id = $1 and kind = 'artifact'`, [ex.id]);
    } finally {
      await db.end();
    }
    await until(async () => (await srv.api('GET', `/api/v1/executions/${ex.id}/artifacts`)).body.items.length === 0, 10_000);
    assert.ok(!fs.existsSync(stored), 'the bytes went too');
  });
});

for (const driver of testDrivers(['runc', 'crun'])) {
  describe(`artifacts (${driver} driver)`, { timeout: 180_000 }, () => {
    let srv: TestServer;
    before(async () => {
      await requireDocker();
      srv = await startTestServer(driverEnv(driver));
    });
    after(async () => srv?.stop());

    it('collects /work/out from inside the sandbox, skips a link, and still collects on a time-out', async () => {
      const ex = await run(srv.api, { language: 'bash', script: 'mkdir out; printf report > out/r.txt; ln -s /etc/shadow out/s' });
      assert.equal(ex.status, 'succeeded');
      assert.equal(ex.artifactCount, 1);
      assert.equal((await raw(srv, `/api/v1/executions/${ex.id}/artifacts/r.txt`)).bytes.toString(), 'report');
      assert.match(systemLines(await logsOf(srv.api, ex.id)).join('\n'), /artifact out\/s not collected: a symbolic link/);
      const slow = await run(srv.api, { language: 'python', script: 'import os,time\nos.makedirs("out")\nopen("out/t.txt","w").write("t")\ntime.sleep(60)', timeoutMs: 2000 });
      assert.equal(slow.status, 'timed_out');
      assert.equal(slow.artifactCount, 1);
    });
  });
}
