import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommandRunner, shellQuote } from '../../src/sandbox/runc/command-runner.js';

describe('CommandRunner (host commands through long-lived bash)', () => {
  const r = new CommandRunner();

  it('passes every argument as one word, whatever it holds, and never evaluates it', async () => {
    const odd = [`it's`, '$(touch /tmp/cronium-pwned)', '`id`', 'a b\nc', '"; exit 3; "', '*', '', 'end'];
    const res = await r.run(['bash', '-c', 'for a in "$@"; do printf "%s|" "$a" >&2; done', 'x', ...odd]);
    assert.equal(res.code, 0);
    assert.equal(res.stderr, odd.map((a) => `${a}|`).join(''));
    assert.equal(fs.existsSync('/tmp/cronium-pwned'), false);
  });

  it('reports exit codes and stderr, and feeds stdin text', async () => {
    assert.deepEqual(await r.run(['bash', '-c', 'echo oops >&2; exit 7']), { code: 7, stderr: 'oops' }, 'trailing newlines are dropped');
    const fed = await r.run(['bash', '-c', 'cat >&2'], 'line 1\nline 2\n');
    assert.equal(fed.stderr, 'line 1\nline 2');
    assert.equal((await r.run(['/nonexistent/binary'])).code, 127);
  });

  it('answers many concurrent commands, each with its own result', async () => {
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => r.run(['bash', '-c', `echo ${i} >&2; exit ${i % 5}`])));
    all.forEach((res, i) => assert.deepEqual(res, { code: i % 5, stderr: `${i}` }));
  });

  it('starts each command straight from its shell (one fork per command, no subshell in between)', async () => {
    const one = new CommandRunner(1);
    const parent = async () => (await one.run(['bash', '-c', 'echo $PPID >&2'])).stderr;
    const [a, b] = [await parent(), await parent()];
    assert.match(a, /^\d+$/);
    assert.equal(a, b, 'both commands are children of the same long-lived shell');
    one.close();
  });

  it('passes the commands none of the server\'s environment but PATH', async () => {
    process.env.CRONIUM_TEST_SECRET = 'not for host commands';
    try {
      const fresh = new CommandRunner(1);
      const names = (await fresh.run(['bash', '-c', 'compgen -e >&2'])).stderr.split('\n');
      fresh.close();
      assert.ok(names.includes('PATH'));
      assert.ok(!names.includes('CRONIUM_TEST_SECRET'), names.join(','));
    } finally {
      delete process.env.CRONIUM_TEST_SECRET;
    }
  });

  it('refuses a NUL byte instead of cutting an argument short', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });

  it('leaves no temporary directory behind, also when its process exits without closing it', async () => {
    const errFile = async (runner: CommandRunner) => (await runner.runLine('echo "$errf" >&2')).stderr;
    const closed = new CommandRunner(1);
    const dir = path.dirname(await errFile(closed));
    assert.match(dir, /cronium-cmd-/);
    assert.ok(fs.existsSync(dir));
    closed.close();
    await gone(dir);

    // A server that ends by process.exit() (or is killed) never sees its shells' 'exit' events.
    const module = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/sandbox/runc/command-runner.ts');
    const script = `const { CommandRunner } = await import(${JSON.stringify(module)});
      const r = new CommandRunner(1);
      process.stdout.write((await r.runLine('echo "$errf" >&2')).stderr);
      process.exit(0);`;
    const printed = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const orphan = path.dirname(printed);
    assert.match(orphan, /cronium-cmd-/);
    await gone(orphan);
  });
});

async function gone(dir: string): Promise<void> {
  for (let i = 0; i < 50 && fs.existsSync(dir); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(fs.existsSync(dir), false, `${dir} is still there`);
}
