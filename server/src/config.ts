import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { EXECUTION_POLICIES, type ExecutionPolicy, type Isolation, ISOLATION_TIERS, type Language } from './api/enums.js';
import { DEFAULT_MAX_LOG_LINE_BYTES } from './executions/log-sink.js';
import { parseOpening } from './egress/policy.js';
import type { S3StoreConfig } from './files/s3-store.js';
import type { HttpTimeouts } from './http-timeouts.js';
import { DRIVER_REQUESTS } from './sandbox/choose-driver.js';
import { MIN_LIMITS } from './sandbox/limit-minimums.js';
import type { RefillMoment } from './sandbox/warm-pool.js';
import type { Limits } from './settings/schemas.js';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const csvInts = (def: number[]) =>
  z
    .string()
    .default(def.join(','))
    .transform((s, ctx) => {
      const out = s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map(Number);
      if (out.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
        ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of ports' });
        return z.NEVER;
      }
      return out;
    });

/** Every environment variable the server reads, parsed once at start. */
const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  CRONIUM_HOST: z.string().default('127.0.0.1'),
  CRONIUM_PORT: int(8080),
  CRONIUM_DATA_DIR: z.string().default('./.cronium'),
  DATABASE_URL: z.string().url().optional(),
  CRONIUM_ADMIN_KEY: z.string().min(20, 'must be at least 20 characters').optional(),
  CRONIUM_ENCRYPTION_KEY: z.string().optional(),
  CRONIUM_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  CRONIUM_NODE_ID: z.string().min(1).optional(),
  CRONIUM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
  CRONIUM_SANDBOX_DRIVER: z.enum(DRIVER_REQUESTS).default('auto'),
  // Unset: runc for CRONIUM_SANDBOX_DRIVER=runc; crun, then runc for auto (sandbox/choose-driver.ts).
  CRONIUM_RUNC_BINARY: z.string().min(1).optional(),
  CRONIUM_RUNC_STATE_DIR: z.string().min(1).default('/run/cronium-runc'),
  CRONIUM_RUNC_NETWORK: z.enum(['auto', 'netlink', 'ip']).default('auto'),
  CRONIUM_SANDBOX_NETWORK: z.string().default('cronium-sandbox'),
  CRONIUM_SANDBOX_SUBNET: z.string().optional(),
  CRONIUM_RUNTIME_HOST: z.string().optional(),
  CRONIUM_RUNTIME_PORT: int(8081),
  CRONIUM_RUNTIME_URL: z.string().url().optional(),
  CRONIUM_IMAGE_BASH: z.string().default('cronium/runtime-bash:latest'),
  CRONIUM_IMAGE_PYTHON: z.string().default('cronium/runtime-python:latest'),
  CRONIUM_IMAGE_NODE: z.string().default('cronium/runtime-node:latest'),
  CRONIUM_GVISOR_RUNTIME: z.string().default('runsc'),
  CRONIUM_SECCOMP_PROFILE: z.string().optional(),
  CRONIUM_DEFAULT_ISOLATION: z.enum(ISOLATION_TIERS).default('standard'),
  CRONIUM_ALLOW_ISOLATION_CHOICE: bool(true),
  CRONIUM_EXECUTION_POLICY: z.enum(EXECUTION_POLICIES).default('all_users'),
  CRONIUM_MAX_CONCURRENCY: int(4, 1),
  // Unset: half of CRONIUM_MAX_CONCURRENCY, and a quarter of CRONIUM_MAX_QUEUE (settings/derived.ts).
  CRONIUM_MAX_CONCURRENCY_PER_USER: z.coerce.number().int().min(1).optional(),
  CRONIUM_MAX_QUEUE: int(1000, 1),
  CRONIUM_MAX_QUEUED_PER_USER: z.coerce.number().int().min(1).optional(),
  CRONIUM_DEFAULT_TIMEOUT_MS: int(30_000, 100),
  CRONIUM_MAX_TIMEOUT_MS: int(15 * 60_000, 100),
  CRONIUM_DEFAULT_MEMORY_MB: int(256, 16),
  CRONIUM_MAX_MEMORY_MB: int(2048, 16),
  CRONIUM_DEFAULT_CPUS: z.coerce.number().min(MIN_LIMITS.cpus).default(1),
  CRONIUM_MAX_CPUS: z.coerce.number().min(MIN_LIMITS.cpus).default(2),
  CRONIUM_DEFAULT_PIDS: int(128, 8),
  CRONIUM_MAX_PIDS: int(1024, 8),
  CRONIUM_TMPFS_MB: int(64, 1),
  // The /work tmpfs grows by a job's files up to this (issue 26); files beyond it are refused.
  CRONIUM_MAX_TMPFS_MB: int(1024, 1),
  CRONIUM_MAX_FILE_BYTES: int(64 * 1024 * 1024, 0),
  CRONIUM_MAX_FILES_BYTES: int(256 * 1024 * 1024, 0),
  // What an execution leaves under /work/out: each file, and all of them (beyond: cut or not kept, and said so).
  CRONIUM_MAX_ARTIFACT_BYTES: int(256 * 1024 * 1024, 0),
  CRONIUM_MAX_ARTIFACTS_BYTES: int(1024 * 1024 * 1024, 0),
  // Where executions' files live (files/store.ts): disk (the data directory), postgres (large objects, for servers
  // sharing DATABASE_URL; checked against it in loadConfig) or s3://<bucket>[/<prefix>] (an S3-compatible store).
  CRONIUM_ARTIFACT_STORE: z.string().trim().default('disk'),
  // For CRONIUM_ARTIFACT_STORE=s3://<bucket>[/<prefix>]: any S3-compatible server, path-style; the AWS_ names too.
  CRONIUM_S3_ENDPOINT: z.string().url().optional(),
  CRONIUM_S3_REGION: z.string().trim().min(1).optional(),
  CRONIUM_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  CRONIUM_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  CRONIUM_S3_SESSION_TOKEN: z.string().min(1).optional(),
  AWS_REGION: z.string().trim().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  CRONIUM_MAX_SCRIPT_BYTES: int(1024 * 1024, 1),
  CRONIUM_MAX_INPUT_BYTES: int(1024 * 1024, 1),
  CRONIUM_MAX_LOG_BYTES: int(1024 * 1024, 1024),
  CRONIUM_MAX_LOG_LINE_BYTES: int(DEFAULT_MAX_LOG_LINE_BYTES, 1024),
  CRONIUM_MAX_OUTPUT_BYTES: int(1024 * 1024, 1),
  CRONIUM_MAX_VARIABLE_BYTES: int(256 * 1024, 1),
  CRONIUM_MAX_SECRET_BYTES: int(64 * 1024, 1),
  CRONIUM_TOKEN_GRACE_MS: int(30_000, 0),
  // How often expired artifacts are looked for (the artifactRetentionDays setting says when they expire).
  CRONIUM_ARTIFACT_CLEANUP_MS: int(10 * 60_000, 100),
  CRONIUM_EGRESS_BLOCKED_PORTS: csvInts([25, 465, 587]),
  CRONIUM_EGRESS_PORT: int(8082),
  // Unset: the pool sizes itself to demand between CRONIUM_POOL_MIN and _MAX; 0: off; N: fixed at N per language.
  CRONIUM_POOL_SIZE: z.coerce.number().int().min(0).optional(),
  CRONIUM_POOL_MIN: z.coerce.number().int().min(0).optional(),
  CRONIUM_POOL_MAX: z.coerce.number().int().min(1).optional(),
  CRONIUM_POOL_MEMORY_MB: int(512, 0),
  CRONIUM_POOL_IDLE_MS: int(10 * 60_000, 0),
  CRONIUM_POOL_REFILL: z.enum(['claim', 'end']).default('claim'),
  // Unset: <CRONIUM_DATA_DIR>/bundles.
  CRONIUM_BUNDLE_DIR: z.string().min(1).optional(),
  CRONIUM_BUNDLE_CACHE_MB: int(4096, 16),
  // Unset: the host pip's / npm's configured index, else pypi.org / registry.npmjs.org (dependencies/python.ts, node.ts).
  CRONIUM_PIP_INDEX_URL: z.string().url().optional(),
  CRONIUM_NPM_REGISTRY: z.string().url().optional(),
  CRONIUM_EGRESS_ALLOW_CIDRS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
  CRONIUM_EGRESS_FIREWALL: z.enum(['auto', 'off', 'external']).default('auto'),
  CRONIUM_WEB_PORT: int(3000, 0),
  CRONIUM_HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100),
  CRONIUM_HTTP_REQUEST_TIMEOUT_MS: int(30_000, 100),
  CRONIUM_HTTP_IDLE_TIMEOUT_MS: int(60_000, 100),
  CRONIUM_HTTP_KEEP_ALIVE_TIMEOUT_MS: int(72_000, 100),
});

