// The host facts the driver choice is made from (choose-driver.ts), probed once at start. Cheap by design: a
// few small files, and `--version` of each candidate runtime and of `ip`, all at once.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { chooseDriver, type DriverChoice, type DriverIntent, explicitChoice, type HostFacts, type OciRuntimeFacts, type Probed, runcCandidates } from './choose-driver.js';
import { readAppArmorEnabled, readHybridV2Controllers } from './runc/host-facts.js';
import { loadNetlinkAddon } from './runc/netlink-nets.js';

const PROBE_TIMEOUT_MS = 5_000;
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

const readStatus = (): string => {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
};

/** The effective capabilities the runc driver needs, from /proc/self/status; null where it cannot be read. */
function readCapabilities(): HostFacts['capabilities'] {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(readStatus())?.[1];
  if (!hex) return null;
  const eff = BigInt(`0x${hex}`);
  return { sysAdmin: ((eff >> CAP_SYS_ADMIN) & 1n) === 1n, netAdmin: ((eff >> CAP_NET_ADMIN) & 1n) === 1n };
}

/** The first line of `<binary> <arg>`: running it is the truthful test that it is there and works. */
function firstLine(binary: string, arg: string): Promise<Probed<string>> {
  return new Promise((resolve) => {
    execFile(binary, [arg], { timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      if (!err) return resolve({ ok: true, value: stdout.split('\n')[0]!.trim() });
      const e = err as NodeJS.ErrnoException;
      const where = binary.includes('/') ? binary : `${binary} on PATH`;
      resolve({ ok: false, error: e.code === 'ENOENT' ? `${where} is not installed` : `${binary} ${arg} failed: ${e.message.split('\n')[0]}` });
    });
  });
}

/** Everything chooseDriver looks at. */
export async function probeHost(intent: DriverIntent): Promise<HostFacts> {
  const binaries = runcCandidates(intent);
  const [iproute2, ...versions] = await Promise.all([firstLine('ip', '-V'), ...binaries.map((b) => firstLine(b, '--version'))]);
  const runtimes: OciRuntimeFacts[] = binaries.map((binary, i) => ({ binary, version: versions[i]! }));
  let netlinkAddon: HostFacts['netlinkAddon'] = null;
  if (intent.runcNetwork !== 'ip') {
    const loaded = loadNetlinkAddon();
    netlinkAddon = 'addon' in loaded ? { ok: true, value: true } : { ok: false, error: loaded.error };
  }
  return {
    uid: process.getuid?.() ?? null,
    capabilities: readCapabilities(),
    apparmorEnabled: readAppArmorEnabled(),
    hybridV2Controllers: readHybridV2Controllers(),
    iproute2,
    netlinkAddon,
    runtimes,
  };
}

/** The driver this server runs: an explicit one as it is (unprobed), auto from this host's facts. */
export async function resolveDriver(intent: DriverIntent): Promise<DriverChoice> {
  if (intent.requested !== 'auto') return explicitChoice({ ...intent, requested: intent.requested });
  return chooseDriver(intent, await probeHost(intent));
}
