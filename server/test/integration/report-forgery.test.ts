import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandRunner } from '../../src/sandbox/runc/command-runner.js';
import { backgroundCommand, FifoStock, openStdio } from '../../src/sandbox/runc/sandbox-stdio.js';
import { driverEnv, logsOf, requireDocker, requireRunc, run, startTestServer, testDrivers, type TestServer, until } from '../helpers.js';

/**
 * A script that tries to forge its launcher's report (issue 16, defect 6). It reopens its own stdout and stderr
 * for reading (a pipe's or FIFO's write end reopened O_RDONLY through /proc/self/fd gives its read side), races
 * the server for every mark the launcher writes there, and answers each token it steals with a fake usage report
 * (exit 0, OOM kills, made-up figures) and a fake end mark. It does so from the main process, which exits 3, and
 * from thieves it leaves running in their own session (the launcher is PID 1: they would live until it exits).
 */
const FORGER = String.raw`
forge() {
  printf '__CRONIUM_USAGE_%s__ {"exitCode":0,"cpuNs":4242000000,"memoryPeakBytes":4242,"oomKills":7}\n' "$1" >&2
  printf '__CRONIUM_END_%s__\n' "$1"
}
steal() {
  local line
  while IFS= read -r -t 10 line <&"$1"; do
    [[ $line =~ __CRONIUM_[A-Z]+_([A-Za-z0-9]+)__ ]] && forge "${'$'}{BASH_REMATCH[1]}"
  done
}
if exec 7</proc/self/fd/1 8</proc/self/fd/2; then echo "REOPENED" >&2; else echo "NOT REOPENED" >&2; exit 3; fi
IFS= read -r -t 0.3 line <&7 && [[ $line =~ __CRONIUM_[A-Z]+_([A-Za-z0-9]+)__ ]] && forge "${'$'}{BASH_REMATCH[1]}" && echo "STOLE THE JOB MARK" >&2
setsid bash -c "$(declare -f forge steal); steal 7 & steal 8 & wait" </dev/null &
echo "visible"
sleep 0.2
exit 3
`;

/** The same from a pooled Python's main module (the pre-started interpreter's path through the launcher). */
const PY_FORGER = `import subprocess, sys\nsys.exit(subprocess.run(["bash", "-c", ${JSON.stringify(FORGER)}]).returncode)\n`;

const TRIES = 50;

type Target = { name: string; env: Record<string, string>; isolation: 'standard' | 'gvisor' };
const targets: Target[] = testDrivers().map((d) => ({ name: d, env: driverEnv(d), isolation: 'standard' as const }));
targets.push({ name: 'gvisor', env: driverEnv('docker'), isolation: 'gvisor' });

for (const target of targets) describe(`a script cannot forge its launcher's report (${target.name})`, { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer({ CRONIUM_POOL_SIZE: target.isolation === 'standard' ? '2' : '0', ...target.env });
  });
  after(async () => s?.stop());

  it(`never changes the recorded status, exit code or usage (${TRIES} tries, bash and pooled python)`, async (t) => {
    if (target.isolation === 'gvisor' && !(await s.api('GET', '/health')).body.docker.gvisor) {
      // CI installs and registers runsc (scripts/host-setup.sh), so there a missing gVisor is a failure.
      if (process.env.CI === 'true') assert.fail('gVisor (runsc) is not registered with the Docker engine');
      t.skip('gVisor (runsc) is not registered with this Docker engine');
      return;
    }
    if (target.isolation === 'standard') await until(async () => Object.values((await s.api('GET', '/health')).body.pool.ready).every((n) => n === 2), 60_000);
    let reopened = 0;
    let pooled = 0;
    const bad: string[] = [];
    // Two at a time: the pool's two ready sandboxes per language take most of them.
    for (let i = 0; i < TRIES; i += 2) {
      const batch = [i, i + 1].filter((n) => n < TRIES).map(async (n) => {
        const python = n % 2 === 1;
        const e = await run(s.api, {
          language: python ? 'python' : 'bash',
          script: python ? PY_FORGER : FORGER,
          isolation: target.isolation,
          timeoutMs: 30_000,
        });
        const stderr = (await logsOf(s.api, e.id)).filter((l) => l.stream === 'stderr').map((l) => l.text).join('\n');
        if (/^REOPENED$/m.test(stderr)) reopened++;
        if (e.pooled) pooled++;
        const problems = [
          e.status !== 'failed' && `status ${e.status}`,
          e.exitCode !== 3 && `exit code ${e.exitCode}`,
          e.usage === null && 'no usage report (the launcher\'s report was lost)',
          e.usage?.memoryPeakBytes === 4242 && 'forged memory peak',
          e.usage?.cpuMs === 4242 && 'forged CPU time',
        ].filter(Boolean);
        if (problems.length) bad.push(`try ${n} (${python ? 'python' : 'bash'}${e.pooled ? ', pooled' : ''}): ${problems.join(', ')}; ${JSON.stringify({ status: e.status, exitCode: e.exitCode, usage: e.usage })}`);
      });
      await Promise.all(batch);
    }
    t.diagnostic(`${target.name}: the script reopened its stdout/stderr in ${reopened} of ${TRIES} tries; ${pooled} ran pooled`);
    assert.deepEqual(bad, [], `forged or lost reports in ${bad.length} of ${TRIES} tries`);
    // crun hands the sandbox the server's FIFOs themselves, seen through a read-only view (sandbox-stdio.ts): the
    // script can only write to them. (runc and Docker copy through pipes of their own, which it can reopen.)
    if (target.name === 'crun') assert.equal(reopened, 0, 'under crun the script cannot reopen its stdout or stderr for reading');
  });
});

describe('the runc driver\'s FIFOs reach the runtime through a read-only view', () => {
  const commands = new CommandRunner();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-stdio-view-'));
  const view = `${root}-ro`;
  after(() => {
    commands.close();
    try {
      execFileSync('umount', [view]);
    } catch {
      /* never mounted */
    }
    fs.rmSync(view, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('so a runtime that chowns its stdio to the sandbox user (crun) cannot, and the FIFOs stay the server\'s', async (t) => {
    if (!requireRunc(t)) return;
    const stock = new FifoStock(root, commands, 4, view);
    const dir = await stock.take();
    assert.equal(stock.forRuntime(dir), path.join(view, path.relative(root, dir)));
    const io = openStdio(dir);
    const out: Buffer[] = [];
    io.stdout.on('data', (b: Buffer) => out.push(b));
    const ended = new Promise((r) => io.stdout.once('end', r));
    // What crun does to PID 1's stdio before it drops to the sandbox user.
    const probe = 'chown 10001 /proc/self/fd/1 2>/dev/null && echo CHOWNED || echo REFUSED; stat -L -c "%u %a" /proc/self/fd/1';
    const r = await commands.runLine(backgroundCommand(['bash', '-c', probe], dir, stock.forRuntime(dir)));
    assert.equal(r.code, 0);
    // stdin stays open until the runtime has its ends (its open of `in` waits for a writer).
    await ended;
    io.stdin.end();
    assert.equal(await io.exited, 0);
    assert.equal(Buffer.concat(out).toString(), 'REFUSED\n0 600\n');
    io.destroy();
    stock.close();
  });
});