export type Env = z.infer<typeof envSchema>;

/** How the warm pool sizes itself per language (sandbox/pool-sizing.ts). */
export interface PoolConfig {
  /** Kept whatever the demand (and whatever the memory budget). */
  min: number;
  /** Never exceeded. */
  max: number;
  /** Estimated memory of all idle pooled sandboxes together, in MiB; the minimums are kept even beyond it. */
  memoryMb: number;
  /** After this long without a take a language keeps only its minimum (0: never). */
  idleMs: number;
  /** When a taken sandbox's replacement starts: at the take, or once its execution has ended. */
  refillAt: RefillMoment;
}

const POOL_DEFAULT_MIN = 1;
const POOL_DEFAULT_MAX = 8;

/** The pool the CRONIUM_POOL_* variables describe, or the problems with them. */
function poolConfig(e: Env): { pool: PoolConfig | null; problems: string[] } {
  const shared = { memoryMb: e.CRONIUM_POOL_MEMORY_MB, idleMs: e.CRONIUM_POOL_IDLE_MS, refillAt: e.CRONIUM_POOL_REFILL };
  if (e.CRONIUM_POOL_SIZE === 0) return { pool: null, problems: [] };
  if (e.CRONIUM_POOL_SIZE !== undefined) {
    // A fixed size (the tests and the bench rely on one) would silently lose to an explicit minimum or maximum.
    const both = [e.CRONIUM_POOL_MIN !== undefined && 'CRONIUM_POOL_MIN', e.CRONIUM_POOL_MAX !== undefined && 'CRONIUM_POOL_MAX'].filter(Boolean);
    if (both.length) return { pool: null, problems: [`CRONIUM_POOL_SIZE fixes the pool at that size per language: unset it, or unset ${both.join(' and ')}`] };
    return { pool: { ...shared, min: e.CRONIUM_POOL_SIZE, max: e.CRONIUM_POOL_SIZE }, problems: [] };
  }
  const min = e.CRONIUM_POOL_MIN ?? POOL_DEFAULT_MIN;
  const max = e.CRONIUM_POOL_MAX ?? Math.max(POOL_DEFAULT_MAX, min);
  if (min > max) return { pool: null, problems: [`CRONIUM_POOL_MIN (${min}) exceeds CRONIUM_POOL_MAX (${max})`] };
  return { pool: { ...shared, min, max }, problems: [] };
}

