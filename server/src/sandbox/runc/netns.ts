import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RunCommand } from './command-runner.js';

/**
 * Network for runc sandboxes: a fresh network namespace per sandbox with one veth pair, its host end a port of
 * the Docker sandbox network's bridge, so Docker's own iptables rules for that bridge (no inter-container
 * traffic, no traffic leaving the subnet) and the server's host guard apply exactly as they do to Docker's
 * containers. The sandbox gets eth0 with an address of the bridge's subnet and no default route; it reaches
 * the runtime API and the egress proxy on the gateway address, nothing else.
 *
 * Address rule: Docker's IPAM hands out only the lower half of the subnet (the network's IPRange); runc
 * sandboxes take addresses from the upper half, leased as files under <stateDir>/ips (O_EXCL: several
 * servers on one host never share an address).
 */

export interface Ipv4Range {
  /** First and last usable address, as 32-bit numbers. */
  first: number;
  last: number;
  prefix: number;
}

export const ipToNum = (ip: string): number => ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
export const numToIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export function parseCidr4(cidr: string): { network: number; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  return { network: Math.floor(ipToNum(m[1]!) / size) * size, prefix };
}

/** The lower half of a subnet: what Docker's IPAM may use (its IPRange). */
export function dockerHalf(subnet: string): string {
  const { network, prefix } = parseCidr4(subnet);
  if (prefix > 28) throw new Error(`the sandbox subnet ${subnet} is too small to share between Docker and runc`);
  return `${numToIp(network)}/${prefix + 1}`;
}

/** The upper half of the subnet, without its broadcast address: runc's addresses. */
export function runcRange(subnet: string, gateway: string | null): Ipv4Range {
  const { network, prefix } = parseCidr4(subnet);
  const size = 2 ** (32 - prefix);
  const first = network + size / 2;
  const last = network + size - 2;
  if (gateway && ipToNum(gateway) >= first && ipToNum(gateway) <= last) throw new Error(`the gateway ${gateway} lies in the runc half of ${subnet}`);
  return { first, last, prefix };
}

/** Runs `ip` with commands on stdin (one exec for several steps). */
export async function ipBatch(run: RunCommand, args: string[], lines: string[]): Promise<void> {
  const r = await run(['ip', ...args, '-b', '-'], lines.join('\n') + '\n');
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
}

export interface SandboxNet {
  ip: string;
  veth: string;
  /** The namespace for the OCI spec to join. */
  path: string;
  /** Once nothing runs in the sandbox: removes what is left of its network (its address may then be reused). */
  release(): Promise<void>;
}

/**
 * How the runc driver makes sandbox networks. Two ways: in-process over rtnetlink (netlink-nets.ts, native
 * addon, no process per sandbox) and with `ip` processes (IpSandboxNets, where the addon is not built).
 */
export interface SandboxNets {
  create(id: string, ip: string, prefix: number, bridge: string): Promise<SandboxNet>;
  /** Finishes removals still pending. */
  close(): Promise<void>;
}

/** Sandbox networks made by `ip`: a named namespace (/var/run/netns/cr-<id>), removed in batches. */
export class IpSandboxNets implements SandboxNets {
  private readonly reaper: SandboxNetReaper;

  constructor(private readonly run: RunCommand) {
    this.reaper = new SandboxNetReaper(run);
  }

  async create(id: string, ip: string, prefix: number, bridge: string): Promise<SandboxNet> {
    const { veth, path } = await createSandboxNet(this.run, id, ip, prefix, bridge);
    return { ip, veth, path, release: () => this.reaper.delete(id) };
  }

  close(): Promise<void> {
    return this.reaper.close();
  }
}

export function netNames(id: string): { netns: string; veth: string } {
  const short = id.slice(0, 12);
  return { netns: `cr-${short}`, veth: `vcr${short}` };
}

