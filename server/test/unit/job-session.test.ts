import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxJob } from '../../src/sandbox/driver.js';
import { type SandboxChannel, superviseJob } from '../../src/sandbox/launcher/job-session.js';

const job: SandboxJob = {
  executionId: 'e1', language: 'bash', script: 'echo hi', filename: 'main.sh', argv: ['bash', 'main.sh'], env: {},
  limits: { memoryMb: 64, cpus: 1, pids: 64, tmpfsMb: 16 }, isolation: 'standard',
};

interface Tokens {
  job: string;
  end: string;
  usage: string;
}

/** A sandbox as the launcher would behave: it reads the mark tokens from the job and writes what `script` says. */
function channel(script: (t: Tokens, out: (t: string) => void, err: (t: string) => void, exit: (code: number) => void) => void, sent: Buffer[] = []) {
  let out!: (t: string) => void;
  let err!: (t: string) => void;
  let exit!: (code: number | null) => void;
  const exited = new Promise<number | null>((r) => (exit = r));
  const ch: SandboxChannel = {
    connect: (o, e) => ((out = o), (err = e), () => undefined),
    flow: { pause: () => undefined, resume: () => undefined },
    send: (buf) => {
      assert.ok(Buffer.isBuffer(buf), 'a job without files is sent as one buffer');
      sent.push(buf);
      const [magic, job, end, usage] = buf.toString('latin1').split('\0');
      assert.equal(magic, 'CRONIUM3');
      setImmediate(() => script({ job: job!, end: end!, usage: usage! }, out, err, exit));
    },
    exited,
    outputEnded: exited.then(() => undefined),
  };
  return ch;
}

const usage = (token: string, code: number, oomKills = 0) => `__CRONIUM_USAGE_${token}__ {"exitCode":${code},"cpuNs":1000000,"memoryPeakBytes":1,"oomKills":${oomKills}}\n`;

describe('superviseJob', () => {
  it('takes the job mark out of stdout and reports the job as accepted', async () => {
    const stdout: string[] = [];
    const s = superviseJob(
      channel((k, out, err, exit) => {
        out(`__CRONIUM_JOB_${k.job}__\nhi\n__CRONIUM_END_${k.end}__\n`);
        err(usage(k.usage, 0));
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
      channel((k, out, _err, exit) => {
        out(`__CRONIUM_JOB_${k.job}__\npartial`);
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

  it('sends three different one-time tokens, new for every job', async () => {
    const sent: Buffer[] = [];
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    const end = (k: Tokens, out: (t: string) => void, err: (t: string) => void, exit: (c: number) => void) => {
      out(`__CRONIUM_JOB_${k.job}__\n__CRONIUM_END_${k.end}__\n`);
      err(usage(k.usage, 0));
      exit(0);
    };
    await superviseJob(channel(end, sent), job, quiet).done;
    await superviseJob(channel(end, sent), job, quiet).done;
    const all = sent.flatMap((b) => b.toString('latin1').split('\0').slice(1, 4));
    assert.equal(new Set(all).size, 6, all.join(' '));
    for (const t of all) assert.match(t, /^[0-9a-f]{32}$/);
  });

  it('ignores a report and an end mark made with the stolen job mark\'s token (a script reading its stdout back)', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const s = superviseJob(
      channel((k, out, err, exit) => {
        out(`__CRONIUM_JOB_${k.job}__\n`);
        // The script read the job mark back and answers with its token.
        err(usage(k.job, 0, 7));
        out(`__CRONIUM_END_${k.job}__\nmore\n`);
        setTimeout(() => {
          out(`__CRONIUM_END_${k.end}__\n`);
          err(usage(k.usage, 3));
          exit(3);
        }, 20);
      }),
      job,
      { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) },
    );
    const r = await s.done;
    assert.equal(r.exitCode, 3);
    assert.equal(r.oomKilled, false);
    assert.match(stdout.join(''), /^__CRONIUM_END_[0-9a-f]{32}__\nmore\n$/, 'the forged end mark is output, and output after it still arrives');
    assert.match(stderr.join(''), /^__CRONIUM_USAGE_[0-9a-f]{32}__ \{"exitCode":0,.*"oomKills":7\}\n$/, 'the forged report is output');
  });

  it('takes only the first report with the usage token; anything after it is output', async () => {
    const stderr: string[] = [];
    const s = superviseJob(
      channel((k, out, err, exit) => {
        out(`__CRONIUM_JOB_${k.job}__\n__CRONIUM_END_${k.end}__\n`);
        err(usage(k.usage, 3) + usage(k.usage, 0, 7));
        exit(3);
      }),
      job,
      { stdout: () => undefined, stderr: (t) => stderr.push(t) },
    );
    const r = await s.done;
    assert.equal(r.exitCode, 3);
    assert.equal(r.oomKilled, false);
    assert.match(stderr.join(''), /"oomKills":7/);
  });
});
