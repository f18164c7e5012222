import { nanoCpus, type SandboxSpec, type SandboxTmpfs, tmpfsOptions } from '../spec.js';
import { type OciSeccomp, toOciSeccomp } from './seccomp-oci.js';

/**
 * Renders the sandbox spec (../spec.ts, the security model) as an OCI runtime config.json the way dockerd 20.10
 * renders the same sandbox (docker/render.ts), so that the runc runtime cannot drift from the Docker one; what
 * has no rendering here (a gVisor sandbox, a seccomp profile it cannot convert) is refused. The result is
 * checked against a config.json that Docker itself generated (server/test/fixtures/docker-20.10-config.json).
 */

export interface ImageConfig {
  env: string[];
  entrypoint: string[];
  cmd: string[];
}

export interface OciSpecContext {
  /** The container's id (64 hex digits, like Docker's); the hostname is its first 12. */
  id: string;
  image: ImageConfig;
  /** The shared, read-only root filesystem of the image. */
  rootfs: string;
  /** Per-container files bound read-only over the image's. */
  files: { hosts: string; hostname: string; resolvConf: string };
  /** The container's network namespace (bind-mounted under /var/run/netns). */
  netnsPath: string;
  /** cgroup path relative to each hierarchy's root, e.g. /cronium-runc/<id>. */
  cgroupsPath: string;
  /** For the seccomp profile: the host's architecture (Docker's name) and kernel release. */
  seccomp: { arch: string; kernel: string };
}

/** Docker's defaults (oci/defaults.go, daemon/oci_linux.go) for every container. */
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** Docker's default device cgroup rules (runc adds its own defaults on top, as it does for Docker's). */
const DEVICE_RULES = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
];

export interface OciSpec {
  ociVersion: string;
  process: Record<string, unknown> & { env: string[]; args: string[] };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  annotations: Record<string, string>;
  linux: Record<string, unknown> & { seccomp?: OciSeccomp; namespaces: { type: string; path?: string }[] };
}

class Unsupported extends Error {}

/** Docker's ReplaceOrAppendEnvValues. */
function mergeEnv(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const kv of extra) {
    const k = kv.split('=')[0];
    const i = out.findIndex((e) => e.split('=')[0] === k);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

/** Docker's tmpfs options: noexec (a sandbox tmpfs is never exec), rprivate, then the mount's own. */
function ociTmpfsOptions(t: SandboxTmpfs): string[] {
  return ['noexec', 'rprivate', ...tmpfsOptions(t)];
}

export function ociSpec(spec: SandboxSpec, ctx: OciSpecContext): OciSpec {
  const c = spec.confinement;
  // gVisor sandboxes run under dockerd with runsc (docker/); this runtime would run them on the host kernel.
  if (c.tier !== 'standard') throw new Unsupported(`runtime ${c.runtime} is not runc`);

  const { uid, gid } = spec.user;
  const hostname = ctx.id.slice(0, 12);
  const seccomp: OciSeccomp = toOciSeccomp(c.seccomp.profile, { ...ctx.seccomp, caps: [...spec.capabilities] });

  const mounts: OciSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${DEFAULT_SHM_BYTES}`] },
    ...[...spec.tmpfs]
      .sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path))
      .map((t) => ({ destination: t.path, type: 'tmpfs', source: 'tmpfs', options: ociTmpfsOptions(t) })),
    // After the tmpfs mounts: a bind mount may sit in one (a bundle's node_modules in /work).
    ...spec.mounts.map((m) => ({ destination: m.target, type: 'bind', source: m.source, options: ['rbind', m.writable ? 'rw' : 'ro', 'nosuid', 'nodev', 'rprivate'] })),
    { destination: '/etc/resolv.conf', type: 'bind', source: ctx.files.resolvConf, options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: ctx.files.hostname, options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: ctx.files.hosts, options: ['rbind', 'ro', 'rprivate'] },
  ];

  const memory = { limit: spec.limits.memoryBytes, swap: spec.limits.memoryBytes, swappiness: 0, disableOOMKiller: false };
  const period = 100_000;
  const nano = nanoCpus(spec.limits.cpus);
  // As in Docker, 0 CPUs or pids means no limit.
  const cpu = { shares: 0, ...(nano ? { quota: Math.round((nano * period) / 1e9), period } : {}) };

  return {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid, gid, additionalGids: [gid] },
      args: [...ctx.image.entrypoint, ...ctx.image.cmd],
      env: mergeEnv(mergeEnv(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${hostname}`], ctx.image.env), spec.env),
      cwd: spec.workingDir,
      capabilities: {},
      rlimits: spec.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: u.hard, soft: u.soft })),
      noNewPrivileges: spec.noNewPrivileges,
      oomScoreAdj: spec.oomScoreAdj,
    },
    root: { path: ctx.rootfs, readonly: spec.readonlyRoot },
    hostname,
    mounts,
    annotations: { ...spec.labels },
    linux: {
      sysctl: {
        'net.ipv4.ip_unprivileged_port_start': '0',
        'net.ipv4.ping_group_range': '0 2147483647',
        // Docker's set-ipv6 step: the sandbox network has no IPv6, so no link-local path between sandboxes either.
        'net.ipv6.conf.all.disable_ipv6': '1',
        'net.ipv6.conf.default.disable_ipv6': '1',
      },
      resources: {
        devices: DEVICE_RULES,
        memory,
        cpu,
        ...(spec.limits.pids ? { pids: { limit: spec.limits.pids } } : {}),
        blockIO: { weight: 0 },
      },
      cgroupsPath: ctx.cgroupsPath,
      namespaces: [{ type: 'mount' }, { type: 'network', path: ctx.netnsPath }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      seccomp,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
