import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { RunCommand } from './command-runner.js';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * The few commands of an OCI runtime the driver uses besides `run`, all against one dedicated state root. runc
 * and crun share this command line; their state directories differ (runc: <root>/<id>/state.json, crun:
 * <root>/<id>/status beside a copy of config.json).
 */
const VERSION_KEPT_MS = 60_000;

export class RuncCli {
  private versionSeen: { value: string; at: number } | null = null;

  constructor(
    readonly binary: string,
    /** runc's --root: only Cronium's runc containers live here. */
    readonly root: string,
    private readonly run: RunCommand,
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  /**
   * The runtime's first version line. A success is kept for a minute: `/health` asks on every call, and each
   * `--version` is a fork of the server that, on a saturated host, held `/health` up for hundreds of ms.
   */
  async version(): Promise<string> {
    if (this.versionSeen && Date.now() - this.versionSeen.at < VERSION_KEPT_MS) return this.versionSeen.value;
    const { stdout } = await exec(this.binary, ['--version']);
    const value = stdout.split('\n')[0] ?? '';
    this.versionSeen = { value, at: Date.now() };
    return value;
  }

  /** Ids of the containers the runtime knows in this root, from its state directories (no exec). */
  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((d) => this.exists(d));
    } catch {
      return [];
    }
  }

  exists(id: string): boolean {
    return fs.existsSync(path.join(this.root, id, 'state.json')) || fs.existsSync(path.join(this.root, id, 'status'));
  }

  /** The labels the runtime keeps in its state (the OCI annotations), for containers whose bundle is gone. */
  labels(id: string): Record<string, string> {
    try {
      const s = JSON.parse(fs.readFileSync(path.join(this.root, id, 'state.json'), 'utf8')) as { config?: { labels?: string[] } };
      return Object.fromEntries((s.config?.labels ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    } catch {
      /* not runc's layout */
    }
    try {
      const c = JSON.parse(fs.readFileSync(path.join(this.root, id, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
      return c.annotations ?? {};
    } catch {
      return {};
    }
  }

  private async call(args: string[], ignore?: RegExp): Promise<void> {
    const r = await this.run([this.binary, ...this.args(...args)]);
    if (r.code !== 0 && !(ignore && ignore.test(r.stderr))) throw new Error(`${this.binary} ${args[0]} failed (${r.code}): ${r.stderr.trim()}`);
  }

  /** Signals every process of the sandbox, or with `all: false` its init only (the launcher). */
  async kill(id: string, signal = 'KILL', opts: { all: boolean } = { all: true }): Promise<void> {
    await this.call(['kill', ...(opts.all ? ['--all'] : []), id, signal], /does not exist|not running|container not running|process already finished|No such process/i);
  }

  async delete(id: string): Promise<void> {
    if (!this.exists(id)) return;
    await this.call(['delete', '--force', id], /does not exist/i);
  }

  async update(id: string, r: { memoryBytes: number; cpuQuota: number; cpuPeriod: number; pids: number }): Promise<void> {
    await this.call(
      [
        'update',
        '--memory',
        String(r.memoryBytes),
        '--memory-swap',
        String(r.memoryBytes),
        '--cpu-period',
        String(r.cpuPeriod),
        '--cpu-quota',
        String(r.cpuQuota),
        '--pids-limit',
        String(r.pids),
        id,
      ],
    );
  }
}
