// A real S3-compatible server for the S3 file store's tests and the bench: moto's server mode (PyPI `moto[server]`,
// installed by `scripts/host-setup.sh --test`), started on a free port and stopped after.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import aws4 from 'aws4';
import { request } from 'undici';
import type { S3StoreConfig } from '../src/files/s3-store.js';

/** host-setup's own venv first (a host whose python3 has no moto), then python3's. */
export function motoPython(): string | null {
  for (const py of [process.env.CRONIUM_TEST_MOTO_PYTHON, '/opt/cronium-moto/bin/python', 'python3']) {
    if (!py || (py.startsWith('/') && !fs.existsSync(py))) continue;
    if (spawnSync(py, ['-c', 'import moto.server, flask'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

export interface MotoServer {
  endpoint: string;
  /** A store config on a new bucket of this server. */
  bucket(name: string, prefix?: string): Promise<S3StoreConfig>;
  stop(): Promise<void>;
}

/**
 * Starts moto on a port of its own choosing (-p 0: no race for a port picked beforehand) and reads the port from the
 * line it prints. Null when moto is not installed; with CI=true that throws instead, so CI never skips silently.
 */
export async function startMoto(): Promise<MotoServer | null> {
  const py = motoPython();
  if (!py) {
    const why = "moto's S3 server is not installed (python3 -c 'import moto.server' fails): run scripts/host-setup.sh --test";
    if (process.env.CI === 'true') throw new Error(why);
    return null;
  }
  const child: ChildProcess = spawn(py, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`moto did not start in 30 s: ${seen.slice(-500)}`)), 30_000);
    const look = (b: Buffer) => {
      seen += b.toString();
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited (${code}) before it listened: ${seen.slice(-500)}`));
    });
  });
  // A test that dies before stop() does not leave it behind.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  // Keep reading its request log, or a full pipe would stall it.
  child.stdout!.resume();
  if (process.env.MOTO_LOG) child.stderr!.pipe(process.stderr); else child.stderr!.resume();
  const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return {
    endpoint,
    async bucket(name, prefix = '') {
      const u = new URL(endpoint);
      const signed = aws4.sign({ host: u.host, path: `/${name}`, method: 'PUT', service: 's3', region: 'us-east-1' }, creds);
      const res = await request(new URL(`/${name}`, endpoint), { method: 'PUT', headers: signed.headers as Record<string, string> });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`creating bucket ${name}: ${res.statusCode} ${text}`);
      return { endpoint, region: 'us-east-1', bucket: name, prefix, ...creds };
    },
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** Every key in a bucket under a prefix (the tests' few hundred: one page). */
export async function listKeys(config: S3StoreConfig, prefix = config.prefix): Promise<string[]> {
  const u = new URL(config.endpoint);
  const path = `/${config.bucket}?list-type=2&max-keys=1000&prefix=${encodeURIComponent(prefix)}`;
  const signed = aws4.sign({ host: u.host, path, method: 'GET', service: 's3', region: config.region }, config);
  const res = await request(new URL(path, config.endpoint), { headers: signed.headers as Record<string, string> });
  const xml = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`listing ${config.bucket}: ${res.statusCode} ${xml}`);
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}
