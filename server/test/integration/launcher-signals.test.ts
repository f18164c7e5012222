import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { repoRoot, requireDocker } from '../helpers.js';

/**
 * The launcher's pause (`nap`) must not give PID 1 handlers for the terminating signals: the kernel delivers a
 * job's `kill -TERM 1` to a namespace's init only when it has a handler, and bash's timed `read -t` installs
 * them (the launcher then died of SIGTERM, with no usage report). The pause is taken only when the host is slow,
 * so the engine's kill test hits it by chance; here it is called directly, as PID 1 of a real sandbox image.
 */
it('the launcher pausing leaves PID 1 without handlers for TERM, HUP and QUIT', async () => {
  await requireDocker();
  const launcher = fs.readFileSync(path.join(repoRoot, 'runtime-images/base/cronium-launch'), 'utf8');
  const fn = (name: string) => {
    // A one-line definition, or the lines up to the first closing brace alone on a line.
    const m = new RegExp(`^${name}\\(\\) \\{[^\\n]*\\}[^\\n]*$|^${name}\\(\\) \\{[\\s\\S]*?^\\}$`, 'm').exec(launcher);
    assert.ok(m, `the launcher defines ${name}()`);
    return m[0];
  };
  const caught = (body: string[]) => {
    const script = [fn('now'), fn('nap'), ...body, 'grep ^SigCgt: /proc/1/status', 'true # so that bash does not exec grep in place of PID 1'].join('\n');
    const out = execFileSync('docker', ['run', '--rm', '--entrypoint', '/bin/bash', process.env.CRONIUM_IMAGE_BASH ?? 'cronium/runtime-bash:latest', '-c', script], { encoding: 'utf8' });
    return BigInt('0x' + /SigCgt:\s*([0-9a-f]+)/.exec(out)![1]!);
  };
  const before = caught([]);
  const after = caught(['nap; nap']);
  for (const [name, n] of [['HUP', 1], ['QUIT', 3], ['TERM', 15]] as const) {
    assert.equal((before >> BigInt(n - 1)) & 1n, 0n, `bash as PID 1 does not catch SIG${name} to begin with`);
  }
  // bash catches INT and CHLD only while it waits for the probe (grep) itself, and grep can read the status
  // before or after bash gets there: those two bits race with the probe, not with nap.
  const probeRace = (1n << 1n) | (1n << 16n);
  assert.equal((after & ~probeRace).toString(16), (before & ~probeRace).toString(16), 'nap leaves the signals PID 1 catches as they were');
  for (const [name, n] of [['HUP', 1], ['QUIT', 3], ['TERM', 15]] as const) {
    assert.equal((after >> BigInt(n - 1)) & 1n, 0n, `after nap, PID 1 still does not catch SIG${name}`);
  }
});