export class IpLeases {
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly range: Ipv4Range,
  ) {
    this.dir = path.join(stateDir, 'ips');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Takes a free address for `owner`; a random start spreads servers across the range. */
  take(owner: string): string {
    const n = this.range.last - this.range.first + 1;
    const start = crypto.randomInt(n);
    for (let i = 0; i < n; i++) {
      const ip = numToIp(this.range.first + ((start + i) % n));
      try {
        fs.writeFileSync(path.join(this.dir, ip), owner, { flag: 'wx', mode: 0o600 });
        return ip;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new Error('no free address for a runc sandbox');
  }

  release(ip: string, owner: string): void {
    const f = path.join(this.dir, ip);
    try {
      if (fs.readFileSync(f, 'utf8') === owner) fs.unlinkSync(f);
    } catch {
      /* already released */
    }
  }

  /** Addresses held by an owner (used to clean up after a crashed server). */
  heldBy(owner: string): string[] {
    const out: string[] = [];
    for (const f of fs.readdirSync(this.dir)) {
      try {
        if (fs.readFileSync(path.join(this.dir, f), 'utf8') === owner) out.push(f);
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  }
}

/** Creates the namespace and veth pair: two `ip` execs. */
export async function createSandboxNet(run: RunCommand, id: string, ip: string, prefix: number, bridge: string): Promise<{ netns: string; veth: string; path: string }> {
  const { netns, veth } = netNames(id);
  try {
    await ipBatch(run, [], [`netns add ${netns}`, `link add ${veth} type veth peer name eth0 netns ${netns}`, `link set ${veth} master ${bridge} up`]);
    // No default route: only the subnet (the gateway: runtime API and egress proxy) is reachable.
    await ipBatch(run, ['-n', netns], [`addr add ${ip}/${prefix} dev eth0`, 'link set eth0 up', 'link set lo up']);
  } catch (err) {
    await deleteSandboxNet(run, id).catch(() => undefined);
    throw err;
  }
  return { netns, veth, path: `/var/run/netns/${netns}` };
}

/** What deletes a sandbox's veth pair and namespace, if they exist. */
function deletionLines(id: string): string[] {
  const { netns, veth } = netNames(id);
  const lines: string[] = [];
  if (fs.existsSync(`/sys/class/net/${veth}`)) lines.push(`link del ${veth}`);
  if (fs.existsSync(`/var/run/netns/${netns}`)) lines.push(`netns del ${netns}`);
  return lines;
}

/**
 * Deletes the veth pair and the namespace; fine to call when either is already gone, or going. The kernel takes
 * a veth down with the last process of its peer's namespace, but asynchronously: for a few milliseconds after a
 * sandbox dies its veth is still listed while `ip` can no longer find it (measured here: 40 of 50 times right
 * after a kill, every one of them failing with "Cannot find device"). What counts is that nothing is left.
 */
export async function deleteSandboxNet(run: RunCommand, id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const lines = deletionLines(id);
    if (!lines.length) return;
    try {
      await ipBatch(run, ['-force'], lines);
      return;
    } catch (err) {
      if (attempt === 5) throw err;
      await new Promise((r) => setTimeout(r, 10 << attempt));
    }
  }
}

/**
 * Deletes sandbox networks in batches. Every `ip` process costs ~20 ms of CPU on the 2-core development VM
 * (one deleting 20 networks: ~3 ms each), so removals are collected for up to `delayMs` (or until `maxBatch`
 * wait) and go to one process. Nobody waits for a network's deletion but the sandbox's own clean-up, which
 * runs after its result is out; callers remove their sandbox's other traces (its bundle) only after this
 * resolves, so a server that dies with a batch pending leaves the sandbox to the start-up sweep, never a
 * namespace without a record of it. A batch that fails is retried one sandbox at a time, so each caller gets
 * its own error. `close` deletes what is pending at once.
 */
export class SandboxNetReaper {
  private queue: { id: string; resolve(): void; reject(err: unknown): void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly run: RunCommand,
    private readonly o: { delayMs?: number; maxBatch?: number } = {},
  ) {}

  delete(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, resolve, reject });
      if (this.closed || this.queue.length >= (this.o.maxBatch ?? 32)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.delayMs ?? 1000);
    });
  }

  /** Deletes everything pending now, and anything asked for later without delay. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.flushing) await this.flushing;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushing ??= (async () => {
      while (this.queue.length) {
        const batch = this.queue.splice(0);
        const lines = batch.flatMap((w) => deletionLines(w.id));
        let ok = true;
        if (lines.length) ok = await ipBatch(this.run, ['-force'], lines).then(() => true, () => false);
        for (const w of batch) {
          if (ok) w.resolve();
          else await deleteSandboxNet(this.run, w.id).then(w.resolve, w.reject);
        }
      }
    })().finally(() => {
      this.flushing = null;
      // Asked for after the loop's last look at the queue.
      if (this.queue.length) this.flush();
    });
  }
}
