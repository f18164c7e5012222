import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { logsOf, requireDocker, run, startTestServer, driverEnv, testDrivers, type TestServer, until } from '../helpers.js';

/**
 * Pooled python and node sandboxes pre-start their interpreter (cronium-launch step 0, the image's zygote). A job
 * must run in it exactly as it runs in a fresh interpreter (cold), and must not get more of the launcher than a
 * fresh one: these probes print what a script can observe and compare the two.
 */
const PY_PROBE = `import sys
prestarted = "cronium" in sys.modules
import json, os, stat
def pipe_of(path):
    try:
        t = os.readlink(path)
    except OSError as e:
        return "unreadable"
    return t
job_stream = pipe_of("/proc/1/fd/0")
fds = sorted(os.listdir("/proc/self/fd"), key=int)
old_umask = os.umask(0o22)
print("PRESTARTED", prestarted)
print(json.dumps({
    "argv": sys.argv, "path0": sys.path[0], "name": __name__, "file": __file__, "doc": __doc__,
    "main_is_this": sys.modules["__main__"].__dict__ is globals(), "loader": type(__loader__).__name__,
    "spec": __spec__, "cwd": os.getcwd(), "umask": oct(old_umask), "stdin": sys.stdin.read(),
    "env": sorted(k for k in os.environ), "given": os.environ.get("GIVEN"), "ppid_is_launcher": os.getppid() != 1,
    "fds": fds, "fd0": os.readlink("/proc/self/fd/0"), "job_stream": job_stream.split("[")[0],
    "holds_job_stream": job_stream != "unreadable" and any(pipe_of(f"/proc/self/fd/{fd}") == job_stream for fd in fds if fd != "0"),
    "sigign": open("/proc/self/status").read().split("SigIgn:")[1].split()[0],
    "unbuffered": not sys.stdout.line_buffering and sys.flags.dont_write_bytecode == 0,
}, sort_keys=True))
import cronium
cronium.set_output({"from": "python"})
def fail():
    raise ValueError("probe failed on purpose")
fail()
`;

const NODE_PROBE = `const fs = require('fs');
const prestarted = Object.keys(require.cache).some((f) => f.includes('zygote'));
const link = (p) => { try { return fs.readlinkSync(p); } catch { return 'unreadable'; } };
const jobStream = link('/proc/1/fd/0');
const fds = fs.readdirSync('/proc/self/fd');
const oldUmask = process.umask(0o22);
console.log('PRESTARTED', prestarted);
console.log(JSON.stringify({
  argv: process.argv, execArgv: process.execArgv, mainIsThis: require.main === module, filename: __filename,
  cwd: process.cwd(), umask: oldUmask.toString(8), stdin: fs.readFileSync(0, 'utf8'),
  env: Object.keys(process.env).sort(), given: process.env.GIVEN, nodeOptions: process.env.NODE_OPTIONS,
  fd0: link('/proc/self/fd/0'), jobStream: jobStream.split('[')[0], holdsJobStream: jobStream !== 'unreadable' && fds.filter((f) => f !== '0').some((f) => link('/proc/self/fd/' + f) === jobStream),
  fetchPatched: globalThis.fetch.toString().includes('install'),
}));
(async () => {
  const outcome = await fetch('http://not-allowlisted.example/').then((r) => r.status, (e) => String(e.cause?.message ?? e.message));
  console.log('PROXY', outcome);
  const cronium = require('cronium');
  await cronium.setOutput({ from: 'node' });
  function fail() { throw new Error('probe failed on purpose'); }
  fail();
})();
`;

const text = async (s: TestServer, id: string, stream: string) =>
  (await logsOf(s.api, id))
    .filter((e) => e.stream === stream)
    .map((e) => e.text)
    .join('\n');

