import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CommandRunner, type RunCommand } from '../../src/sandbox/runc/command-runner.js';
import { backgroundCommand, FifoStock, openStdio } from '../../src/sandbox/runc/sandbox-stdio.js';

/** The runc driver's sandbox stdio: real FIFOs, real bash command shells, real processes. */
describe('runc sandbox stdio over FIFOs, started by a command shell', () => {
  const commands = new CommandRunner();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-stdio-'));
  after(() => {
    commands.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Starts argv as the driver starts the runtime, and waits until it runs (the driver watches runc's pid file). */
  const start = async (argv: string[], dir: string) => {
    const started = path.join(dir, 'started');
    const r = await commands.runLine(backgroundCommand(['bash', '-c', 'echo > "$0"; exec "$@"', started, ...argv], dir));
    assert.equal(r.code, 0);
    for (let i = 0; i < 200 && !fs.existsSync(started); i++) await new Promise((res) => setTimeout(res, 10));
  };

  const collect = (s: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    return new Promise<string>((r) => s.once('end', () => r(Buffer.concat(chunks).toString())));
  };

  it('makes FIFOs in batches with one mkfifo, and removes the directories of servers that are gone', async () => {
    const dead = path.join(root, 'stale');
    fs.mkdirSync(dead);
    fs.writeFileSync(path.join(dead, 'owner'), '999999999');
    const live = path.join(root, 'live');
    fs.mkdirSync(live);
    fs.writeFileSync(path.join(live, 'owner'), String(process.ppid));
    const calls: string[][] = [];
    const counted: RunCommand = (argv, stdin) => (calls.push(argv), commands.run(argv, stdin));
    const stock = new FifoStock(root, { run: counted }, 8);
    assert.ok(!fs.existsSync(dead), 'a dead server\'s FIFOs are removed');
    assert.ok(fs.existsSync(live), 'a running server\'s stay');
    const dirs = await Promise.all(Array.from({ length: 5 }, () => stock.take()));
    assert.equal(new Set(dirs).size, 5);
    for (const d of dirs) for (const n of ['in', 'out', 'err', 'status']) assert.ok(fs.statSync(path.join(d, n)).isFIFO());
    assert.equal(calls.filter((c) => c[0] === 'mkfifo').length, 1, 'five sandboxes, one mkfifo');
    stock.close();
  });

  it('delivers stdin, keeps stdout and stderr apart, and reports the exit code and the end of output', async () => {
    const stock = new FifoStock(root, commands, 4);
    const dir = await stock.take();
    const io = openStdio(dir);
    const out = collect(io.stdout);
    const err = collect(io.stderr);
    await start(['bash', '-c', 'read -r x; echo "got $x"; echo "to stderr" >&2; for f in /proc/$$/fd/*; do echo "${f##*/} $(readlink $f)"; done'], dir);
    io.stdin.end('hello\n', () => io.stdin.destroy());
    assert.equal(await io.exited, 0);
    const lines = (await out).split('\n');
    assert.equal(lines[0], 'got hello');
    assert.equal(await err, 'to stderr\n');
    const fds = lines.slice(1).filter(Boolean);
    // (Descriptors this test process inherited from whatever started it pass through to every child; these
    // checks are about the FIFOs.)
    assert.deepEqual(
      fds.filter((l) => !/^[0-2] /.test(l) && l.includes(dir)),
      [],
      `only stdio reaches the process, not the status pipe: ${fds.join('; ')}`,
    );
    assert.deepEqual(
      fds.filter((l) => /^[0-2] /.test(l)).map((l) => l.slice(l.lastIndexOf('/') + 1)),
      ['in', 'out', 'err'],
    );
    io.destroy();
    stock.close();
  });

  it('reports a command that cannot start (127, its error on stderr) and ends its streams', async () => {
    const stock = new FifoStock(root, commands, 4);
    const dir = await stock.take();
    const io = openStdio(dir);
    const err = collect(io.stderr);
    const out = collect(io.stdout);
    await commands.runLine(backgroundCommand(['/nonexistent/runtime', 'run'], dir));
    assert.equal(await io.exited, 127);
    assert.match(await err, /nonexistent/);
    assert.equal(await out, '');
    io.destroy();
    stock.close();
  });

  it('does not read a FIFO as ended before the sandbox has opened it', async () => {
    const stock = new FifoStock(root, commands, 4);
    const dir = await stock.take();
    const io = openStdio(dir);
    let ended = false;
    io.stdout.on('data', () => undefined);
    io.stdout.once('end', () => (ended = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ended, false, 'a FIFO nobody has opened for writing yet does not read as ended');
    await start(['bash', '-c', 'sleep 0.2; echo late'], dir);
    assert.equal(await io.exited, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ended, true);
    io.destroy();
    stock.close();
  });
});
