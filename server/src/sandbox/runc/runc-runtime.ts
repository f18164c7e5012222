import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sendJob } from '../launcher/send-job.js';
import type { ByteFilter } from '../launcher/job-session.js';
import { createLosslessDecoder, type LosslessDecoder } from '../launcher/lossless-decoder.js';
import { readyMarkStripper } from '../launcher/ready-mark.js';
import { LABEL_MANAGED, SandboxError, type SandboxJob, type SandboxLimits, type SandboxNetworkInfo, type SandboxOutput, type SandboxPurpose, type SandboxRun } from '../driver.js';
import type { HostServices } from '../host/index.js';
import { RuntimeImages } from '../host/images.js';
import type { SandboxOptions } from '../options.js';
import type { SandboxRuntime } from '../runtime.js';
import { SandboxPool } from '../sandbox-pool.js';
import { parseSeccompProfile, sandboxSpec, type SeccompProfile } from '../spec.js';
import { deliverJob, followStream, readiness, type StartedSandbox } from '../started-sandbox.js';
import { CommandRunner, type RunCommand } from './command-runner.js';
import { keepFreezerActive } from './freezer-keepalive.js';
import { readAppArmorEnabled, readHybridV2Controllers } from './host-facts.js';
import { deleteSandboxNet, dockerHalf, IpLeases, IpSandboxNets, type Ipv4Range, runcRange, type SandboxNet, type SandboxNets } from './netns.js';
import { ociSpec } from './oci-spec.js';
import { ensureRootfs, type ResolvedImage, resolveImage } from './rootfs.js';
import { RuncCli } from './runc-cli.js';
import { backgroundCommand, FifoStock, openStdio, type SandboxStdio } from './sandbox-stdio.js';
import { hostArch } from './seccomp-oci.js';

export interface RuncRuntimeOptions extends Pick<SandboxOptions, 'nodeId' | 'seccompProfile' | 'gvisorRuntime' | 'tmpfsMb' | 'pool'> {
  runcBinary: string;
  /** Bundles, runc's state root, IP leases and the shared image roots live here (a tmpfs such as /run). */
  stateDir: string;
  /** How sandbox networks are made (default: with `ip`); given the driver's command runner. */
  nets?(run: RunCommand): SandboxNets;
}

const MB = 1024 * 1024;
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
 * Runs standard-isolation sandboxes with an OCI runtime (runc or crun) directly from bundles, bypassing dockerd
 * on the per-execution path, with the sandbox spec (spec.ts) rendered as OCI (oci-spec.ts). The images and
 * the sandbox network are the host's (host/), shared with the Docker runtime that runs gVisor sandboxes.
 */
export class RuncRuntime implements SandboxRuntime {
  readonly name = 'runc' as const;
  private readonly runc: RuncCli;
  private readonly commands = new CommandRunner();
  readonly nets: SandboxNets;
  private readonly fifos: FifoStock;
  /** Clean-ups of ended sandboxes still running (see remove); `close` waits for them. */
  private readonly cleaning = new Set<Promise<void>>();
  private readonly bundles: string;
  /** Pooled sandboxes get the same hardening as cold ones. */
  readonly pool: SandboxPool<StartedSandbox>;
  private net: { info: SandboxNetworkInfo; range: Ipv4Range; leases: IpLeases } | null = null;
  private readonly images = new Map<string, { at: number; p: Promise<{ image: ResolvedImage; rootfs: string; launcherBash: boolean }> }>();
  private readonly seccomp = { arch: hostArch(), kernel: os.release() };
  private readonly seccompProfile: SeccompProfile;

