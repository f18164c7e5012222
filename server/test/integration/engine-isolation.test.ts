import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createOutsideStandIn } from '../../src/egress/outside-stand-in.js';
import { containerGone, docker, gvisorOrSkip, logsOf, requireDocker, run, startTestServer, stdoutOf, driverEnv, testDrivers, type TestServer, until } from '../helpers.js';

/** What every execution gets, checked from inside real containers the way an attacker would probe it. */
/**
 * The same checks for cold containers and for warm, pooled ones: a pooled execution is isolated exactly alike;
 * and the same under both sandbox drivers (Docker, and runc started directly).
 */
for (const driver of testDrivers()) for (const mode of ['cold', 'pooled'] as const) describe(`execution engine: results and isolation (${driver}, ${mode})`, { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_POOL_SIZE: mode === 'pooled' ? '2' : '0', ...driverEnv(driver) });
    if (mode === 'pooled') await until(async () => Object.values((await s.api('GET', '/health')).body.pool.ready).every((n) => n === 2), 60_000);
  });
  after(async () => s?.stop());

  for (const [language, script] of [
    ['bash', 'echo "hello from bash"'],
    ['python', 'print("hello from python")'],
    ['node', 'console.log("hello from node")'],
  ] as const) {
    it(`runs a hello world in ${language}`, async () => {
      const e = await run(s.api, { language, script });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      assert.equal(e.exitCode, 0);
      assert.equal(stdoutOf(await logsOf(s.api, e.id)), `hello from ${language}`);
      assert.ok(e.usage && typeof e.usage.cpuMs === 'number' && e.usage.memoryPeakBytes > 0, `usage reported: ${JSON.stringify(e.usage)}`);
      assert.ok(e.durationMs > 0);
      assert.ok(await containerGone(e.containerId), 'the container is removed after the run');
      assert.equal(e.pooled, mode === 'pooled', 'ran in the expected kind of container');
    });
  }

  it('delivers the script byte-exact (UTF-8, CRLF, backslashes, trailing newlines, 300 KB) and env values verbatim', async () => {
    const script =
      'import hashlib, json, os, sys\r\n' +
      'print(hashlib.sha256(open(__file__, "rb").read()).hexdigest(), json.dumps(os.environ["ODD"], ensure_ascii=False))\n' +
      `# ${'x'.repeat(300_000)}\n# héllo 中文 \\n \\x00 '"\` $(not run)\n\n\n`;
    const odd = 'a=b\nline 2 \\ "q" $HOME é';
    const e = await run(s.api, { language: 'python', script, env: { ODD: odd } });
    assert.equal(e.status, 'succeeded', JSON.stringify(e));
    const sha = crypto.createHash('sha256').update(script, 'utf8').digest('hex');
    assert.equal(stdoutOf(await logsOf(s.api, e.id)), `${sha} ${JSON.stringify(odd)}`);
  });

  it('keeps stdout and stderr apart, in order, with timestamps', async () => {
    const e = await run(s.api, { language: 'bash', script: 'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2' });
    const logs = await logsOf(s.api, e.id);
    assert.deepEqual(
      logs.map((l) => [l.stream, l.text]),
      [
        ['stdout', 'out1'],
        ['stderr', 'err1'],
        ['stdout', 'out2'],
      ],
    );
    assert.ok(logs.every((l: any) => !Number.isNaN(Date.parse(l.ts))));
  });

  it('reports a non-zero exit as failed with its code', async () => {
    const e = await run(s.api, { language: 'bash', script: 'echo before; exit 3' });
    assert.equal(e.status, 'failed');
    assert.equal(e.exitCode, 3);
  });

  it('kills a script at its timeout and removes the container', async () => {
    const t0 = Date.now();
    const e = await run(s.api, { language: 'bash', script: 'sleep 1000', timeoutMs: 2000 });
    assert.equal(e.status, 'timed_out');
    assert.match(e.error, /timed out after 2000 ms/);
    assert.ok(Date.now() - t0 < 20_000, 'the timeout is enforced');
    assert.ok(await containerGone(e.containerId));
  });

  it('reports an allocation beyond the memory limit as oom_killed', async () => {
    const e = await run(s.api, {
      language: 'python',
      script: 'data = bytearray(1024 * 1024 * 1024)\nfor i in range(0, len(data), 4096):\n    data[i] = 1\nprint("survived")',
      resources: { memoryMb: 64 },
      timeoutMs: 60_000,
    });
    assert.equal(e.status, 'oom_killed', JSON.stringify(e));
    assert.ok(!stdoutOf(await logsOf(s.api, e.id)).includes('survived'));
    assert.equal(e.limits.memoryMb, 64);
  });

  it('contains a fork bomb with the pids limit while the server stays healthy', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: 'bomb() { bomb | bomb & }; bomb; sleep 3; echo done',
      resources: { pids: 64 },
      timeoutMs: 6000,
    });
    assert.ok(['timed_out', 'failed', 'succeeded'].includes(e.status), `status ${e.status}`);
    assert.equal(e.limits.pids, 64);
    const health = await s.api('GET', '/health');
    assert.equal(health.status, 200);
    const after = await run(s.api, { language: 'bash', script: 'echo still fine' });
    assert.equal(after.status, 'succeeded');
    assert.ok(await containerGone(e.containerId));
  });

  it('has a read-only root filesystem and writable, size-limited /work and /tmp', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: [
        'touch /evil 2>/dev/null && echo ROOT_WRITABLE || echo ROOT_DENIED',
        'touch /usr/bin/evil 2>/dev/null && echo USR_WRITABLE || echo USR_DENIED',
        'echo x > /work/ok && echo WORK_OK',
        'echo x > /tmp/ok && echo TMP_OK',
        'dd if=/dev/zero of=/tmp/big bs=1M count=200 2>/dev/null && echo TMP_UNBOUNDED || echo TMP_LIMITED',
        'ls /work',
      ].join('\n'),
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.match(out, /ROOT_DENIED/);
    assert.match(out, /USR_DENIED/);
    assert.match(out, /WORK_OK/);
    assert.match(out, /TMP_OK/);
    assert.match(out, /TMP_LIMITED/);
    assert.doesNotMatch(out, /\.job/, 'the job file does not stay behind in /work');
  });

  it('runs as an unprivileged user with no capabilities, no new privileges and seccomp', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: 'id -u; id -g; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status',
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    const lines = out.split('\n');
    assert.equal(lines[0], '10001');
    assert.equal(lines[1], '10001');
    assert.match(out, /CapEff:\s+0000000000000000/);
    assert.match(out, /CapPrm:\s+0000000000000000/);
    assert.match(out, /CapBnd:\s+0000000000000000/);
    assert.match(out, /NoNewPrivs:\s+1/);
    assert.match(out, /Seccomp:\s+2/);
  });

  it('refuses syscalls the seccomp profile removes (ptrace)', async () => {
    const e = await run(s.api, {
      language: 'python',
      script: [
        'import ctypes, os',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'r = libc.ptrace(0, 0, None, None)  # PTRACE_TRACEME',
        'print("ptrace", r, os.strerror(ctypes.get_errno()))',
      ].join('\n'),
    });
    assert.match(stdoutOf(await logsOf(s.api, e.id)), /ptrace -1 Operation not permitted/);
  });

  it('has no network route out and no outside DNS', async () => {
    // The outside is a stand-in made on this machine (a 198.18.0.0/15 network with TCP listeners and a DNS server
    // that answers every query), reachable from here: no packet is sent to an address that is not on this machine.
    const outside = await createOutsideStandIn(docker, process.env.CRONIUM_IMAGE_PYTHON ?? 'cronium/runtime-python:latest');
    try {
      assert.deepEqual(await outside.reachableFromHost(), { http: true, dns: true }, 'this machine reaches the stand-in');
      const seen = (await outside.seen()).length;
      const e = await run(s.api, {
        language: 'python',
        timeoutMs: 30_000,
        script: [
          'import socket',
          `for host, port in [("${outside.address}", 53), ("${outside.address}", 443), ("${outside.address}", 80)]:`,
          '    try:',
          '        socket.create_connection((host, port), timeout=1).close()',
          '        print("CONNECTED", host, port)',
          '    except OSError as e:',
          '        print("BLOCKED", host, port, e.__class__.__name__)',
          'u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)',
          'try:',
          `    u.sendto(bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001"), ("${outside.address}", 53))`,
          '    print("RESOLVED", len(u.recvfrom(512)[0]))',
          'except OSError as e:',
          '    print("NO_DNS")',
        ].join('\n'),
      });
      const out = stdoutOf(await logsOf(s.api, e.id));
      assert.doesNotMatch(out, /CONNECTED/);
      assert.equal(out.match(/BLOCKED/g)?.length, 3);
      assert.match(out, /NO_DNS/);
      assert.equal((await outside.seen()).length, seen, 'nothing from the sandbox reached the stand-in');
    } finally {
      await outside.remove();
    }
  });

  it('cannot see host processes', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: 'for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr "\\0" " "; echo; done | grep -v "^$" | sort -u; echo COUNT=$(ls -d /proc/[0-9]* | wc -l)',
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.doesNotMatch(out, /dockerd|containerd|node .*main|postgres/);
    const count = Number(/COUNT=(\d+)/.exec(out)?.[1]);
    assert.ok(count > 0 && count < 10, `only the sandbox's own processes are visible (${count})`);
  });

  it('cannot kill or stop its launcher (PID 1): the result and usage report still arrive', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: [
        'for d in /proc/[0-9]*; do',
        '  pid=${d#/proc/}',
        '  [[ $pid == $$ ]] && continue',
        '  if [[ $pid == 1 ]] || tr "\\0" " " < $d/cmdline 2>/dev/null | grep -q cronium-launch; then',
        '    for sig in KILL STOP TERM INT HUP; do kill -$sig $pid 2>/dev/null && echo "signalled $pid with $sig"; done',
        '  fi',
        'done',
        'sleep 0.3; echo still here',
      ].join('\n'),
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.equal(e.status, 'succeeded', `${JSON.stringify(e)}\n${out}`);
    assert.match(out, /still here$/);
    assert.ok(e.usage && typeof e.usage.cpuMs === 'number', `the launcher lived to report usage: ${JSON.stringify(e.usage)}`);
  });

  it('cannot read its launcher\'s memory, descriptors or environment (the job stream and its nonce stay secret)', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: [
        'printf "pid 1: %s\\n" "$(tr "\\0" " " </proc/1/cmdline)"',
        'for f in environ maps mem auxv fd/0 fd/1 fd/2; do',
        '  if { : <"/proc/1/$f"; } 2>/dev/null; then echo "opened $f"; else echo "refused $f"; fi',
        'done',
        'if ls /proc/1/fd >/dev/null 2>&1; then echo "listed fd"; else echo "refused fd"; fi',
      ].join('\n'),
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.equal(e.status, 'succeeded', out);
    assert.match(out, /^pid 1: .*cronium-launch/m, 'PID 1 is the launcher');
    for (const f of ['environ', 'maps', 'mem', 'auxv', 'fd/0', 'fd/1', 'fd/2', 'fd']) assert.match(out, new RegExp(`^refused ${f}$`, 'm'), out);
  });

  it('reaps the orphans a script leaves, and ends with the script, killing what it left running', async () => {
    const e = await run(s.api, {
      language: 'bash',
      timeoutMs: 15_000,
      script: [
        'for i in $(seq 30); do ( sleep 0.05 & ); done', // 30 orphans that exit at once
        '( sleep 600 & ) ; sleep 600 > /dev/null 2>&1 & disown', // and two that would run on
        'sleep 1',
        'z=0; for f in /proc/[0-9]*/stat; do read -r _ _ st _ < $f 2>/dev/null && [[ $st == Z ]] && z=$((z+1)); done',
        'echo "zombies=$z"',
      ].join('\n'),
    });
    assert.equal(e.status, 'succeeded', 'the execution ends with its script, not at its timeout');
    assert.match(stdoutOf(await logsOf(s.api, e.id)), /zombies=0$/);
    assert.ok(await containerGone(e.containerId), 'the processes it left running went with the sandbox');
  });

  it('passes only the given environment plus the Cronium variables', async () => {
    const e = await run(s.api, { language: 'bash', script: 'env | cut -d= -f1 | sort', env: { GREETING: 'hi' } });
    const names = stdoutOf(await logsOf(s.api, e.id)).split('\n');
    assert.ok(names.includes('GREETING'));
    assert.ok(names.includes('CRONIUM_TOKEN'));
    assert.ok(names.includes('CRONIUM_API_URL'));
    assert.ok(!names.some((n) => /DOCKER|DATABASE|ADMIN_KEY|ENCRYPTION/.test(n)), names.join(','));
  });

  it('runs under gVisor when isolation "gvisor" is asked for', async (t) => {
    if (!(await gvisorOrSkip(s.api, t))) return;
    const e = await run(s.api, { language: 'bash', isolation: 'gvisor', script: 'dmesg | head -1; id -u' });
    assert.equal(e.status, 'succeeded', JSON.stringify(e));
    assert.equal(e.isolation, 'gvisor');
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.match(out, /gVisor/);
    assert.match(out, /^10001$/m);
    const std = await run(s.api, { language: 'bash', script: 'dmesg 2>&1 | head -1' });
    assert.doesNotMatch(stdoutOf(await logsOf(s.api, std.id)), /gVisor/, 'standard isolation is runc');
  });
});
