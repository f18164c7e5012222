import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxJob } from '../../src/sandbox/driver.js';
import { type SandboxChannel, superviseJob } from '../../src/sandbox/job-session.js';

const job: SandboxJob = {
  executionId: 'e1', language: 'bash', script: 'echo hi', filename: 'main.sh', argv: ['bash', 'main.sh'], env: {},
  limits: { memoryMb: 64, cpus: 1, pids: 64, tmpfsMb: 16 }, isolation: 'standard',
};

/** A sandbox as the launcher would behave: it reads the nonce from the job and writes what `script` says. */
function channel(script: (nonce: string, out: (t: string) => void, err: (t: string) => void, exit: (code: number) => void) => void) {
  let out!: (t: string) => void;
  let err!: (t: string) => void;
  let exit!: (code: number | null) => void;
  const exited = new Promise<number | null>((r) => (exit = r));
  const ch: SandboxChannel = {
    connect: (o, e) => ((out = o), (err = e), () => undefined),
    send: (buf) => {
      const nonce = buf.toString('latin1').split('\0')[1]!;
      setImmediate(() => script(nonce, out, err, exit));
    },
    exited,
    outputEnded: exited.then(() => undefined),
  };
  return ch;
}

const usage = (nonce: string, code: number) => `__CRONIUM_USAGE_${nonce}__ {"exitCode":${code},"cpuNs":1000000,"memoryPeakBytes":1,"oomKills":0}\n`;

describe('superviseJob', () => {
  it('takes the job mark out of stdout and reports the job as accepted', async () => {
    const stdout: string[] = [];
    const s = superviseJob(
      channel((n, out, err, exit) => {
        out(`__CRONIUM_JOB_${n}__\nhi\n__CRONIUM_END_${n}__\n`);
        err(usage(n, 0));
        exit(0);
      }),
      job,
      { stdout: (t) => stdout.push(t), stderr: () => undefined },
    );
    assert.equal(await s.accepted, true);
    const r = await s.done;
    assert.equal(r.exitCode, 0);
    assert.equal(stdout.join(''), 'hi\n');
  });

  it('reports a sandbox that ended before it wrote the job mark as not accepted', async () => {
    const s = superviseJob(channel((_n, _out, _err, exit) => exit(137)), job, { stdout: () => undefined, stderr: () => undefined });
    assert.equal(await s.accepted, false);
    assert.equal((await s.done).exitCode, 137);
  });

  it('counts a job as accepted once the mark is seen, even if the sandbox is then killed without a report', async () => {
    const s = superviseJob(
      channel((n, out, _err, exit) => {
        out(`__CRONIUM_JOB_${n}__\npartial`);
        exit(137);
      }),
      job,
      { stdout: () => undefined, stderr: () => undefined },
    );
    assert.equal(await s.accepted, true);
    assert.equal((await s.done).usage, null);
  });

  it('does not take a job mark with another nonce (a script printing one) as the sandbox\'s', async () => {
    const stdout: string[] = [];
    const s = superviseJob(
      channel((_n, out, _err, exit) => {
        out('__CRONIUM_JOB_forged__\n');
        exit(1);
      }),
      job,
      { stdout: (t) => stdout.push(t), stderr: () => undefined },
    );
    assert.equal(await s.accepted, false);
    await s.done;
    assert.equal(stdout.join(''), '__CRONIUM_JOB_forged__\n');
  });
});
