import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import Docker from 'dockerode';
import { loadConfig } from '../src/config.js';
import { LABEL_NODE } from '../src/sandbox/driver.js';
import { type RunningServer, startServer } from '../src/server.js';
import { waitForListening } from '../../scripts/listening.mjs';

export const repoRoot = path.resolve(new URL('../..', import.meta.url).pathname);

/**
 * Integration tests need a real Docker engine. Locally, a missing engine skips them with a visible reason;
 * in CI (CI=true) it fails the run, so a green CI always means the tests really ran.
 */
export async function requireDocker(t?: TestContext): Promise<boolean> {
  try {
    await new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' }).ping();
    return true;
  } catch (err) {
    const msg = `a Docker engine is required: ${(err as Error).message}`;
    if (process.env.CI === 'true' || !t) throw new Error(msg);
    t.skip(msg);
    return false;
  }
}

/**
 * The runc driver needs root, runc and iproute2. Locally, a machine without them skips the runc variants with a
 * visible reason; in CI (CI=true) that fails the run instead.
 */
export function runcUnavailable(binary: 'runc' | 'crun' = 'runc'): string | null {
  if (process.getuid?.() !== 0) return 'the runc driver needs root';
  if (!hasCommand(binary)) return `the runc driver needs the ${binary} binary`;
  if (!hasCommand('ip')) return 'the runc driver needs iproute2';
  return null;
}

/** `crun` is the runc driver with crun as its OCI runtime (CRONIUM_RUNC_BINARY): the fast path, tested alike. */
export type DriverName = 'docker' | 'runc' | 'crun';

/** The server settings that select a driver. */
export function driverEnv(driver: DriverName): Record<string, string> {
  return driver === 'crun' ? { CRONIUM_SANDBOX_DRIVER: 'runc', CRONIUM_RUNC_BINARY: 'crun' } : { CRONIUM_SANDBOX_DRIVER: driver };
}

/**
 * The drivers a driver-parameterised suite runs under: docker always, runc and crun where they can run (never
 * skipped in CI).
 */
export function testDrivers(which: DriverName[] = ['docker', 'runc', 'crun']): DriverName[] {
  return which.filter((d) => {
    if (d === 'docker') return true;
    const why = runcUnavailable(d);
    if (why && process.env.CI === 'true') throw new Error(`${why} (CI must run the ${d} driver's tests)`);
    if (why) console.warn(`# skipping the ${d} driver variants: ${why}`);
    return !why;
  });
}

export function requireRunc(t?: TestContext, binary: 'runc' | 'crun' = 'runc'): boolean {
  const why = runcUnavailable(binary);
  if (!why) return true;
  if (process.env.CI === 'true' || !t) throw new Error(why);
  t.skip(why);
  return false;
}

export const runcStateDir = process.env.CRONIUM_RUNC_STATE_DIR ?? '/run/cronium-runc';

export const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });

export interface TestServer {
  server: RunningServer;
  url: string;
  adminKey: string;
  dataDir: string;
  env: Record<string, string>;
  api: Api;
  stop(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}
export type Api = <T = any>(method: string, p: string, body?: unknown, key?: string | null) => Promise<ApiResponse<T>>;

/** A started server answers /health with 200 and runs `echo <text>` in bash, its one stdout line that text. */
export async function assertRunsBash(api: Api, text: string): Promise<void> {
  const health = await api('GET', '/health');
  assert.equal(health.status, 200, JSON.stringify(health.body));
  const res = await api('POST', '/api/v1/executions', { language: 'bash', script: `echo "${text}"`, wait: true });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'succeeded', JSON.stringify(res.body));
  const logs = (await api('GET', `/api/v1/executions/${res.body.id}/logs`)).body.entries;
  assert.deepEqual(
    logs.filter((l: { stream: string }) => l.stream === 'stdout').map((l: { text: string }) => l.text),
    [text],
  );
}