for (const driver of testDrivers()) describe(`pre-started interpreters in pooled sandboxes (${driver} driver)`, { concurrency: false }, () => {
  let pooled: TestServer;
  let cold: TestServer;
  before(async () => {
    await requireDocker();
    [pooled, cold] = await Promise.all([startTestServer({ CRONIUM_POOL_SIZE: '1', ...driverEnv(driver) }), startTestServer({ CRONIUM_POOL_SIZE: '0', ...driverEnv(driver) })]);
    await until(async () => Object.values((await pooled.api('GET', '/health')).body.pool.ready).every((n) => n === 1), 60_000);
  });
  after(async () => Promise.all([pooled?.stop(), cold?.stop()]));

  const readyFor = (language: string) => until(async () => (await pooled.api('GET', '/health')).body.pool.ready[language] === 1, 60_000);

  it('counts a pooled sandbox ready once its interpreter has loaded, and one taken while it loads runs its job intact', async () => {
    // Caught in the act: the replacement's sandbox is up but its Node still loads (the ready mark not yet seen).
    let takenWarming = 0;
    for (let i = 0; i < 5 && takenWarming < 2; i++) {
      await readyFor('node');
      const first = await run(pooled.api, { language: 'node', script: 'console.log("first")' });
      assert.equal(first.pooled, true);
      const warming = await until(async () => {
        const pool = (await pooled.api('GET', '/health')).body.pool;
        return pool.warming.node === 1 || pool.ready.node === 1 ? pool : null;
      }, 30_000, 2);
      if (warming.ready.node === 1) continue;
      const e = await run(pooled.api, { language: 'node', script: `console.log("job ${i}"); process.stderr.write("err ${i}\\n")` });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      if (!e.pooled) continue;
      takenWarming++;
      assert.equal(await text(pooled, e.id, 'stdout'), `job ${i}`, 'nothing but the job\'s own output: no ready mark');
      assert.equal(await text(pooled, e.id, 'stderr'), `err ${i}`);
    }
    assert.ok(takenWarming > 0, 'a sandbox was taken while its interpreter loaded');
    await readyFor('node');
    const pool = (await pooled.api('GET', '/health')).body.pool;
    assert.deepEqual([pool.ready.node, pool.warming.node], [1, 0]);
  });

  // The pre-started Node ends a job that runs out of work with process.exit() (skipping the heap's teardown)
  // unless the script listens to 'beforeExit' itself: the exit code, the 'exit' event and late output match.
  for (const [name, script, exitCode] of [
    ['process.exitCode', "process.exitCode = 3; setTimeout(() => console.log('late'), 20); process.on('exit', (c) => console.log('exit event', c));", 3],
    ['a beforeExit listener that schedules more work', "let n = 0; process.on('beforeExit', () => { if (n++ < 2) setTimeout(() => console.log('more work', n), 5); }); process.on('exit', (c) => console.log('exit event', c, n)); process.exitCode = 5;", 5],
    ['an uncaught error in a timer', "setTimeout(() => { throw new Error('late failure'); }, 5); process.on('exit', (c) => console.log('exit event', c));", 1],
  ] as const) {
    it(`ends a node job as a fresh one ends it: ${name}`, async () => {
      await readyFor('node');
      const body = { language: 'node', script: `console.log('PRESTARTED', Object.keys(require.cache).some((f) => f.includes('zygote')));\n${script}` };
      const [w, c] = await Promise.all([run(pooled.api, body), run(cold.api, body)]);
      assert.equal(w.pooled, true);
      assert.equal(c.pooled, false);
      const [wOut, cOut] = await Promise.all([text(pooled, w.id, 'stdout'), text(cold, c.id, 'stdout')]);
      assert.match(wOut, /^PRESTARTED true$/m, wOut);
      assert.equal(wOut.replace('PRESTARTED true', ''), cOut.replace('PRESTARTED false', ''));
      assert.equal(w.exitCode, exitCode, JSON.stringify(w));
      assert.equal(c.exitCode, exitCode, JSON.stringify(c));
    });
  }

  for (const [language, script, probeLine] of [
    ['python', PY_PROBE, /^\{"argv".*$/m],
    ['node', NODE_PROBE, /^\{"argv".*$/m],
  ] as const) {
    it(`runs a ${language} job in the pre-started interpreter exactly as a fresh one runs it`, async () => {
      await readyFor(language);
      const body = { language, script, env: { GIVEN: 'value with spaces = and ü' } };
      const [w, c] = await Promise.all([run(pooled.api, body), run(cold.api, body)]);
      assert.equal(w.pooled, true);
      assert.equal(c.pooled, false);
      const [wOut, cOut] = await Promise.all([text(pooled, w.id, 'stdout'), text(cold, c.id, 'stdout')]);
      assert.match(wOut, /^PRESTARTED [Tt]rue$/m, `the pooled job ran in the pre-started interpreter:\n${wOut}`);
      assert.match(cOut, /^PRESTARTED [Ff]alse$/m, `the cold job started its own:\n${cOut}`);
      const wProbe = JSON.parse(probeLine.exec(wOut)![0]) as Record<string, unknown>;
      const cProbe = JSON.parse(probeLine.exec(cOut)![0]) as Record<string, unknown>;
      assert.deepEqual(wProbe, cProbe, 'what the script observes is the same');
      assert.equal(wProbe.given, 'value with spaces = and ü');
      const stream = wProbe[language === 'python' ? 'job_stream' : 'jobStream'];
      // (That the pre-started interpreter holds no descriptor of the job stream is checked from the host below.)
      assert.equal(stream, 'unreadable', 'the job cannot open the descriptors of PID 1, the non-dumpable launcher, whose stdin is the job stream');
      assert.equal(wProbe.fd0, '/dev/null');
      if (language === 'node') {
        assert.equal(wProbe.fetchPatched, true, 'the egress-proxy preload is in place');
        // undici tunnels every proxied request with CONNECT, so the refusal surfaces as a failed fetch.
        assert.equal(/^PROXY .*$/m.exec(wOut)?.[0], /^PROXY .*$/m.exec(cOut)?.[0]);
        const egress = (await pooled.api('GET', `/api/v1/executions/${w.id}/egress`)).body.items as { allowed: boolean; host: string; method: string }[];
        assert.ok(
          egress.some((l) => !l.allowed && l.host === 'not-allowlisted.example' && l.method === 'CONNECT'),
          `fetch() went to the egress proxy, which refused the domain: ${JSON.stringify(egress)}`,
        );
      }
      // The uncaught error: same exit status, same report (up to the frames of Node's own entry code).
      for (const e of [w, c]) {
        assert.equal(e.status, 'failed');
        assert.equal(e.exitCode, 1);
        assert.deepEqual(e.output, { from: language }, 'the SDK reached the runtime API with this execution\'s token');
      }
      const [wErr, cErr] = await Promise.all([text(pooled, w.id, 'stderr'), text(cold, c.id, 'stderr')]);
      // Process ids inside the sandbox differ (Node's warnings name theirs).
      const same = (t: string) => t.replace(/\(node:\d+\)/g, '(node:PID)');
      assert.equal(same(wErr), same(cErr));
      assert.match(wErr, /probe failed on purpose/);
    });
  }

  it('a waiting pre-started interpreter holds no descriptor of the job stream (seen from the host)', async (t) => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('CI runs as root: this check must run');
      return t.skip('needs root to read other processes\' descriptors');
    }
    await readyFor('python');
    await readyFor('node');
    const link = (p: string) => {
      try {
        return fs.readlinkSync(p);
      } catch {
        return null;
      }
    };
    const zygotes = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((pid) => ({ pid, cmdline: (() => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } })() }))
      .filter((p) => /\/usr\/local\/lib\/cronium\/(python\/zygote\.py|node\/zygote\.cjs)/.test(p.cmdline));
    assert.ok(zygotes.length >= 2, `the pooled python and node sandboxes each have a waiting interpreter: ${zygotes.length}`);
    for (const z of zygotes) {
      const stat = fs.readFileSync(`/proc/${z.pid}/stat`, 'utf8');
      const launcher = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
      const jobStream = link(`/proc/${launcher}/fd/0`);
      assert.match(String(jobStream), /^(pipe|socket):|^\/.*\/in$/, `the launcher's stdin is the job stream (a pipe, or the runc driver's FIFO; ${launcher}: ${jobStream})`);
      const held = fs.readdirSync(`/proc/${z.pid}/fd`).map((fd) => link(`/proc/${z.pid}/fd/${fd}`));
      assert.ok(!held.includes(jobStream), `the interpreter ${z.pid} holds none of it: ${held.join(', ')}`);
    }
  });

  it('starts a fresh interpreter when the job sets what Python reads at start-up (PYTHONHASHSEED)', async () => {
    await readyFor('python');
    const body = { language: 'python', script: 'import sys\nprint("cronium" in sys.modules, hash("cronium"))', env: { PYTHONHASHSEED: '0' } };
    const [w, c] = await Promise.all([run(pooled.api, body), run(cold.api, body)]);
    assert.equal(w.pooled, true);
    const [wOut, cOut] = await Promise.all([text(pooled, w.id, 'stdout'), text(cold, c.id, 'stdout')]);
    assert.match(wOut, /^False -?\d+$/, 'a fresh interpreter, without the pre-imported SDK');
    assert.equal(wOut, cOut, 'the seed applied: the same hash as a cold run with it');
  });

  it('starts a fresh node when the job adds its own NODE_OPTIONS', async () => {
    await readyFor('node');
    const body = {
      language: 'node',
      script: 'console.log(Object.keys(require.cache).some((f) => f.includes("zygote")), Math.round(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20) < 100)',
      env: { NODE_OPTIONS: '--max-old-space-size=40' },
    };
    const w = await run(pooled.api, body);
    assert.equal(w.pooled, true);
    assert.equal(await text(pooled, w.id, 'stdout'), 'false true');
  });
});
