import fs from 'node:fs';
import { createRequire } from 'node:module';
import { netNames, type SandboxNet, type SandboxNets } from './netns.js';

/** The native addon (server/native/netns.c, built by `npm run build:native -w server`). */
export interface NetlinkAddon {
  /** A fresh network namespace with eth0 (address/prefix) and lo up, paired with `veth` on `bridge`: its fd. */
  create(veth: string, bridge: string, address: string, prefix: number): Promise<number>;
  /** Deletes the veth pair by its host end; fine when it is gone. */
  remove(veth: string): Promise<void>;
}

/** Where `npm run build:native -w server` puts the addon, from src/sandbox/runc and dist/sandbox/runc alike. */
export const ADDON_PATH = new URL('../../../build/Release/cronium_netns.node', import.meta.url).pathname;

/** The addon, or why it cannot be used. */
export function loadNetlinkAddon(): { addon: NetlinkAddon } | { error: string } {
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as NetlinkAddon };
  } catch (err) {
    return { error: `${ADDON_PATH}: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Waits until the kernel has freed a veth pair (its host end is gone), at most `timeoutMs`. */
async function vethGone(veth: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (let wait = 5; fs.existsSync(`/sys/class/net/${veth}`); wait = Math.min(wait * 2, 100)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, wait));
  }
  return true;
}

/**
 * Sandbox networks made in-process over rtnetlink: no process start per sandbox (see netns.c for why). The
 * namespace has no name: the server holds it by a descriptor and the OCI runtime joins it through
 * /proc/<pid>/fd/<fd>, so a server that dies leaves nothing behind but what its sandboxes still use.
 */
export class NetlinkSandboxNets implements SandboxNets {
  constructor(
    private readonly addon: NetlinkAddon,
    private readonly o: { freeTimeoutMs?: number } = {},
  ) {}

  async create(id: string, ip: string, prefix: number, bridge: string): Promise<SandboxNet> {
    const { veth } = netNames(id);
    const fd = await this.addon.create(veth, bridge, ip, prefix);
    let released: Promise<void> | null = null;
    return {
      ip,
      veth,
      path: `/proc/${process.pid}/fd/${fd}`,
      release: () =>
        (released ??= (async () => {
          // Called once nothing runs in the sandbox: the descriptor is the namespace's last holder, and the kernel
          // frees it with its veth pair, batched with other namespaces (an explicit delete waits ~30 ms for RCU on
          // a libuv pool thread, which DNS lookups and file I/O share). The address goes back only once the pair
          // is gone: an interface of a dying namespace still answers ARP for it. Anything still holding the
          // namespace (a process that outlived its kill) gets its veth deleted.
          fs.closeSync(fd);
          if (!(await vethGone(veth, this.o.freeTimeoutMs ?? 5_000))) await this.addon.remove(veth);
        })()),
    };
  }

  async close(): Promise<void> {
    /* nothing is batched */
  }
}
