// Which sandbox driver runs standard-tier sandboxes: a pure decision over facts probed once at start
// (probe-host.ts does the probing). No I/O here, so that every combination of host facts is table-tested.
import path from 'node:path';
import type { Config } from '../config.js';

/** What CRONIUM_SANDBOX_DRIVER asks for. */
export const DRIVER_REQUESTS = ['auto', 'docker', 'runc'] as const;
export type DriverRequest = (typeof DRIVER_REQUESTS)[number];
/** The driver as an operator names it, fastest first: crun and runc are the runc driver with that OCI runtime. */
export const DRIVER_NAMES = ['crun', 'runc', 'docker'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

/** A probe's answer: what it found, or why not. */
export type Probed<T> = { ok: true; value: T } | { ok: false; error: string };

/** One OCI runtime the runc driver could run: the binary as configured, and the first line of its `--version`. */
export interface OciRuntimeFacts {
  binary: string;
  version: Probed<string>;
}

export interface HostFacts {
  /** The server's user id; null where the platform has none. */
  uid: number | null;
  /** CAP_SYS_ADMIN (namespaces, mounts) and CAP_NET_ADMIN (veth pairs) in the server's effective set; null: unknown. */
  capabilities: { sysAdmin: boolean; netAdmin: boolean } | null;
  /** /sys/module/apparmor/parameters/enabled is Y. */
  apparmorEnabled: boolean;
  /** Controllers left on the v2 mount of a hybrid cgroup layout (/sys/fs/cgroup/unified/cgroup.controllers). */
  hybridV2Controllers: string[];
  /** `ip -V` (iproute2): the runc driver needs it whichever way it makes networks. */
  iproute2: Probed<string>;
  /** The native network addon; null where it is not looked for (CRONIUM_RUNC_NETWORK=ip). */
  netlinkAddon: Probed<true> | null;
  /** The OCI runtimes auto may use (runcCandidates), most preferred first. */
  runtimes: OciRuntimeFacts[];
}

/** The part of the configuration the choice depends on. */
export interface DriverIntent {
  requested: DriverRequest;
  /** CRONIUM_RUNC_BINARY, only when set. */
  runcBinary?: string;
  runcNetwork: 'auto' | 'netlink' | 'ip';
}

export function driverIntent(sandbox: Config['sandbox']): DriverIntent {
  return { requested: sandbox.driver, runcBinary: sandbox.runcBinary, runcNetwork: sandbox.runcNetwork };
}

/** Why a driver was not taken: a stable code for programs, a sentence for people. */
export const PASS_OVER_CODES = ['NOT_ROOT', 'NO_CAPABILITIES', 'APPARMOR_ENABLED', 'NO_IPROUTE2', 'NO_NETLINK_ADDON', 'RUNTIME_MISSING', 'CGROUP_LAYOUT'] as const;
export type PassOverCode = (typeof PASS_OVER_CODES)[number];

export interface PassedOver {
  driver: DriverName;
  code: PassOverCode;
  why: string;
}

/** The driver create-driver.ts builds (runc: with that OCI runtime), named, with why and what auto passed over. */
export type DriverChoice = {
  requested: DriverRequest;
  reason: string;
  /** Drivers preferred over the chosen one that cannot run here; empty unless auto fell back. */
  passedOver: PassedOver[];
} & ({ driver: 'docker'; chosen: 'docker' } | { driver: 'runc'; runcBinary: string; chosen: 'crun' | 'runc' });

const DEFAULT_RUNC_BINARY = 'runc';

/** The OCI runtimes auto tries, fastest first: the one CRONIUM_RUNC_BINARY names if set, else crun then runc. */
export function runcCandidates(intent: DriverIntent): string[] {
  return intent.runcBinary ? [intent.runcBinary] : ['crun', 'runc'];
}

/**
 * crun or runc: by what the binary says it is where it answered (a `runc` that is crun underneath gets crun's
 * rules), else by its name. Any other OCI runtime with runc's command line counts as runc.
 */
export function runtimeKind(binary: string, version?: string): 'crun' | 'runc' {
  if (version !== undefined) return /^crun\b/.test(version) ? 'crun' : 'runc';
  return path.basename(binary).startsWith('crun') ? 'crun' : 'runc';
}

/** What an explicit CRONIUM_SANDBOX_DRIVER gives: exactly that, unprobed; the runc driver refuses itself where it cannot run. */
export function explicitChoice(intent: DriverIntent & { requested: 'docker' | 'runc' }): DriverChoice {
  if (intent.requested === 'docker') {
    return { requested: 'docker', driver: 'docker', chosen: 'docker', reason: 'CRONIUM_SANDBOX_DRIVER=docker', passedOver: [] };
  }
  const binary = intent.runcBinary ?? DEFAULT_RUNC_BINARY;
  return {
    requested: 'runc',
    driver: 'runc',
    runcBinary: binary,
    chosen: runtimeKind(binary),
    reason: `CRONIUM_SANDBOX_DRIVER=runc with CRONIUM_RUNC_BINARY=${binary}${intent.runcBinary ? '' : ' (the default)'}`,
    passedOver: [],
  };
}

/** What keeps the runc driver, whichever its runtime, from running on this host. */
function hostBlockers(intent: DriverIntent, f: HostFacts): { code: PassOverCode; why: string }[] {
  const out: { code: PassOverCode; why: string }[] = [];
  if (f.uid !== 0) {
    out.push({ code: 'NOT_ROOT', why: f.uid === null ? 'this platform has no root user' : `the server does not run as root (uid ${f.uid})` });
  } else if (!f.capabilities || !f.capabilities.sysAdmin || !f.capabilities.netAdmin) {
    // Root in a container without them: it could not make a sandbox's namespaces, mounts or veth.
    const lacking = !f.capabilities ? 'its capabilities are unknown (no /proc/self/status)' : `it lacks ${[!f.capabilities.sysAdmin && 'CAP_SYS_ADMIN', !f.capabilities.netAdmin && 'CAP_NET_ADMIN'].filter(Boolean).join(' and ')}`;
    out.push({ code: 'NO_CAPABILITIES', why: `the server runs as root but ${lacking}` });
  }
  if (f.apparmorEnabled) {
    out.push({ code: 'APPARMOR_ENABLED', why: 'AppArmor is enabled and the runc driver applies no AppArmor profile (Docker applies docker-default)' });
  }
  if (!f.iproute2.ok) out.push({ code: 'NO_IPROUTE2', why: `iproute2 (the "ip" command) is missing: ${f.iproute2.error}` });
  if (intent.runcNetwork === 'netlink' && !f.netlinkAddon?.ok) {
    const error = f.netlinkAddon && !f.netlinkAddon.ok ? f.netlinkAddon.error : 'not loaded';
    out.push({ code: 'NO_NETLINK_ADDON', why: `CRONIUM_RUNC_NETWORK=netlink and the native network addon is not built (${error})` });
  }
  return out;
}

/** What keeps this OCI runtime from running here, on a host the runc driver can run on. */
function runtimeBlocker(rt: OciRuntimeFacts, f: HostFacts): { code: PassOverCode; why: string } | null {
  if (!rt.version.ok) return { code: 'RUNTIME_MISSING', why: rt.version.error };
  if (runtimeKind(rt.binary, rt.version.value) === 'crun' && f.hybridV2Controllers.length) {
    return {
      code: 'CGROUP_LAYOUT',
      why: `crun refuses this host's hybrid cgroup layout (${f.hybridV2Controllers.join(', ')} on the v2 mount next to v1 hierarchies; scripts/host-setup.sh mounts them as v1)`,
    };
  }
  return null;
}

function networksBy(intent: DriverIntent, f: HostFacts): string {
  if (intent.runcNetwork === 'ip') return 'networks by ip processes (CRONIUM_RUNC_NETWORK=ip)';
  return f.netlinkAddon?.ok ? 'networks by the native addon' : 'networks by ip processes (the native addon is not built)';
}

/**
 * The driver to run. An explicit docker or runc is taken as it is. auto takes the first OCI runtime of
 * runcCandidates the runc driver can run here (crun, then runc: crun starts a sandbox for a fraction of runc's
 * CPU), else docker. The Docker engine is not a fact here: every driver needs it (images, the sandbox network,
 * gVisor), so its absence is the driver's start error, whichever was chosen.
 */
export function chooseDriver(intent: DriverIntent, facts: HostFacts): DriverChoice {
  if (intent.requested !== 'auto') return explicitChoice({ ...intent, requested: intent.requested });
  const candidates = facts.runtimes.map((rt) => ({ rt, kind: runtimeKind(rt.binary, rt.version.ok ? rt.version.value : undefined) }));
  const blockers = hostBlockers(intent, facts);
  const passedOver: PassedOver[] = [];
  const via = intent.runcBinary ? ` (CRONIUM_RUNC_BINARY=${intent.runcBinary})` : '';
  for (const { rt, kind } of candidates) {
    const blocker = blockers.length ? { code: blockers[0]!.code, why: blockers.map((b) => b.why).join('; ') } : runtimeBlocker(rt, facts);
    if (blocker) {
      passedOver.push({ driver: kind, ...blocker });
      continue;
    }
    const version = rt.version.ok ? rt.version.value : kind;
    return {
      requested: 'auto',
      driver: 'runc',
      runcBinary: rt.binary,
      chosen: kind,
      reason: `auto: ${kind}${via} runs here (${version}; root with CAP_SYS_ADMIN and CAP_NET_ADMIN, AppArmor off, ${kind === 'crun' ? 'no controllers on the cgroup v2 mount, ' : ''}iproute2; ${networksBy(intent, facts)})`,
      passedOver,
    };
  }
  const tried = passedOver.map((p) => p.driver).join(' and ');
  return {
    requested: 'auto',
    driver: 'docker',
    chosen: 'docker',
    reason: `auto: docker, as ${tried || 'no OCI runtime'}${via} cannot run here`,
    passedOver,
  };
}

/** The choice in one line, for the start-up log and the doctor. */
export function describeChoice(c: DriverChoice): string {
  const over = c.passedOver.length ? `; passed over: ${c.passedOver.map((p) => `${p.driver} (${p.why})`).join(', ')}` : '';
  return `sandbox driver: ${c.chosen} (${c.reason})${over}`;
}
