import type Docker from 'dockerode';
import { nanoCpus, type SandboxSpec, tmpfsOptions } from '../spec.js';

const bindMount = (m: SandboxSpec['mounts'][number]): Docker.MountSettings => ({
  Type: 'bind',
  Source: m.source,
  Target: m.target,
  ReadOnly: !m.writable,
  // No propagation given: Docker's default, rprivate, except for a source inside its own root (a named volume's
  // directory, where the compose server keeps its bundles), which Docker refuses as rprivate and binds rslave.
});

/** The sandbox spec (spec.ts) as Docker create options. */
export function dockerCreateOptions(spec: SandboxSpec): Docker.ContainerCreateOptions {
  const { confinement: c, limits } = spec;
  return {
    Image: spec.image,
    User: `${spec.user.uid}:${spec.user.gid}`,
    WorkingDir: spec.workingDir,
    OpenStdin: true,
    StdinOnce: spec.stdin === 'once',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: spec.tty,
    Env: [...spec.env],
    Labels: { ...spec.labels },
    HostConfig: {
      ReadonlyRootfs: spec.readonlyRoot,
      // Docker mounts a tmpfs noexec unless it is told `exec`.
      Tmpfs: Object.fromEntries(spec.tmpfs.map((t) => [t.path, tmpfsOptions(t).join(',')])),
      // Docker takes no nosuid/nodev for a bind mount: no capabilities and no-new-privileges leave a set-id file
      // nothing to grant, and the device cgroup refuses a device node.
      ...(spec.mounts.length ? { Mounts: spec.mounts.map(bindMount) } : {}),
      CapDrop: ['ALL'],
      SecurityOpt: [...(spec.noNewPrivileges ? ['no-new-privileges:true'] : []), ...(c.tier === 'standard' ? [`seccomp=${c.seccomp.text}`] : [])],
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      MemorySwappiness: 0,
      NanoCpus: nanoCpus(limits.cpus),
      PidsLimit: limits.pids,
      Ulimits: spec.ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      NetworkMode: spec.network,
      IpcMode: spec.ipc,
      Privileged: false,
      // Output is read from the attach stream; nothing a script prints is written to the host's disk by a log driver.
      LogConfig: { Type: 'none', Config: {} },
      OomScoreAdj: spec.oomScoreAdj,
      Runtime: c.tier === 'gvisor' ? c.runtime : 'runc',
      AutoRemove: false,
    },
  };
}
