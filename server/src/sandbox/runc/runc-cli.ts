import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The few runc commands the driver uses besides `run`, all against one dedicated state root. */
export class RuncCli {
  constructor(
    readonly binary: string,
    /** runc's --root: only Cronium's runc containers live here. */
    readonly root: string,
  ) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  async version(): Promise<string> {
    const { stdout } = await exec(this.binary, ['--version']);
    return stdout.split('\n')[0] ?? '';
  }

  /** Ids of the containers runc knows in this root, from its state directories (no exec). */
  ids(): string[] {
    try {
      return fs.readdirSync(this.root).filter((d) => fs.existsSync(path.join(this.root, d, 'state.json')));
    } catch {
      return [];
    }
  }

  exists(id: string): boolean {
    return fs.existsSync(path.join(this.root, id, 'state.json'));
  }

  /** The labels runc keeps in its state (the OCI annotations), for containers whose bundle is gone. */
  labels(id: string): Record<string, string> {
    try {
      const s = JSON.parse(fs.readFileSync(path.join(this.root, id, 'state.json'), 'utf8')) as { config?: { labels?: string[] } };
      return Object.fromEntries((s.config?.labels ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    } catch {
      return {};
    }
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await exec(this.binary, this.args('kill', '--all', id, signal)).catch((err: unknown) => {
      if (!/does not exist|not running|container not running|process already finished/i.test(String((err as { stderr?: string }).stderr ?? err))) throw err;
    });
  }

  async delete(id: string): Promise<void> {
    if (!this.exists(id)) return;
    await exec(this.binary, this.args('delete', '--force', id)).catch((err: unknown) => {
      if (!/does not exist/i.test(String((err as { stderr?: string }).stderr ?? err))) throw err;
    });
  }

  async update(id: string, r: { memoryBytes: number; cpuQuota: number; cpuPeriod: number; pids: number }): Promise<void> {
    await exec(
      this.binary,
      this.args(
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
      ),
    );
  }
}