export interface Config {
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  adminKey?: string;
  encryptionKey?: string;
  jwtSecret?: string;
  nodeId: string;
  logLevel: Env['CRONIUM_LOG_LEVEL'];
  dockerSocket: string;
  sandbox: {
    /**
     * docker: every sandbox through dockerd; runc: standard sandboxes started with runc directly (root only);
     * auto: the fastest of these this host runs, resolved once at start (sandbox/probe-host.ts resolveDriver).
     */
    driver: Env['CRONIUM_SANDBOX_DRIVER'];
    /** Only when CRONIUM_RUNC_BINARY is set: auto then tries this runtime alone. */
    runcBinary?: string;
    runcStateDir: string;
    /** How runc sandbox networks are made: netlink (native addon, in-process), ip (iproute2), auto (netlink if built). */
    runcNetwork: 'auto' | 'netlink' | 'ip';
    network: string;
    subnet?: string;
    images: Record<Language, string>;
    gvisorRuntime: string;
    tmpfsMb: number;
    /** What the tmpfs may grow to for a job's files. */
    maxTmpfsMb: number;
    seccompProfilePath: string;
    /** The warm pool of standard-tier sandboxes (null: off); a fixed size has min = max. */
    pool: PoolConfig | null;
  };
  runtime: { host?: string; port: number; url?: string; tokenGraceMs: number };
  artifacts: { cleanupMs: number };
  /** Initial values of the admin-editable settings; the settings table overrides them. */
  defaults: {
    executionPolicy: ExecutionPolicy;
    defaultIsolation: Isolation;
    allowIsolationChoice: boolean;
    maxConcurrency: number;
    /** Unset: derived from maxConcurrency (settings/derived.ts). */
    maxConcurrencyPerUser?: number;
    maxQueue: number;
    /** Unset: derived from maxQueue (settings/derived.ts). */
    maxQueuedPerUser?: number;
    defaultLimits: Limits;
    maxLimits: Limits;
  };
  sizes: {
    maxScriptBytes: number;
    maxInputBytes: number;
    maxLogBytes: number;
    /** A longer line is cut: the rest goes on in log entries marked as continuations. */
    maxLogLineBytes: number;
    maxOutputBytes: number;
    maxVariableBytes: number;
    maxSecretBytes: number;
    /** A request's input files: each, and all of them with its stdin (issue 26). */
    maxFileBytes: number;
    maxFilesBytes: number;
    /** An execution's artifacts: each, and all of them (issue 26). */
    maxArtifactBytes: number;
    maxArtifactsBytes: number;
  };
  /** allowCidrs: openings, each a CIDR and its ports (egress/policy.ts parseOpening); dashboardPort: never reachable through the proxy. */
  egress: { blockedPorts: number[]; port: number; allowCidrs: string[]; firewall: 'auto' | 'off' | 'external'; dashboardPort: number };
  /** Slow-client bounds of the public and the runtime API. */
  http: HttpTimeouts;
  /** Where the bytes of executions' files live: the data directory's disk, PostgreSQL large objects or an S3 bucket (either shared by servers on one database). */
  fileStore: FileStoreKind;
  /** The bucket, prefix, endpoint and credentials when fileStore is s3. */
  s3Store?: S3StoreConfig;
  /** Third-party package bundles (dependencies/service.ts). */
  dependencies: { bundleDir: string; cacheBytes: number; pipIndexUrl?: string; npmRegistry?: string };
}

