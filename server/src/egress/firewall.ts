import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FirewallState =
  | { mode: 'iptables'; installed: true; bridge: string; chain: string; allowedPorts: number[] }
  | { mode: 'external'; installed: true; reason: string }
  | { mode: 'off' | 'unavailable'; installed: false; reason: string };

/**
 * A process as the rules it owns name it: `cronium:<pid>:<start time>` (the start time, from /proc/<pid>/stat,
 * tells a reused pid apart). Null when no such process runs.
 */
export function ownerTag(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start ? `cronium:${pid}:${start}` : null;
  } catch {
    return null;
  }
}

const OWNER = /^cronium:(\d+):(\d+)$/;

/** Whether a rule's comment names a process that still runs. */
const ownerAlive = (comment: string | undefined): boolean => {
  const m = comment ? OWNER.exec(comment) : null;
  return Boolean(m && ownerTag(Number(m[1])) === comment);
};

/** How often a running server removes the rules of servers that died, and restores its own. */
const SWEEP_MS = 30_000;

/**
 * Guards the host from its sandboxes: on the sandbox bridge, the host accepts only the runtime API and the
 * egress proxy ports; a database or an API listening on all interfaces is out of reach through the gateway.
 * Docker 28's isolated gateway mode would do this natively; older engines (like Debian's 20.10) need these rules.
 * Several servers on one host share the chain: each adds and removes only its own ACCEPT rules, tagged with its
 * pid and start time. A server that dies (SIGKILL, a crash) cannot remove its rules, and the port it leaves
 * open could later be bound by any host service, so every server removes the rules of owners that no longer
 * run when it starts and every SWEEP_MS after, along with untagged ones (older versions), and restores its own.
 */
export class SandboxFirewall {
  private state: FirewallState = { mode: 'off', installed: false, reason: 'not installed yet' };
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;
  private readonly tag = ownerTag(process.pid) ?? `cronium:${process.pid}:0`;

  constructor(
    private readonly opts: { bridge: string; networkId: string; ports: number[]; mode: 'auto' | 'off' | 'external'; sweepMs?: number },
  ) {}

  get status(): FirewallState {
    return this.state;
  }

  private get chain() {
    return `CRONIUM-${this.opts.networkId.slice(0, 12)}`;
  }

  private ipt(...args: string[]) {
    return run('iptables', ['-w', ...args]);
  }

  private exists(...args: string[]) {
    return this.ipt('-C', ...args).then(() => true, () => false);
  }

  private accept(port: number): string[] {
    return ['-p', 'tcp', '--dport', String(port), '-m', 'comment', '--comment', this.tag, '-j', 'ACCEPT'];
  }

  async install(): Promise<FirewallState> {
    if (this.opts.mode === 'external') {
      this.state = { mode: 'external', installed: true, reason: 'guarded outside the server (compose: the netguard service)' };
      return this.state;
    }
    if (this.opts.mode === 'off') {
      this.state = { mode: 'off', installed: false, reason: 'disabled by CRONIUM_EGRESS_FIREWALL=off' };
      return this.state;
    }
    if (process.getuid?.() !== 0) {
      this.state = { mode: 'unavailable', installed: false, reason: 'the server is not root, so it cannot install iptables rules' };
      return this.state;
    }
    try {
      const chain = this.chain;
      await this.ipt('-N', chain).catch(() => undefined);
      if (!(await this.exists(chain, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'))) {
        await this.ipt('-I', chain, '1', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      }
      await this.sweep();
      // The final DROP stays last: ACCEPT rules are inserted above it.
      if (!(await this.exists(chain, '-j', 'DROP'))) await this.ipt('-A', chain, '-j', 'DROP');
      if (!(await this.exists('INPUT', '-i', this.opts.bridge, '-j', chain))) await this.ipt('-I', 'INPUT', '1', '-i', this.opts.bridge, '-j', chain);
      this.state = { mode: 'iptables', installed: true, bridge: this.opts.bridge, chain, allowedPorts: this.opts.ports };
      this.timer = setInterval(() => {
        this.sweeping ??= this.sweep()
          .catch(() => undefined)
          .finally(() => (this.sweeping = null));
      }, this.opts.sweepMs ?? SWEEP_MS);
      this.timer.unref();
    } catch (err) {
      this.state = { mode: 'unavailable', installed: false, reason: `iptables failed: ${(err as Error).message.split('\n')[0]}` };
    }
    return this.state;
  }

  /** Removes ACCEPT rules whose owner no longer runs (or that name none) and (re)adds this server's. */
  async sweep(): Promise<void> {
    const chain = this.chain;
    const { stdout } = await this.ipt('-S', chain);
    for (const line of stdout.split('\n')) {
      const words = line.trim().split(/\s+/);
      if (words[0] !== '-A' || words[1] !== chain || !words.includes('--dport') || words.at(-1) !== 'ACCEPT') continue;
      const c = words.indexOf('--comment');
      const comment = c > 0 ? words[c + 1]?.replace(/^"|"$/g, '') : undefined;
      if (comment === this.tag || ownerAlive(comment)) continue;
      const spec = words.slice(2).map((w) => w.replace(/^"|"$/g, ''));
      await this.ipt('-D', chain, ...spec).catch(() => undefined);
    }
    for (const port of this.opts.ports) {
      if (this.stopped) return;
      if (!(await this.exists(chain, ...this.accept(port)))) await this.ipt('-I', chain, '1', ...this.accept(port));
    }
  }

  /** Removes this server's ACCEPT rules; the DROP stays, so the host remains guarded while no server runs. */
  async uninstall(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
    if (this.state.mode !== 'iptables') return;
    for (const port of this.opts.ports) await this.ipt('-D', this.chain, ...this.accept(port)).catch(() => undefined);
  }
}
