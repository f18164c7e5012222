import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CommandResult {
  code: number;
  stderr: string;
}

/** Runs a host command (argv, optional stdin text) and reports its exit code and stderr. */
export type RunCommand = (argv: string[], stdin?: string) => Promise<CommandResult>;

/** Single-quotes one word for bash: any byte but NUL survives. */
export const shellQuote = (s: string): string => {
  if (s.includes('\0')) throw new Error('a command argument contains a NUL byte');
  return `'${s.replaceAll("'", `'\\''`)}'`;
};

// Reads NUL-terminated (id, command) pairs; answers "<id> <code> <stderr bytes>\n<stderr>" for each (trailing
// newlines of stderr dropped). The command runs in this shell (one fork, for the command itself) with its stderr
// in a file ($1): capturing it with $(...) would fork a subshell as well, and every fork counts here. The shell
// removes the file's directory itself when its input ends: a server that exits without closing it (or is killed)
// never sees the shell's 'exit' event.
const LOOP = `LC_ALL=C
shopt -s extglob
errf=$1
while IFS= read -r -d '' id && IFS= read -r -d '' cmd; do
  eval "$cmd" 2>"$errf" >/dev/null
  code=$?
  err=
  IFS= read -r -d '' err <"$errf"
  err=\${err%%+($'\\n')}
  printf '%s %s %s\\n%s' "$id" "$code" "\${#err}" "$err"
done
rm -rf -- "\${errf%/*}"`;

/**
 * Runs the driver's short host commands (ip, runtime kill/delete/update) through long-lived bash processes.
 * Forking the server costs it 10-25 ms of its main thread per command on a 2-core VM (fork copies the page
 * tables of a process with a few hundred MB mapped); a small bash forks in about a millisecond. Commands are
 * built here from argv with every word quoted, never from text a user sent.
 */
export class CommandRunner {
  private readonly shells: Shell[];
  private turn = 0;

  constructor(size = 2) {
    this.shells = Array.from({ length: size }, () => new Shell());
  }

  run: RunCommand = (argv, stdin) => {
    const cmd = argv.map(shellQuote).join(' ') + (stdin === undefined ? ' </dev/null' : ` <<< ${shellQuote(stdin.replace(/\n$/, ''))}`);
    const shell = this.shells[this.turn++ % this.shells.length]!;
    return shell.run(cmd);
  };

  /** Runs a command line the caller built from quoted words (see sandbox-stdio.ts), never from user text. */
  runLine(cmd: string): Promise<CommandResult> {
    const shell = this.shells[this.turn++ % this.shells.length]!;
    return shell.run(cmd);
  }

  close(): void {
    for (const s of this.shells) s.close();
  }
}

class Shell {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private next = 1;
  private readonly pending = new Map<number, { resolve(r: CommandResult): void; reject(e: Error): void }>();
  private buf: Buffer = Buffer.alloc(0);

  private start(): ChildProcessWithoutNullStreams {
    const errFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-cmd-')), 'stderr');
    // Only PATH: the commands need nothing else of the server's environment (its secrets least of all), and bash
    // rebuilds the environment of every command it starts, so a small one is cheaper too.
    const env = { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
    const p = spawn('bash', ['--noprofile', '--norc', '-c', LOOP, 'cronium-cmd', errFile], { stdio: ['pipe', 'pipe', 'pipe'], env });
    p.once('exit', () => fs.rmSync(path.dirname(errFile), { recursive: true, force: true }));
    p.stdout.on('data', (d: Buffer) => this.read(d));
    p.stderr.on('data', () => undefined);
    p.stdin.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.proc === p) this.proc = null;
      for (const [, w] of this.pending) w.reject(new Error(why));
      this.pending.clear();
      this.buf = Buffer.alloc(0);
    };
    p.once('error', (err) => fail(`command shell failed: ${err.message}`));
    p.once('exit', (code) => fail(`command shell exited (${code})`));
    this.hold(p, false);
    return p;
  }

  /** A shell keeps the event loop alive only while a command of ours runs in it. */
  private hold(p: ChildProcessWithoutNullStreams, on: boolean): void {
    for (const h of [p, p.stdout, p.stdin, p.stderr] as unknown as { ref?(): void; unref?(): void }[]) (on ? h.ref?.() : h.unref?.());
  }

  run(cmd: string): Promise<CommandResult> {
    const p = (this.proc ??= this.start());
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.hold(p, true);
      this.pending.set(id, { resolve, reject });
      p.stdin.write(`${id}\0${cmd}\0`);
    });
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const [id, code, len] = this.buf.subarray(0, nl).toString().split(' ').map(Number) as [number, number, number];
      if (this.buf.length < nl + 1 + len) return;
      const stderr = this.buf.subarray(nl + 1, nl + 1 + len).toString();
      this.buf = this.buf.subarray(nl + 1 + len);
      const w = this.pending.get(id);
      this.pending.delete(id);
      w?.resolve({ code, stderr });
      if (this.pending.size === 0 && this.proc) this.hold(this.proc, false);
    }
  }

  close(): void {
    this.proc?.stdin.end();
    this.proc = null;
  }
}
