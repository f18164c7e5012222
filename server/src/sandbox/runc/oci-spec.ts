import type Docker from 'dockerode';
import { type DockerSeccompProfile, type OciSeccomp, toOciSeccomp } from './seccomp-oci.js';

/**
 * Turns the Docker create options of hardening.ts (the security model) into an OCI runtime config.json the way
 * dockerd 20.10 does for the same options, so that the runc driver cannot drift from the Docker driver: every
 * option is translated or refused. The result is checked against a config.json that Docker itself generated
 * (server/test/fixtures/docker-20.10-config.json).
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
  /** Only needed when the options ask for a seccomp profile. */
  seccomp?: { arch: string; kernel: string };
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

function parseUser(user: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+):(\d+)$/.exec(user ?? '');
  if (!m) throw new Unsupported(`User must be numeric uid:gid, got ${JSON.stringify(user)}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

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

/** Docker's tmpfs options: noexec,nosuid,nodev unless the mount says otherwise, rprivate, then the given ones. */
function tmpfsOptions(given: string): string[] {
  const opts = given.split(',').filter(Boolean);
  const has = (o: string) => opts.includes(o);
  const defaults = [has('exec') ? null : 'noexec', 'rprivate'].filter((o): o is string => o !== null);
  return [...defaults, ...opts];
}

const KNOWN_HOST_CONFIG = new Set([
  'ReadonlyRootfs',
  'Tmpfs',
  'CapDrop',
  'SecurityOpt',
  'Memory',
  'MemorySwap',
  'MemorySwappiness',
  'NanoCpus',
  'PidsLimit',
  'Ulimits',
  'NetworkMode',
  'IpcMode',
  'Privileged',
  'LogConfig',
  'OomScoreAdj',
  'Runtime',
  'AutoRemove',
]);

export function ociSpec(create: Docker.ContainerCreateOptions, ctx: OciSpecContext): OciSpec {
  const hc = create.HostConfig ?? {};
  for (const k of Object.keys(hc)) if (!KNOWN_HOST_CONFIG.has(k)) throw new Unsupported(`HostConfig.${k} has no runc translation yet`);
  if (hc.Privileged) throw new Unsupported('privileged containers are not supported');
  if (hc.Runtime && hc.Runtime !== 'runc') throw new Unsupported(`runtime ${hc.Runtime} is not runc`);
  if (hc.IpcMode && hc.IpcMode !== 'private') throw new Unsupported(`IpcMode ${hc.IpcMode}`);
  if (!hc.CapDrop?.includes('ALL') || (create.HostConfig as { CapAdd?: string[] }).CapAdd?.length) throw new Unsupported('only CapDrop ALL is supported');
  if (create.Tty) throw new Unsupported('Tty');

  const { uid, gid } = parseUser(create.User);
  const hostname = ctx.id.slice(0, 12);
  const entry = create.Entrypoint ? (Array.isArray(create.Entrypoint) ? create.Entrypoint : [create.Entrypoint]) : ctx.image.entrypoint;
  const cmd = create.Cmd ? (Array.isArray(create.Cmd) ? create.Cmd : [create.Cmd]) : create.Entrypoint ? [] : ctx.image.cmd;

  let noNewPrivileges = false;
  let seccomp: OciSeccomp | undefined;
  for (const opt of hc.SecurityOpt ?? []) {
    if (opt === 'no-new-privileges:true' || opt === 'no-new-privileges') noNewPrivileges = true;
    else if (opt.startsWith('seccomp=')) {
      const text = opt.slice('seccomp='.length);
      if (text === 'unconfined') throw new Unsupported('seccomp=unconfined');
      if (!ctx.seccomp) throw new Unsupported('a seccomp profile needs the architecture and kernel');
      seccomp = toOciSeccomp(JSON.parse(text) as DockerSeccompProfile, { ...ctx.seccomp, caps: [] });
    } else throw new Unsupported(`SecurityOpt ${opt}`);
  }
  // The Docker driver only ever runs gVisor without its own seccomp; a standard container without one would be weaker.
  if (!seccomp) throw new Unsupported('a standard sandbox needs its seccomp profile');

  const mounts: OciSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${DEFAULT_SHM_BYTES}`] },
    ...Object.entries(hc.Tmpfs ?? {})
      .sort(([a], [b]) => a.split('/').length - b.split('/').length || a.localeCompare(b))
      .map(([destination, o]) => ({ destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(o) })),
    { destination: '/etc/resolv.conf', type: 'bind', source: ctx.files.resolvConf, options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: ctx.files.hostname, options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: ctx.files.hosts, options: ['rbind', 'ro', 'rprivate'] },
  ];

  const memory =
    hc.Memory !== undefined
      ? {
          limit: hc.Memory,
          ...(hc.MemorySwap !== undefined ? { swap: hc.MemorySwap } : {}),
          ...(hc.MemorySwappiness !== undefined ? { swappiness: hc.MemorySwappiness } : {}),
          disableOOMKiller: false,
        }
      : undefined;
  const period = 100_000;
  const cpu = { shares: 0, ...(hc.NanoCpus ? { quota: Math.round((hc.NanoCpus * period) / 1e9), period } : {}) };

  return {
    ociVersion: '1.0.2-dev',
    process: {
      user: { uid, gid, additionalGids: [gid] },
      args: [...entry, ...cmd],
      env: mergeEnv(mergeEnv(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${hostname}`], ctx.image.env), create.Env ?? []),
      cwd: create.WorkingDir || '/',
      capabilities: {},
      rlimits: (hc.Ulimits ?? []).map((u) => ({ type: `RLIMIT_${(u.Name ?? "").toUpperCase()}`, hard: u.Hard, soft: u.Soft })),
      noNewPrivileges,
      ...(hc.OomScoreAdj !== undefined ? { oomScoreAdj: hc.OomScoreAdj } : {}),
    },
    root: { path: ctx.rootfs, readonly: Boolean(hc.ReadonlyRootfs) },
    hostname,
    mounts,
    annotations: { ...(create.Labels ?? {}) },
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
        ...(memory ? { memory } : {}),
        cpu,
        ...(hc.PidsLimit ? { pids: { limit: hc.PidsLimit } } : {}),
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
