import { BUILTIN_RUNTIMES, builtinImage } from '../runtimes/builtin.js';
import fs from 'node:fs';
import type { Language } from '../api/enums.js';
import type { Config, PoolConfig } from '../config.js';
import type { SandboxLimits } from './driver.js';

/** Everything the sandbox layer is built from, read from the configuration once (sandboxOptionsFromConfig). */
export interface SandboxOptions {
  socketPath: string;
  network: string;
  subnet?: string;
  images: Record<Language, string>;
  /** The images of the other built-in runtimes (python@3.11, node@22…): checked at start like the defaults. */
  otherImages: string[];
  /** Labels every sandbox of this server, so that its sweeps find them. */
  nodeId: string;
  /** The Docker seccomp profile's JSON text. */
  seccompProfile: string;
  gvisorRuntime: string;
  /** The size of every sandbox's /tmp and /work; the engine puts it into each job's limits. */
  tmpfsMb: number;
  pool: {
    /** How many warm sandboxes per language, from demand (null: no pool). */
    sizing: PoolConfig | null;
    /** The limits pooled sandboxes start with (a job with others has them applied, or starts cold). */
    limits: Omit<SandboxLimits, 'tmpfsMb'>;
    onError?(err: unknown, language: string): void;
  };
  /** Hears of a fallback that works but costs something (the runc network mode). */
  notice?(message: string): void;
}

export function readSeccompProfile(config: Config): string {
  const text = fs.readFileSync(config.sandbox.seccompProfilePath, 'utf8');
  JSON.parse(text); // fail at start, not at the first execution
  return text;
}

/** The sandbox options of this configuration; `log` hears of pool failures and fallbacks. */
export function sandboxOptionsFromConfig(config: Config, log: { warn(obj: object | string, msg?: string): void }): SandboxOptions {
  const { memoryMb, cpus, pids } = config.defaults.defaultLimits;
  return {
    socketPath: config.dockerSocket,
    network: config.sandbox.network,
    subnet: config.sandbox.subnet,
    images: config.sandbox.images,
    otherImages: BUILTIN_RUNTIMES.map((r) => builtinImage(r, config.sandbox.images)).filter((i) => !Object.values(config.sandbox.images).includes(i)),
    nodeId: config.nodeId,
    seccompProfile: readSeccompProfile(config),
    gvisorRuntime: config.sandbox.gvisorRuntime,
    tmpfsMb: config.sandbox.tmpfsMb,
    pool: {
      sizing: config.sandbox.pool,
      limits: { memoryMb, cpus, pids },
      onError: (err, language) => log.warn({ err, language }, 'warm pool: a container could not start, or died before it took its job'),
    },
    notice: (message) => log.warn(message),
  };
}