  constructor(
    private readonly host: HostServices,
    private readonly opts: RuncRuntimeOptions,
  ) {
    this.seccompProfile = parseSeccompProfile(opts.seccompProfile);
    fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    this.runc = new RuncCli(opts.runcBinary, path.join(opts.stateDir, 'runc'), this.commands.run);
    this.bundles = path.join(opts.stateDir, 'bundles');
    this.nets = opts.nets?.(this.commands.run) ?? new IpSandboxNets(this.commands.run);
    // The runtime opens them through a read-only view, so that crun cannot chown them to the sandbox (sandbox-stdio.ts).
    this.fifos = new FifoStock(path.join(opts.stateDir, 'stdio'), this.commands, 16, path.join(opts.stateDir, 'stdio-ro'));
    keepFreezerActive();
    fs.mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    this.pool = new SandboxPool<StartedSandbox>({
      sizing: opts.pool.sizing,
      limits: { ...opts.pool.limits, tmpfsMb: opts.tmpfsMb },
      prepare: (shape, limits) => this.prepare({ kind: 'pool' }, shape.language, limits, shape.image, shape.mounts),
      defaultImage: (language) => host.images.name(language),
      update: (p, l) => this.runc.update(p.id, { memoryBytes: l.memoryMb * MB, cpuQuota: Math.round(l.cpus * CPU_PERIOD), cpuPeriod: CPU_PERIOD, pids: l.pids }),
      onError: opts.pool.onError,
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

  async check(): Promise<void> {
    let version: string;
    try {
      version = await this.runc.version();
    } catch (err) {
      throw new SandboxError('RUNTIME_UNAVAILABLE', `runc is not usable at ${this.opts.runcBinary}: ${(err as Error).message}`);
    }
    // Docker would confine its containers with the docker-default AppArmor profile; this driver applies none.
    if (readAppArmorEnabled()) {
      throw new SandboxError('RUNTIME_UNAVAILABLE', 'AppArmor is enabled on this host and the runc driver applies no AppArmor profile: use CRONIUM_SANDBOX_DRIVER=docker');
    }
    if (/^crun\b/.test(version) && readHybridV2Controllers().length) {
      throw new SandboxError(
        'RUNTIME_UNAVAILABLE',
        'crun refuses this host\'s hybrid cgroup layout (controllers on the v2 mount next to v1 hierarchies): run scripts/host-setup.sh, which mounts them as v1, or use runc',
      );
    }
  }

  /**
   * The Docker sandbox network, with its address space split: Docker's IPAM keeps the lower half (IPRange),
   * runc sandboxes take the upper half. A network without an IPRange is recreated with one when no container
   * is attached to it; otherwise the server refuses to start rather than risk two sandboxes sharing an address.
   */
  async ensureNetwork(): Promise<SandboxNetworkInfo> {
    const network = this.host.network;
    await network.ensure();
    let n = await network.details();
    const cfg = n.ipam;
    if (cfg.length !== 1 || !cfg[0]!.Subnet || !/^\d+\.\d+\.\d+\.\d+\//.test(cfg[0]!.Subnet)) {
      throw new Error(`the sandbox network ${n.info.name} must have exactly one IPv4 subnet for the runc driver`);
    }
    const subnet = cfg[0]!.Subnet;
    const half = dockerHalf(subnet);
    if (cfg[0]!.IPRange !== half) {
      if (n.attached) {
        throw new Error(
          `the sandbox network ${n.info.name} lets Docker use all of ${subnet}; the runc driver needs Docker limited to ${half} (IPRange). Stop the containers on it so that it can be recreated, or recreate it with --ip-range ${half}`,
        );
      }
      await network.recreate(n, half);
      await network.ensure();
      n = await network.details();
      if (n.ipam[0]?.IPRange !== half) throw new Error(`the sandbox network ${n.info.name} was recreated by someone else without IPRange ${half}`);
    }
    const range = runcRange(subnet, n.info.gateway);
    this.net = { info: n.info, range, leases: new IpLeases(this.opts.stateDir, range) };
    return n.info;
  }

  /** The image's config and its shared read-only root, re-checked every few seconds for a rebuilt image. */
  private image(name: string) {
    const cached = this.images.get(name);
    if (cached && Date.now() - cached.at < IMAGE_TTL_MS) return cached.p;
    const p = (async () => {
      let image: ResolvedImage;
      try {
        image = await resolveImage(this.host.engine.client, name);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) throw RuntimeImages.missingError(name);
        throw err;
      }
      const rootfs = await ensureRootfs(this.opts.stateDir, image);
      return { image, rootfs, launcherBash: hasLauncherBash(rootfs) };
    })();
    this.images.set(name, { at: Date.now(), p });
    p.catch(() => this.images.delete(name));
    return p;
  }

  /** Writes the bundle, sets up the network and starts `runc run`: the sandbox then waits for its input on stdin. */
  private async prepare(
    purpose: SandboxPurpose,
    language: SandboxJob['language'],
    limits: SandboxLimits,
    imageName: string,
    mounts: SandboxJob['mounts'] = [],
  ): Promise<StartedSandbox> {
    if (!this.net) throw new SandboxError('START_FAILED', 'the sandbox network is not set up (ensureNetwork)');
    const { info, range, leases } = this.net;
    const { image, rootfs, launcherBash } = await this.image(imageName);
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
      const sandbox = sandboxSpec(
        { purpose, language, limits, isolation: 'standard', mounts },
        { image: image.name, network: info.name, nodeId: this.opts.nodeId, seccomp: this.seccompProfile, gvisorRuntime: this.opts.gvisorRuntime },
      );
      const spec = ociSpec(sandbox, { id, image: image.config, rootfs, files, netnsPath: net.path, cgroupsPath: `/cronium-runc/${id}`, seccomp: this.seccomp });
      // Started straight in the execute-only bash the launcher would otherwise re-execute itself into first: the
      // same non-dumpable PID 1, one exec (~7 ms of CPU here) less per sandbox.
      if (launcherBash && spec.process.args[0] === LAUNCHER) spec.process.args = [LAUNCHER_BASH, ...spec.process.args];
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec), { mode: 0o600 });

      const pidFile = path.join(bundle, 'pid');
      stdioDir = await this.fifos.take();
      const io = openStdio(stdioDir);
      stdio = io;
      exited = io.exited.then((c) => {
        hasExited = true;
        return c;
      });

      const ready = readiness(purpose, readyMarkStripper);
      const stdoutIn = followStream(io.stdout, ready.mark);
      const stderrIn = followStream(io.stderr);
      const streamsEnded = Promise.all([stdoutIn.ended, stderrIn.ended]).then(() => undefined);

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
        throw new Error(`runc did not start the sandbox: ${stderrIn.held.unread().toString().trim().slice(0, 500) || 'timed out'}`);
      }
      const stdin = io.stdin;
      return {
        id,
        limits,
        alive: () => !hasExited && !removing,
        warm: ready.warm,
        whenWarm: ready.whenWarm,
        channel: () => ({
          connect: (stdout, stderr, stdoutBytes) => {
            const outText = createLosslessDecoder();
            const errText = createLosslessDecoder();
            const pass = (d: LosslessDecoder, to: (t: string) => void, filter?: ByteFilter) => (b: Buffer) => {
              const t = d.write(filter ? filter.push(b) : b);
              if (t) to(t);
            };
            stdoutIn.held.connect(pass(outText, stdout, stdoutBytes));
            stderrIn.held.connect(pass(errText, stderr));
            return () => {
              if (stdoutBytes) pass(outText, stdout)(stdoutBytes.end());
              const o = outText.end();
              if (o) stdout(o);
              const e = errText.end();
              if (e) stderr(e);
            };
          },
          send: (job) => sendJob(job, stdin, () => stdin.destroy()),
          flow: { pause: () => void io.stdout.pause(), resume: () => void io.stdout.resume() },
          exited,
          outputEnded: streamsEnded,
        }),
        kill: () => this.runc.kill(id),
        interrupt: () => this.runc.kill(id, 'USR2', { all: false }),
        jobEnded: () => void (jobDone = true),
        remove,
      };
    } catch (err) {
      await remove().catch(() => undefined);
      if (err instanceof SandboxError) throw err;
      throw new SandboxError('START_FAILED', `could not start the sandbox: ${(err as Error).message}`);
    }
  }

  start(job: SandboxJob, output: SandboxOutput): Promise<SandboxRun> {
    if (job.isolation !== 'standard') return Promise.reject(new SandboxError('START_FAILED', `the runc runtime runs standard sandboxes only, not ${job.isolation}`));
    return this.pool.run(
      job,
      () => this.prepare({ kind: 'execution', executionId: job.executionId }, job.language, job.limits, job.image ?? this.host.images.name(job.language), job.mounts),
      (p, pooled) => deliverJob(p, job, output, pooled),
    );
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
  async removeSandboxes(select: (labels: Record<string, string>) => boolean): Promise<number> {
    let n = 0;
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
