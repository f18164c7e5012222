import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type CommandRunner, type RunCommand, shellQuote } from './command-runner.js';

/**
 * A runc sandbox's stdio as named pipes, so that the runtime can be started by one of the command shells
 * (a bash of a few MB forks in about a millisecond) instead of by the server: forking the server, with a few
 * hundred MB mapped, took its main thread ~30 ms per sandbox under load, a fifth of its busy time.
 *
 * Each sandbox gets a directory of four FIFOs: `in` (the job), `out`, `err` and `status` (the runtime's exit
 * code, written by the shell's background job once `runc run` has returned).
 */
const NAMES = ['in', 'out', 'err', 'status'] as const;

/** The mount options of the topmost mount at `target`, or null if nothing is mounted there. */
function mountOptions(target: string): string[] | null {
  const line = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === target)
    .at(-1);
  return line ? line.split(' ')[5]!.split(',') : null;
}

/**
 * Makes `view` a read-only bind mount of `root` (idempotent; a view another server made is checked, and made
 * read-only if it is not yet). Left mounted: it is shared by every server with this state directory.
 */
export async function ensureReadOnlyView(root: string, view: string, run: RunCommand): Promise<void> {
  fs.mkdirSync(view, { recursive: true, mode: 0o700 });
  const must = async (argv: string[]) => {
    const r = await run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  };
  if (!mountOptions(view)) await must(['mount', '--bind', root, view]);
  if (!mountOptions(view)?.includes('ro')) await must(['mount', '-o', 'remount,bind,ro', view]);
  if (!mountOptions(view)?.includes('ro')) throw new Error(`${view} is not a read-only mount`);
}

/**
 * FIFOs made ahead, in batches: `mkfifo` is one process start (~20 ms of CPU here) for 64 as for 4.
 *
 * With a `view` (the runc driver's), the runtime opens the sandbox's ends through a read-only bind mount of the
 * stock's root (forRuntime). crun hands those FIFOs to the sandbox's PID 1 as its stdio and first chowns them to
 * the sandbox's user, which would let the script reopen its stdout and stderr for reading (/proc/self/fd/N) and
 * read back what is written there; through a read-only mount the chown fails (EROFS, which crun and runc ignore),
 * the FIFOs stay the server's (mode 0600) and the script can only write to them. (runc copies through pipes of
 * its own and Docker's shim likewise, which the script can reopen: there it can read back its own output, never
 * the launcher's end mark or report, runtime-images/README.md.)
 */
export class FifoStock {
  private ready: string[] = [];
  private making: Promise<void> | null = null;
  private viewing: Promise<void> | null = null;
  private seq = 0;
  private readonly dir: string;