export function apiFor(url: string, defaultKey: string): Api {
  return async (method, p, body, key) => {
    const headers: Record<string, string> = {};
    const k = key === undefined ? defaultKey : key;
    if (k) headers.authorization = `Bearer ${k}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + p, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
}

/** A PGlite data directory with migrations applied, made once per run and copied for each server (initdb takes seconds). */
let template: string | null = null;
async function pgliteTemplate(): Promise<string> {
  if (template) return template;
  const migrations = fs.readdirSync(path.join(repoRoot, 'server/drizzle')).join(',') + fs.readFileSync(path.join(repoRoot, 'server/drizzle/meta/_journal.json'), 'utf8');
  const hash = crypto.createHash('sha256').update(migrations).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `cronium-pglite-template-${hash}`);
  if (!fs.existsSync(path.join(dir, 'ready'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    const { openPglite } = await import('../src/db/pglite-driver.js');
    const d = await openPglite(dir);
    await d.migrate();
    await d.close();
    fs.writeFileSync(path.join(dir, 'ready'), '');
  }
  template = dir;
  return dir;
}

/**
 * Data directories made by testEnv: each holds a copy of the PGlite template (~80 MB), so they go when their server
 * stops and, for the ones a spawned server used, when this test process exits.
 */
const dataDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Removes a data directory testEnv made (never one a test passed in). */
export function removeDataDir(dir: string | undefined): void {
  if (!dir || !dataDirs.delete(dir)) return;
  fs.rmSync(dir, { recursive: true, force: true });
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const id = crypto.randomBytes(4).toString('hex');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-test-'));
  dataDirs.add(dataDir);
  const env: Record<string, string> = {
    CRONIUM_HOST: '127.0.0.1',
    CRONIUM_PORT: '0',
    CRONIUM_RUNTIME_PORT: '0',
    CRONIUM_EGRESS_PORT: '0',
    CRONIUM_NODE_ID: `test-${id}`,
    CRONIUM_ADMIN_KEY: `csk_test_${crypto.randomBytes(16).toString('hex')}`,
    CRONIUM_LOG_LEVEL: process.env.CRONIUM_TEST_LOG_LEVEL ?? 'error',
    CRONIUM_DATA_DIR: dataDir,
    // The suite's servers run docker unless a test names its driver (driverEnv, testDrivers): many tests look at
    // Docker containers behind the API. The auto default has its own test (driver-auto.test.ts).
    CRONIUM_SANDBOX_DRIVER: 'docker',
    // Lets a run use differently tagged runtime images (e.g. a worktree's own build).
    ...Object.fromEntries(['CRONIUM_IMAGE_BASH', 'CRONIUM_IMAGE_PYTHON', 'CRONIUM_IMAGE_NODE'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!])),
    ...overrides,
  };
  if (overrides.CRONIUM_DATA_DIR) removeDataDir(dataDir);
  return env;
}

/** Starts a real server in this process: real database, real Docker, real containers. */
export async function startTestServer(overrides: Record<string, string> = {}): Promise<TestServer> {
  const env = testEnv(overrides);
  if (!env.DATABASE_URL) fs.cpSync(await pgliteTemplate(), path.join(env.CRONIUM_DATA_DIR!, 'pgdata'), { recursive: true });
  const server = await startServer(loadConfig(env));
  return {
    server,
    url: server.url,
    adminKey: env.CRONIUM_ADMIN_KEY!,
    dataDir: env.CRONIUM_DATA_DIR!,
    env,
    api: apiFor(server.url, env.CRONIUM_ADMIN_KEY!),
    stop: async () => {
      await server.stop();
      removeDataDir(env.CRONIUM_DATA_DIR);
    },
  };
}

/**
 * Starts the server as its own process (for restart and multi-server tests), with this process's environment
 * plus `env`, less the variables named in `unset` (a default under test must not come from the caller's shell).
 */
export async function spawnServer(env: Record<string, string>, o: { unset?: string[] } = {}): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  if (!env.DATABASE_URL && !fs.existsSync(path.join(env.CRONIUM_DATA_DIR!, 'pgdata'))) {
    fs.cpSync(await pgliteTemplate(), path.join(env.CRONIUM_DATA_DIR!, 'pgdata'), { recursive: true });
  }
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const name of o.unset ?? []) delete merged[name];
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/src/main.ts')], {
    cwd: repoRoot,
    env: merged,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { url, output } = await waitForListening(proc, 'server', 60_000);
  return { proc, url, output };
}

/**
 * Two server processes on one fresh PostgreSQL database, sharing an admin key and an encryption key: the cluster
 * of the multi-server tests. Their processes go into `procs` (for the suite's `after` to kill); null where
 * PostgreSQL is missing locally (freshPostgres skips; CI fails).
 */
export async function twoServers(t: TestContext, procs: ChildProcess[], env: Record<string, string>, nodeIds: [string, string]) {
  const url = await freshPostgres(t);
  if (!url) return null;
  const shared = {
    DATABASE_URL: url,
    CRONIUM_ADMIN_KEY: `csk_test_${crypto.randomBytes(16).toString('hex')}`,
    CRONIUM_ENCRYPTION_KEY: crypto.randomBytes(32).toString('hex'),
    ...env,
  };
  const a = await spawnServer(testEnv({ ...shared, CRONIUM_NODE_ID: nodeIds[0] }));
  procs.push(a.proc);
  const b = await spawnServer(testEnv({ ...shared, CRONIUM_NODE_ID: nodeIds[1] }));
  procs.push(b.proc);
  return { a, b, apiA: apiFor(a.url, shared.CRONIUM_ADMIN_KEY), apiB: apiFor(b.url, shared.CRONIUM_ADMIN_KEY), adminKey: shared.CRONIUM_ADMIN_KEY };
}

/** A fresh PostgreSQL database on the test cluster; CI must have one. */
export async function freshPostgres(t?: TestContext): Promise<string | null> {
  const admin = process.env.CRONIUM_TEST_POSTGRES_URL ?? 'postgres://cronium:cronium@127.0.0.1:5432/postgres';
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: admin });
  try {
    await client.connect();
  } catch (err) {
    const msg = `PostgreSQL is required at ${admin}: ${(err as Error).message} (scripts/host-setup.sh --test starts one)`;
    if (process.env.CI === 'true' || !t) throw new Error(msg);
    t.skip(msg);
    return null;
  }
  const name = `cronium_t_${crypto.randomBytes(6).toString('hex')}`;
  await client.query(`create database ${name}`);
  await client.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function until<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

export async function run(api: Api, body: Record<string, unknown>, key?: string) {
  const res = await api('POST', '/api/v1/executions', { wait: true, ...body }, key);
  if (res.status !== 200) throw new Error(`execution request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function logsOf(api: Api, id: string, key?: string): Promise<{ stream: string; text: string }[]> {
  const r = await api('GET', `/api/v1/executions/${id}/logs`, undefined, key);
  return r.body.entries;
}

export function stdoutOf(entries: { stream: string; text: string }[]): string {
  return entries
    .filter((e) => e.stream === 'stdout')
    .map((e) => e.text)
    .join('\n');
}

export async function containerExists(containerId: string | null | undefined): Promise<boolean> {
  if (!containerId) return false;
  // A runc sandbox exists while runc has its state or its bundle is still there.
  if (fs.existsSync(path.join(runcStateDir, 'runc', containerId)) || fs.existsSync(path.join(runcStateDir, 'bundles', containerId))) return true;
  try {
    await docker.getContainer(containerId).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Sandboxes (Docker containers, runc/crun bundles) labelled with a node id that starts with `prefix`, whatever
 * state they are in: what a process that ran them left behind.
 */
export async function sandboxesOfNode(prefix: string): Promise<string[]> {
  const found: string[] = [];
  const bundles = path.join(runcStateDir, 'bundles');
  for (const id of fs.existsSync(bundles) ? fs.readdirSync(bundles) : []) {
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(bundles, id, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
      if (spec.annotations?.[LABEL_NODE]?.startsWith(prefix)) found.push(id);
    } catch {
      /* no spec (yet): not labelled */
    }
  }
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL_NODE] } })) {
    if (c.Labels[LABEL_NODE]?.startsWith(prefix)) found.push(c.Id);
  }
  return found;
}

/** The container is removed just after the result is reported, so give it a moment. */
export async function containerGone(containerId: string | null | undefined): Promise<boolean> {
  if (!containerId) throw new Error('the execution reports no container id');
  return until(async () => !(await containerExists(containerId)), 15_000).then(() => true);
}

/**
 * Whether the server behind `api` can run the gVisor tier. CI installs and registers runsc (scripts/host-setup.sh),
 * so there a missing gVisor fails the test; elsewhere it is skipped, said so.
 */
export async function gvisorOrSkip(api: Api, t: TestContext): Promise<boolean> {
  if ((await api('GET', '/health')).body.docker.gvisor) return true;
  if (process.env.CI === 'true') assert.fail('gVisor (runsc) is not registered with the Docker engine');
  t.skip('gVisor (runsc) is not registered with this Docker engine');
  return false;
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