export type FileStoreKind = 'disk' | 'postgres' | 's3';

// S3's bucket naming rules (3–63 of lower-case letters, digits, dots and hyphens); the prefix's segments are store keys'.
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9._-]+)*$/;

/** CRONIUM_ARTIFACT_STORE=s3://<bucket>[/<prefix>] with CRONIUM_S3_* (or AWS_*): each problem names its variable. */
function s3StoreConfig(value: string, e: z.infer<typeof envSchema>): { config?: S3StoreConfig; problems: string[] } {
  const problems: string[] = [];
  const m = /^s3:\/\/([^/]*)(?:\/(.*?))?\/*$/i.exec(value)!;
  const bucket = m[1]!;
  const prefix = m[2] ?? '';
  if (!S3_BUCKET.test(bucket)) problems.push(`CRONIUM_ARTIFACT_STORE: ${JSON.stringify(bucket)} is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens), in s3://<bucket>[/<prefix>]`);
  if (prefix && (!S3_PREFIX.test(prefix) || prefix.split('/').some((p) => p === '.' || p === '..'))) {
    problems.push(`CRONIUM_ARTIFACT_STORE: the prefix ${JSON.stringify(prefix)} may have only letters, digits, '.', '_', '-' and '/' between segments`);
  }
  const region = e.CRONIUM_S3_REGION ?? e.AWS_REGION ?? 'us-east-1';
  const accessKeyId = e.CRONIUM_S3_ACCESS_KEY_ID ?? e.AWS_ACCESS_KEY_ID;
  const secretAccessKey = e.CRONIUM_S3_SECRET_ACCESS_KEY ?? e.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId) problems.push('CRONIUM_S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID) is required with CRONIUM_ARTIFACT_STORE=s3://…');
  if (!secretAccessKey) problems.push('CRONIUM_S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY) is required with CRONIUM_ARTIFACT_STORE=s3://…');
  const endpoint = e.CRONIUM_S3_ENDPOINT ?? `https://s3.${region}.amazonaws.com`;
  if (!/^https?:$/.test(new URL(endpoint).protocol)) problems.push(`CRONIUM_S3_ENDPOINT: expected http:// or https://, got ${JSON.stringify(endpoint)}`);
  else if (new URL(endpoint).pathname.replace(/\/+$/, '') !== '') problems.push('CRONIUM_S3_ENDPOINT: the endpoint is a server (scheme, host and port); the bucket goes in CRONIUM_ARTIFACT_STORE=s3://<bucket>');
  if (problems.length) return { problems };
  const sessionToken = e.CRONIUM_S3_SESSION_TOKEN ?? e.AWS_SESSION_TOKEN;
  return { config: { endpoint, region, bucket, prefix: prefix ? `${prefix}/` : '', accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey!, ...(sessionToken ? { sessionToken } : {}) }, problems };
}

/** CRONIUM_ARTIFACT_STORE: postgres needs the database to be PostgreSQL (PGlite keeps file contents out of it). */
function fileStoreKind(value: string, databaseUrl: string | undefined): { kind: FileStoreKind; problem?: string } {
  if (value === 'disk') return { kind: 'disk' };
  if (value === 'postgres') {
    if (databaseUrl && /^postgres(ql)?:$/.test(new URL(databaseUrl).protocol)) return { kind: 'postgres' };
    return { kind: 'disk', problem: 'CRONIUM_ARTIFACT_STORE=postgres needs DATABASE_URL to be a PostgreSQL database (postgres://…); the embedded PGlite keeps files on the data directory\'s disk (CRONIUM_ARTIFACT_STORE=disk)' };
  }
  if (/^s3:\/\//i.test(value)) return { kind: 's3' };
  return { kind: 'disk', problem: `CRONIUM_ARTIFACT_STORE: expected disk, postgres or s3://<bucket>[/<prefix>], got ${JSON.stringify(value)}` };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.CRONIUM_DEFAULT_TIMEOUT_MS > e.CRONIUM_MAX_TIMEOUT_MS) problems.push('CRONIUM_DEFAULT_TIMEOUT_MS exceeds CRONIUM_MAX_TIMEOUT_MS');
  if (e.CRONIUM_DEFAULT_MEMORY_MB > e.CRONIUM_MAX_MEMORY_MB) problems.push('CRONIUM_DEFAULT_MEMORY_MB exceeds CRONIUM_MAX_MEMORY_MB');
  if (e.CRONIUM_DEFAULT_CPUS > e.CRONIUM_MAX_CPUS) problems.push('CRONIUM_DEFAULT_CPUS exceeds CRONIUM_MAX_CPUS');
  if (e.CRONIUM_DEFAULT_PIDS > e.CRONIUM_MAX_PIDS) problems.push('CRONIUM_DEFAULT_PIDS exceeds CRONIUM_MAX_PIDS');
  if (e.CRONIUM_MAX_QUEUED_PER_USER !== undefined && e.CRONIUM_MAX_QUEUED_PER_USER > e.CRONIUM_MAX_QUEUE) {
    problems.push('CRONIUM_MAX_QUEUED_PER_USER exceeds CRONIUM_MAX_QUEUE');
  }
  if (e.CRONIUM_HTTP_HEADERS_TIMEOUT_MS > e.CRONIUM_HTTP_REQUEST_TIMEOUT_MS) problems.push('CRONIUM_HTTP_HEADERS_TIMEOUT_MS exceeds CRONIUM_HTTP_REQUEST_TIMEOUT_MS');
  const pool = poolConfig(e);
  problems.push(...pool.problems);
  for (const c of e.CRONIUM_EGRESS_ALLOW_CIDRS) {
    const o = parseOpening(c);
    if (!o.ok) problems.push(`CRONIUM_EGRESS_ALLOW_CIDRS: ${o.message}`);
  }
  const fileStore = fileStoreKind(e.CRONIUM_ARTIFACT_STORE, e.DATABASE_URL);
  if (fileStore.problem) problems.push(fileStore.problem);
  const s3 = fileStore.kind === 's3' ? s3StoreConfig(e.CRONIUM_ARTIFACT_STORE, e) : undefined;
  if (s3) problems.push(...s3.problems);
  const production = e.NODE_ENV === 'production';
  if (production) {
    // A production server must not run on secrets that someone else may also have.
    if (!e.CRONIUM_ADMIN_KEY) problems.push('CRONIUM_ADMIN_KEY is required in production');
    if (!e.CRONIUM_ENCRYPTION_KEY) problems.push('CRONIUM_ENCRYPTION_KEY is required in production');
    if (!e.CRONIUM_JWT_SECRET) problems.push('CRONIUM_JWT_SECRET is required in production');
    for (const [name, value] of Object.entries({
      CRONIUM_ADMIN_KEY: e.CRONIUM_ADMIN_KEY,
      CRONIUM_ENCRYPTION_KEY: e.CRONIUM_ENCRYPTION_KEY,
      CRONIUM_JWT_SECRET: e.CRONIUM_JWT_SECRET,
    })) {
      if (value && /change-?me|example|default/i.test(value)) problems.push(`${name} still has a placeholder value`);
    }
    if (e.DATABASE_URL && /change-?me|example|default/i.test(decodeURIComponent(new URL(e.DATABASE_URL).password))) {
      problems.push('DATABASE_URL still has a placeholder password');
    }
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    production,
    host: e.CRONIUM_HOST,
    port: e.CRONIUM_PORT,
    dataDir: path.resolve(e.CRONIUM_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    adminKey: e.CRONIUM_ADMIN_KEY,
    encryptionKey: e.CRONIUM_ENCRYPTION_KEY,
    jwtSecret: e.CRONIUM_JWT_SECRET,
    // Stable across restarts of the same server, so that a restarted server recognises its own orphans at once.
    nodeId: e.CRONIUM_NODE_ID ?? `${os.hostname()}:${e.CRONIUM_PORT}`,
    logLevel: e.CRONIUM_LOG_LEVEL,
    dockerSocket: e.DOCKER_SOCKET,
    sandbox: {
      driver: e.CRONIUM_SANDBOX_DRIVER,
      runcBinary: e.CRONIUM_RUNC_BINARY,
      runcStateDir: path.resolve(e.CRONIUM_RUNC_STATE_DIR),
      runcNetwork: e.CRONIUM_RUNC_NETWORK,
      network: e.CRONIUM_SANDBOX_NETWORK,
      subnet: e.CRONIUM_SANDBOX_SUBNET,
      images: { bash: e.CRONIUM_IMAGE_BASH, python: e.CRONIUM_IMAGE_PYTHON, node: e.CRONIUM_IMAGE_NODE },
      gvisorRuntime: e.CRONIUM_GVISOR_RUNTIME,
      tmpfsMb: e.CRONIUM_TMPFS_MB,
      maxTmpfsMb: e.CRONIUM_MAX_TMPFS_MB,
      seccompProfilePath: e.CRONIUM_SECCOMP_PROFILE ?? new URL('../../seccomp-profile.json', import.meta.url).pathname,
      pool: pool.pool,
    },
    runtime: {
      host: e.CRONIUM_RUNTIME_HOST,
      port: e.CRONIUM_RUNTIME_PORT,
      url: e.CRONIUM_RUNTIME_URL,
      tokenGraceMs: e.CRONIUM_TOKEN_GRACE_MS,
    },
    artifacts: { cleanupMs: e.CRONIUM_ARTIFACT_CLEANUP_MS },
    defaults: {
      executionPolicy: e.CRONIUM_EXECUTION_POLICY,
      defaultIsolation: e.CRONIUM_DEFAULT_ISOLATION,
      allowIsolationChoice: e.CRONIUM_ALLOW_ISOLATION_CHOICE,
      maxConcurrency: e.CRONIUM_MAX_CONCURRENCY,
      maxConcurrencyPerUser: e.CRONIUM_MAX_CONCURRENCY_PER_USER,
      maxQueue: e.CRONIUM_MAX_QUEUE,
      maxQueuedPerUser: e.CRONIUM_MAX_QUEUED_PER_USER,
      defaultLimits: {
        timeoutMs: e.CRONIUM_DEFAULT_TIMEOUT_MS,
        memoryMb: e.CRONIUM_DEFAULT_MEMORY_MB,
        cpus: e.CRONIUM_DEFAULT_CPUS,
        pids: e.CRONIUM_DEFAULT_PIDS,
      },
      maxLimits: {
        timeoutMs: e.CRONIUM_MAX_TIMEOUT_MS,
        memoryMb: e.CRONIUM_MAX_MEMORY_MB,
        cpus: e.CRONIUM_MAX_CPUS,
        pids: e.CRONIUM_MAX_PIDS,
      },
    },
    sizes: {
      maxScriptBytes: e.CRONIUM_MAX_SCRIPT_BYTES,
      maxInputBytes: e.CRONIUM_MAX_INPUT_BYTES,
      maxLogBytes: e.CRONIUM_MAX_LOG_BYTES,
      maxLogLineBytes: e.CRONIUM_MAX_LOG_LINE_BYTES,
      maxOutputBytes: e.CRONIUM_MAX_OUTPUT_BYTES,
      maxVariableBytes: e.CRONIUM_MAX_VARIABLE_BYTES,
      maxSecretBytes: e.CRONIUM_MAX_SECRET_BYTES,
      maxFileBytes: e.CRONIUM_MAX_FILE_BYTES,
      maxFilesBytes: e.CRONIUM_MAX_FILES_BYTES,
      maxArtifactBytes: e.CRONIUM_MAX_ARTIFACT_BYTES,
      maxArtifactsBytes: e.CRONIUM_MAX_ARTIFACTS_BYTES,
    },
    egress: {
      blockedPorts: e.CRONIUM_EGRESS_BLOCKED_PORTS,
      port: e.CRONIUM_EGRESS_PORT,
      allowCidrs: e.CRONIUM_EGRESS_ALLOW_CIDRS,
      firewall: e.CRONIUM_EGRESS_FIREWALL,
      dashboardPort: e.CRONIUM_WEB_PORT,
    },
    http: {
      headersTimeoutMs: e.CRONIUM_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.CRONIUM_HTTP_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: e.CRONIUM_HTTP_IDLE_TIMEOUT_MS,
      keepAliveTimeoutMs: e.CRONIUM_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    fileStore: fileStore.kind,
    ...(s3?.config ? { s3Store: s3.config } : {}),
    dependencies: {
      bundleDir: path.resolve(e.CRONIUM_BUNDLE_DIR ?? path.join(e.CRONIUM_DATA_DIR, 'bundles')),
      cacheBytes: e.CRONIUM_BUNDLE_CACHE_MB * 1024 * 1024,
      pipIndexUrl: e.CRONIUM_PIP_INDEX_URL,
      npmRegistry: e.CRONIUM_NPM_REGISTRY,
    },
  };
}
