import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type FirewallState =
  | { mode: 'iptables'; installed: true; bridge: string; chain: string; allowedPorts: number[] }
  | { mode: 'external'; installed: true; reason: string }
  | { mode: 'off' | 'unavailable'; installed: false; reason: string };

/**
 * Guards the host from its sandboxes: on the sandbox bridge, the host accepts only the runtime API and the
 * egress proxy ports; a database or an API listening on all interfaces is out of reach through the gateway.
 * Docker 28's isolated gateway mode would do this natively; older engines (like Debian's 20.10) need these rules.
 * Several servers on one host share the chain: each adds and removes only its own ACCEPT rules.
 */
export class SandboxFirewall {
  private state: FirewallState = { mode: 'off', installed: false, reason: 'not installed yet' };

  constructor(
    private readonly opts: { bridge: string; networkId: string; ports: number[]; mode: 'auto' | 'off' | 'external' },
  ) {}

  get status(): FirewallState {
    return this.state;
  }

  private get chain() {
    return `CRONIUM-${this.opts.networkId.slice(0, 12)}`;
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
    const ipt = (...args: string[]) => run('iptables', ['-w', ...args]);
    const exists = async (...args: string[]) => ipt('-C', ...args).then(() => true, () => false);
    try {
      const chain = this.chain;
      await ipt('-N', chain).catch(() => undefined);
      if (!(await exists(chain, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'))) {
        await ipt('-I', chain, '1', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      }
      for (const port of this.opts.ports) {
        if (!(await exists(chain, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT'))) {
          await ipt('-I', chain, '1', '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT');
        }
      }
      // The final DROP stays last: ACCEPT rules are inserted above it.
      if (!(await exists(chain, '-j', 'DROP'))) await ipt('-A', chain, '-j', 'DROP');
      if (!(await exists('INPUT', '-i', this.opts.bridge, '-j', chain))) await ipt('-I', 'INPUT', '1', '-i', this.opts.bridge, '-j', chain);
      this.state = { mode: 'iptables', installed: true, bridge: this.opts.bridge, chain, allowedPorts: this.opts.ports };
    } catch (err) {
      this.state = { mode: 'unavailable', installed: false, reason: `iptables failed: ${(err as Error).message.split('\n')[0]}` };
    }
    return this.state;
  }

  /** Removes this server's ACCEPT rules; the DROP stays, so the host remains guarded while no server runs. */
  async uninstall(): Promise<void> {
    if (this.state.mode !== 'iptables') return;
    for (const port of this.opts.ports) {
      await run('iptables', ['-w', '-D', this.chain, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT']).catch(() => undefined);
    }
  }
}
