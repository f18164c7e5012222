import crypto from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DockerDriver, type DockerDriverOptions } from './docker-driver.js';
import { superviseJob } from './job-session.js';
import { createLosslessDecoder, type LosslessDecoder } from './lossless-decoder.js';
import {
  LABEL_MANAGED,
  type SandboxCapabilities,
  type PoolingSandboxDriver,
  SandboxError,
  type SandboxJob,
  type SandboxLimits,
  type SandboxNetworkInfo,
  type SandboxOutput,
  type SandboxRun,
} from './driver.js';
import { containerSpec } from './hardening.js';
import { CommandRunner, type RunCommand } from './runc/command-runner.js';
import { keepFreezerActive } from './runc/freezer-keepalive.js';
import { deleteSandboxNet, dockerHalf, IpLeases, IpSandboxNets, type Ipv4Range, runcRange, type SandboxNet, type SandboxNets } from './runc/netns.js';
import { ociSpec } from './runc/oci-spec.js';
import { ensureRootfs, type ResolvedImage, resolveImage } from './runc/rootfs.js';
import { RuncCli } from './runc/runc-cli.js';
import { backgroundCommand, FifoStock, openStdio, type SandboxStdio } from './runc/sandbox-stdio.js';
import { hostArch } from './runc/seccomp-oci.js';
import { readyMarkStripper } from './ready-mark.js';
import { SandboxPool } from './sandbox-pool.js';
import type { PoolMember } from './warm-pool.js';

export interface RuncDriverOptions extends DockerDriverOptions {
  runcBinary: string;
  /** Bundles, runc's state root, IP leases and the shared image roots live here (a tmpfs such as /run). */
  stateDir: string;
  /** How sandbox networks are made (default: with `ip`); given the driver's command runner. */
  nets?(run: RunCommand): SandboxNets;
}

interface Prepared extends PoolMember {
  id: string;
  stdin: net.Socket;
  exited: Promise<number | null>;
  streamsEnded: Promise<void>;
  limits: SandboxLimits;
  setSinks(out: (b: Buffer) => void, err: (b: Buffer) => void): void;
  /** The launcher reported the job's end: the sandbox is about to exit by itself. */
  jobEnded(): void;
  remove(): Promise<void>;
}

const MB = 1024 * 1024;

const readText = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};
const CPU_PERIOD = 100_000;
const IMAGE_TTL_MS = 5_000;
/** Far longer than any bundle goes without a runtime container while a server makes or removes it (milliseconds to seconds). */
const ABANDONED_AFTER_MS = 10 * 60_000;
/** The runtime images' launcher, and the execute-only copy of bash it re-executes itself into (cronium-launch). */
const LAUNCHER = '/usr/local/bin/cronium-launch';
const LAUNCHER_BASH = '/usr/local/lib/cronium/bash';