  constructor(
    private readonly root: string,
    private readonly commands: Pick<CommandRunner, 'run'>,
    private readonly batch = 16,
    private readonly view: string | null = null,
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    // Directories of servers that no longer run hold nothing anyone reads. (A script sees its FIFOs' host paths
    // in /proc/self/fd, so the names say nothing about the server; its pid is in a file beside them.)
    for (const d of fs.readdirSync(root)) {
      const at = path.join(root, d);
      let owner = '';
      try {
        owner = fs.readFileSync(path.join(at, 'owner'), 'utf8');
      } catch {
        // Another server may be creating it this moment; a minute later it is a half-made leftover.
        if (Date.now() - (fs.statSync(at, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 60_000) continue;
      }
      if (!/^\d+$/.test(owner) || !fs.existsSync(`/proc/${owner}`)) fs.rmSync(at, { recursive: true, force: true });
    }
    this.dir = path.join(root, crypto.randomBytes(8).toString('hex'));
    fs.mkdirSync(this.dir, { mode: 0o700 });
    fs.writeFileSync(path.join(this.dir, 'owner'), String(process.pid), { mode: 0o600 });
  }

  /** A directory with fresh `in`, `out`, `err` and `status` FIFOs, the caller's to remove. */
  async take(): Promise<string> {
    if (this.ready.length <= this.batch / 4) void this.refill().catch(() => undefined);
    while (!this.ready.length) await this.refill();
    return this.ready.pop()!;
  }

  /** Where the runtime opens the FIFOs of `dir` (a directory `take` gave): through the read-only view, if any. */
  forRuntime(dir: string): string {
    return this.view ? path.join(this.view, path.relative(this.root, dir)) : dir;
  }

  private refill(): Promise<void> {
    return (this.making ??= (async () => {
      if (this.view) {
        const view = this.view;
        await (this.viewing ??= ensureReadOnlyView(this.root, view, (argv) => this.commands.run(argv)).catch((err: unknown) => {
          this.viewing = null;
          throw err;
        }));
      }
      const dirs = Array.from({ length: this.batch }, () => path.join(this.dir, String(this.seq++)));
      for (const d of dirs) fs.mkdirSync(d, { mode: 0o700 });
      const r = await this.commands.run(['mkfifo', '-m', '0600', ...dirs.flatMap((d) => NAMES.map((n) => path.join(d, n)))]);
      if (r.code !== 0) {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        throw new Error(`mkfifo failed (${r.code}): ${r.stderr.trim()}`);
      }
      this.ready.push(...dirs);
    })().finally(() => (this.making = null)));
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SandboxStdio {
  stdin: net.Socket;
  stdout: net.Socket;
  stderr: net.Socket;
  /** The runtime's exit code once `runc run` has returned; null if that cannot be known. */
  exited: Promise<number | null>;
  /** Closes every end the server holds. */
  destroy(): void;
}

/**
 * Opens the server's ends of a FIFO directory, without blocking: `out`, `err` and `status` read-only (on Linux a
 * FIFO that no writer has opened yet polls as neither readable nor hung up, so the streams wait for the
 * sandbox's side and end when it has closed it), `in` read-write (the sandbox's read-only open then never
 * blocks, and it sees EOF once the server closes it).
 */
export function openStdio(dir: string): SandboxStdio {
  const O = fs.constants;
  const open = (name: string, flags: number) => fs.openSync(path.join(dir, name), flags | O.O_NONBLOCK);
  const fds: number[] = [];
  const sockets: net.Socket[] = [];
  try {
    const stdin = new net.Socket({ fd: (fds.push(open('in', O.O_RDWR)), fds.at(-1)!), readable: false, writable: true });
    sockets.push(stdin);
    const reader = (name: string) => {
      const fd = open(name, O.O_RDONLY);
      fds.push(fd);
      const s = new net.Socket({ fd, readable: true, writable: false });
      sockets.push(s);
      return s;
    };
    const stdout = reader('out');
    const stderr = reader('err');
    const status = reader('status');
    stdin.on('error', () => undefined);
    const exited = new Promise<number | null>((resolve) => {
      let text = '';
      status.on('data', (b: Buffer) => {
        // Only the command shell writes here (an exit code and a newline): whatever else arrives is not kept.
        if (text.length < 16) text += b.toString('latin1', 0, 16);
        const m = /^(\d+)\n/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      status.once('end', () => resolve(null));
      status.once('close', () => resolve(null));
      status.once('error', () => resolve(null));
    });
    return {
      stdin,
      stdout,
      stderr,
      exited,
      destroy: () => {
        for (const s of sockets) s.destroy();
      },
    };
  } catch (err) {
    for (const s of sockets) s.destroy();
    for (const fd of fds.slice(sockets.length)) fs.closeSync(fd);
    throw err;
  }
}

/**
 * The command (for a command shell) that starts argv in the background with its stdio on the FIFOs of `dir` and
 * writes its exit code to `status`. The background job gets nothing of the shell's own stdio (the shell's stdin
 * is the server's command stream), and the runtime does not keep the status pipe. The runtime's stdio is opened
 * through `runtimeDir` (the same FIFOs seen through FifoStock's read-only view, forRuntime).
 */
export function backgroundCommand(argv: string[], dir: string, runtimeDir = dir): string {
  const f = (name: string) => shellQuote(path.join(dir, name));
  const r = (name: string) => shellQuote(path.join(runtimeDir, name));
  return `{ ${argv.map(shellQuote).join(' ')} <${r('in')} >${r('out')} 2>${r('err')} 9>&-; echo $? >&9; } 9>${f('status')} </dev/null >/dev/null 2>&1 &`;
}