/** Whether the image has the launcher's bash, executable and unreadable, as the runtime images build it. */
function hasLauncherBash(rootfs: string): boolean {
  try {
    const st = fs.statSync(path.join(rootfs, LAUNCHER_BASH));
    return st.isFile() && (st.mode & 0o444) === 0 && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Runs standard-isolation sandboxes with runc directly, bypassing dockerd on the per-execution path, with the
 * hardening of hardening.ts translated to OCI (runc/oci-spec.ts). Docker still owns the images, the sandbox
 * network and everything gVisor: those go through the DockerDriver it holds.
 */
export class RuncDriver implements PoolingSandboxDriver {
  readonly docker: DockerDriver;
  private readonly runc: RuncCli;
  private readonly commands = new CommandRunner();
  readonly nets: SandboxNets;
  private readonly fifos: FifoStock;
  /** Clean-ups of ended sandboxes still running (see remove); `close` waits for them. */
  private readonly cleaning = new Set<Promise<void>>();
  private readonly bundles: string;
  /** Pooled sandboxes get the same hardening as cold ones. */
  readonly pool: SandboxPool<Prepared>;
  private net: { info: SandboxNetworkInfo; range: Ipv4Range; leases: IpLeases } | null = null;
  private readonly images = new Map<string, { at: number; p: Promise<{ image: ResolvedImage; rootfs: string; launcherBash: boolean }> }>();
  private readonly seccomp = { arch: hostArch(), kernel: os.release() };

  constructor(private readonly opts: RuncDriverOptions) {
    this.docker = new DockerDriver({ ...opts, poolSize: 0 });
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.runc = new RuncCli(opts.runcBinary, path.join(opts.stateDir, 'runc'), this.commands.run);
    this.bundles = path.join(opts.stateDir, 'bundles');
    this.nets = opts.nets?.(this.commands.run) ?? new IpSandboxNets(this.commands.run);
    // The runtime opens them through a read-only view, so that crun cannot chown them to the sandbox (sandbox-stdio.ts).
    this.fifos = new FifoStock(path.join(opts.stateDir, 'stdio'), this.commands, 16, path.join(opts.stateDir, 'stdio-ro'));
    keepFreezerActive();
    fs.mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    this.pool = new SandboxPool<Prepared>({
      size: opts.poolSize,
      limits: opts.poolLimits,
      idleMs: opts.poolIdleMs,
      prepare: (language, limits) => this.prepare(language, limits, ''),
      update: (p, l) => this.runc.update(p.id, { memoryBytes: l.memoryMb * MB, cpuQuota: Math.round(l.cpus * CPU_PERIOD), cpuPeriod: CPU_PERIOD, pids: l.pids }),
      onError: opts.onPoolError,
    });
  }

  private later(fn: () => Promise<void>): void {
    // A failed clean-up leaves the bundle behind, which the next start-up sweep removes with the rest.
    const p: Promise<void> = fn()
      .catch(() => undefined)
      .finally(() => this.cleaning.delete(p));
    this.cleaning.add(p);
  }

  async close(): Promise<void> {
    // Once the networks are closed, clean-ups no longer wait for a batch; any started meanwhile are awaited too.
    await this.nets.close();
    while (this.cleaning.size) await Promise.all([...this.cleaning]);
    this.fifos.close();
    this.commands.close();
  }

  async ping(): Promise<void> {
    await this.docker.ping();
    let version: string;
    try {
      version = await this.runc.version();
    } catch (err) {
      throw new SandboxError('RUNTIME_UNAVAILABLE', `runc is not usable at ${this.opts.runcBinary}: ${(err as Error).message}`);
    }
    // Docker would confine its containers with the docker-default AppArmor profile; this driver applies none.
    if (readText('/sys/module/apparmor/parameters/enabled') === 'Y') {
      throw new SandboxError('RUNTIME_UNAVAILABLE', 'AppArmor is enabled on this host and the runc driver applies no AppArmor profile: use CRONIUM_SANDBOX_DRIVER=docker');
    }
    if (/^crun\b/.test(version) && readText('/sys/fs/cgroup/unified/cgroup.controllers')) {
      throw new SandboxError(
        'RUNTIME_UNAVAILABLE',
        'crun refuses this host\'s hybrid cgroup layout (controllers on the v2 mount next to v1 hierarchies): run scripts/host-setup.sh, which mounts them as v1, or use runc',
      );
    }
  }

  capabilities(): Promise<SandboxCapabilities> {
    return this.docker.capabilities();
  }

  missingImages(): Promise<string[]> {
    return this.docker.missingImages();
  }

  /**
   * The Docker sandbox network, with its address space split: Docker's IPAM keeps the lower half (IPRange),
   * runc sandboxes take the upper half. A network without an IPRange is recreated with one when no container
   * is attached to it; otherwise the server refuses to start rather than risk two sandboxes sharing an address.
   */
  async ensureNetwork(): Promise<SandboxNetworkInfo> {
    let info = await this.docker.ensureNetwork();
    const dockerode = this.docker.docker;
    const inspect = async () =>
      (await dockerode.getNetwork(info.id).inspect()) as {
        Containers?: Record<string, unknown>;
        IPAM?: { Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] };
        Labels?: Record<string, string>;
        Options?: Record<string, string>;
        Internal?: boolean;
      };
    let n = await inspect();
    const cfg = n.IPAM?.Config ?? [];
    if (cfg.length !== 1 || !cfg[0]!.Subnet || !/^\d+\.\d+\.\d+\.\d+\//.test(cfg[0]!.Subnet)) {
      throw new Error(`the sandbox network ${info.name} must have exactly one IPv4 subnet for the runc driver`);
    }
    const subnet = cfg[0]!.Subnet;
    const half = dockerHalf(subnet);
    if (cfg[0]!.IPRange !== half) {
      if (Object.keys(n.Containers ?? {}).length) {
        throw new Error(
          `the sandbox network ${info.name} lets Docker use all of ${subnet}; the runc driver needs Docker limited to ${half} (IPRange). Stop the containers on it so that it can be recreated, or recreate it with --ip-range ${half}`,
        );
      }
      await dockerode.getNetwork(info.id).remove();
      await dockerode
        .createNetwork({
          Name: info.name,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          Labels: { ...(n.Labels ?? {}), [LABEL_MANAGED]: 'true' },
          Options: { ...(n.Options ?? {}), 'com.docker.network.bridge.enable_icc': 'false' },
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet, IPRange: half, ...(cfg[0]!.Gateway ? { Gateway: cfg[0]!.Gateway } : {}) }] },
        })
        .catch((err: unknown) => {
          if ((err as { statusCode?: number }).statusCode !== 409) throw err;
        });
      info = await this.docker.ensureNetwork();
      n = await inspect();
      if (n.IPAM?.Config?.[0]?.IPRange !== half) throw new Error(`the sandbox network ${info.name} was recreated by someone else without IPRange ${half}`);
    }
    const range = runcRange(subnet, info.gateway);
    this.net = { info, range, leases: new IpLeases(this.opts.stateDir, range) };
    return info;
  }


  /** The image's config and its shared read-only root, re-checked every few seconds for a rebuilt image. */
  private image(language: SandboxJob['language']) {
    const name = this.opts.images[language];
    const cached = this.images.get(name);
    if (cached && Date.now() - cached.at < IMAGE_TTL_MS) return cached.p;
    const p = (async () => {
      let image: ResolvedImage;
      try {
        image = await resolveImage(this.docker.docker, name);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) throw new SandboxError('IMAGE_MISSING', `runtime image ${name} is missing: run "npm run images"`);
        throw err;
      }
      const rootfs = await ensureRootfs(this.opts.stateDir, image);
      return { image, rootfs, launcherBash: hasLauncherBash(rootfs) };
    })();
    this.images.set(name, { at: Date.now(), p });
    p.catch(() => this.images.delete(name));
    return p;
  }

  /** Writes the bundle, sets up the network and starts `runc run`: the sandbox then waits for its job on stdin. */
  private async prepare(language: SandboxJob['language'], limits: SandboxLimits, executionId: string): Promise<Prepared> {
    if (!this.net) throw new SandboxError('START_FAILED', 'the sandbox network is not set up (ensureNetwork)');
    const { info, range, leases } = this.net;
    const { image, rootfs, launcherBash } = await this.image(language);
    const id = crypto.randomBytes(32).toString('hex');
    const bundle = path.join(this.bundles, id);
    let ip: string | null = null;
    let net: SandboxNet | null = null;

    let removing: Promise<void> | null = null;
    let stdioDir: string | null = null;
    let stdio: SandboxStdio | null = null;
    let launched = false;
    let exited: Promise<number | null> = Promise.resolve(null);
    let hasExited = false;
    let jobDone = false;
    const remove = () =>
      (removing ??= (async () => {
        // A sandbox whose launcher has reported the job's end exits within milliseconds. Killing it instead
        // (`kill --all` freezes its cgroup, which patches kernel code twice) cost more CPU than its whole exit here.
        if (launched && !hasExited && jobDone) await Promise.race([exited, new Promise((r) => setTimeout(r, 300))]);
        if (launched && !hasExited) {
          await this.runc.kill(id).catch(() => undefined);
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        }
        // `runc run` deletes its container when the sandbox ends; this is for a runc that died first.
        await this.runc.delete(id).catch(() => undefined);
        // Nothing runs in the sandbox any more. Its network (SandboxNet.release), address and bundle go after
        // the caller has moved on; the bundle last, so a server that dies first leaves it to the start-up sweep.
        stdio?.destroy();
        this.later(async () => {
          if (stdioDir) fs.rmSync(stdioDir, { recursive: true, force: true });
          if (net) await net.release();
          if (ip) leases.release(ip, id);
          fs.rmSync(bundle, { recursive: true, force: true });
        });
      })());

    try {
      fs.mkdirSync(bundle, { mode: 0o700 });
      ip = leases.take(id);
      const hostname = id.slice(0, 12);
      const files = { hosts: path.join(bundle, 'hosts'), hostname: path.join(bundle, 'hostname'), resolvConf: path.join(bundle, 'resolv.conf') };
      fs.writeFileSync(files.hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ip}\t${hostname}\n`, { mode: 0o644 });
      fs.writeFileSync(files.hostname, `${hostname}\n`, { mode: 0o644 });
      // No nameserver: sandboxes have no DNS (the egress proxy resolves names).
      fs.writeFileSync(files.resolvConf, '# Cronium sandbox: no DNS\n', { mode: 0o644 });
      net = await this.nets.create(id, ip, range.prefix, info.bridge);
      const create = containerSpec(
        { executionId, language, limits, isolation: 'standard' },
        { image: image.name, network: info.name, nodeId: this.opts.nodeId, seccompProfile: this.opts.seccompProfile, gvisorRuntime: this.opts.gvisorRuntime },
      );
      const spec = ociSpec(create, { id, image: image.config, rootfs, files, netnsPath: net.path, cgroupsPath: `/cronium-runc/${id}`, seccomp: this.seccomp });
      // Started straight in the execute-only bash the launcher would otherwise re-execute itself into first: the
      // same non-dumpable PID 1, one exec (~7 ms of CPU here) less per sandbox.
      if (launcherBash && spec.process.args[0] === LAUNCHER) spec.process.args = [LAUNCHER_BASH, ...spec.process.args];
      const pooled = executionId === '';
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });

      const pidFile = path.join(bundle, 'pid');
      stdioDir = await this.fifos.take();
      const io = openStdio(stdioDir);
      stdio = io;
      exited = io.exited.then((c) => {
        hasExited = true;
        return c;
      });

      let sinkOut: ((b: Buffer) => void) | null = null;
      let sinkErr: ((b: Buffer) => void) | null = null;
      const earlyOut: Buffer[] = [];
      const earlyErr: Buffer[] = [];
      // A pooled sandbox says when its pre-started interpreter has loaded (ready-mark.ts): until then the pool
      // counts it as warming and hands out warm ones first.
      let warm = !pooled;
      const mark = pooled ? readyMarkStripper(() => (warm = true)) : null;
      const toOut = (b: Buffer) => {
        if (b.length) sinkOut ? sinkOut(b) : earlyOut.push(b);
      };
      io.stdout.on('data', (b: Buffer) => toOut(mark ? mark.push(b) : b));
      io.stdout.once('end', () => mark && toOut(mark.end()));
      io.stderr.on('data', (b: Buffer) => (sinkErr ? sinkErr(b) : earlyErr.push(b)));
      const ended = (s: NodeJS.ReadableStream) => new Promise<void>((r) => (s.once('end', r), s.once('close', r), s.once('error', () => r())));
      const streamsEnded = Promise.all([ended(io.stdout), ended(io.stderr)]).then(() => undefined);

      // Started by a command shell, not forked from the server (sandbox-stdio.ts).
      const r = await this.commands.runLine(backgroundCommand([this.opts.runcBinary, ...this.runc.args('run', '--bundle', bundle, '--pid-file', pidFile, id)], stdioDir, this.fifos.forRuntime(stdioDir)));
      if (r.code !== 0) throw new Error(`could not start ${this.opts.runcBinary}: ${r.stderr.trim()}`);
      launched = true;

      // Started once runc has written the pid file (after the container's process is running).
      const started = await new Promise<boolean>((resolve) => {
        const t0 = Date.now();
        const poll = () => {
          if (hasExited) return resolve(false);
          if (fs.existsSync(pidFile)) return resolve(true);
          if (Date.now() - t0 > 30_000) return resolve(false);
          setTimeout(poll, 3);
        };
        poll();
      });
      if (!started) {
        await Promise.race([exited, new Promise((r) => setTimeout(r, 1_000))]);
        throw new Error(`runc did not start the sandbox: ${Buffer.concat(earlyErr).toString().trim().slice(0, 500) || 'timed out'}`);
      }
      return {
        id,
        stdin: io.stdin,
        exited,
        streamsEnded,
        limits,
        alive: () => !hasExited && !removing,
        warm: () => warm,
        jobEnded: () => void (jobDone = true),
        setSinks: (out, err) => {
          sinkOut = out;
          sinkErr = err;
          for (const b of earlyOut.splice(0)) out(b);
          for (const b of earlyErr.splice(0)) err(b);
        },
        remove,
      };
    } catch (err) {
      await remove().catch(() => undefined);
      if (err instanceof SandboxError) throw err;
      throw new SandboxError('START_FAILED', `could not start the sandbox: ${(err as Error).message}`);
    }
  }

  async start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun> {
    if (job.isolation !== 'standard') return this.docker.start(job, output);
    return this.pool.run(
      job,
      () => this.prepare(job.language, job.limits, job.executionId),
      (p, pooled) => this.deliver(p, job, output, pooled),
    );
  }

  private deliver(p: Prepared, job: SandboxJob, output: SandboxOutput, pooled: boolean): SandboxRun {
    const { done, accepted } = superviseJob(
      {
        connect: (stdout, stderr) => {
          const out = createLosslessDecoder();
          const err = createLosslessDecoder();
          const pass = (d: LosslessDecoder, to: (t: string) => void) => (b: Buffer) => {
            const t = d.write(b);
            if (t) to(t);
          };
          p.setSinks(pass(out, stdout), pass(err, stderr));
          return () => {
            const o = out.end();
            if (o) stdout(o);
            const e = err.end();
            if (e) stderr(e);
          };
        },
        send: (buf) => p.stdin.end(buf, () => p.stdin.destroy()),
        exited: p.exited,
        outputEnded: p.streamsEnded,
      },
      job,
      output,
    );

    void done.then((r) => r.usage && p.jobEnded(), () => undefined);
    return {
      containerId: p.id,
      pooled,
      done,
      accepted,
      kill: () => this.runc.kill(p.id),
      remove: p.remove,
    };
  }

  /** Labels of a runc sandbox: from its bundle, or from runc's state when the bundle is gone. */
  private labelsOf(id: string): Record<string, string> {
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(this.bundles, id, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
      return spec.annotations ?? {};
    } catch {
      return this.runc.labels(id);
    }
  }

  /**
   * A bundle the runtime has no container for, untouched for minutes: nothing runs in it, whichever server made
   * it. Left by a server killed while making it (no spec yet, so no labels to select it by) or before its
   * clean-up, or by a process whose node id no server sweeps; each holds an address lease.
   */
  private abandoned(id: string): boolean {
    if (this.runc.exists(id)) return false;
    try {
      return Date.now() - fs.statSync(path.join(this.bundles, id)).mtimeMs > ABANDONED_AFTER_MS;
    } catch {
      return false;
    }
  }

  /** Removes the selected sandboxes, and abandoned bundles whoever made them. */
  async removeContainers(select: (labels: Record<string, string>) => boolean): Promise<number> {
    let n = await this.docker.removeContainers(select);
    const ids = new Set([...this.runc.ids(), ...fs.readdirSync(this.bundles)]);
    for (const id of ids) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const labels = this.labelsOf(id);
      if (!(labels[LABEL_MANAGED] === 'true' && select(labels)) && !this.abandoned(id)) continue;
      try {
        await this.runc.kill(id).catch(() => undefined);
        await this.runc.delete(id);
        await deleteSandboxNet(this.commands.run, id);
        if (this.net) for (const ip of this.net.leases.heldBy(id)) this.net.leases.release(ip, id);
        fs.rmSync(path.join(this.bundles, id), { recursive: true, force: true });
        n++;
      } catch {
        /* try again at the next sweep */
      }
    }
    return n;
  }
}
