#!/usr/bin/env node
// compose-smoke.mjs (`npm run test:compose`): the compose deployment, end to end, on this machine's Docker.
//
// It builds and starts docker-compose.yml under a project name of its own (cronium-smoke-<random>), with a
// sandbox network, bridge, /24 and published port of its own, so it never touches a bare-host install
// (network cronium-sandbox) or another stack; then:
//   - static checks: the compose file validates; every server variable and every ${VAR} of the compose file
//     is documented in .env.example
//   - images: non-root users, no build tools or dev dependencies in the server image, no secret in any
//     image; the server refuses to start in production with missing or placeholder secrets, naming each
//   - the stack: health (with the sandbox driver auto chose and why), resource limits, restart policies, networks (internal, ICC off, who is attached)
//   - a Python execution that uses the SDK (input, secret, variable, output, an artifact) through the runtime API
//   - isolation, from inside real sandbox containers: no database (by name or address), no public port of
//     the server (by its sandbox address, its name, its other address, the host's published port), no
//     host (a listener on 0.0.0.0), no direct way out (to the outside stand-in), no other sandbox (a second
//     sandbox listens)
//   - allowlisted egress through the proxy (checkAllowlistedEgress): the outside stand-in (a global rule and
//     an opening of its port) 200, other host 403, database through the proxy 403
// The outside is a stand-in on this machine: a listener of this process on a 198.18.0.0/15 address of a Docker
// network of its own (a host address the server reaches through its default network, as it reaches the internet). No check sends a packet to an address that is
// not on this machine.
//   - `down` + `up -d` (no -v): the execution, its logs, the variable and the secret are still there
//   - teardown with `down -v` (also on failure), and nothing of it left: containers, volumes, network,
//     netguard's iptables rules; the bare-host network untouched
// It prints `N passed, N failed, N skipped` and exits 1 if anything failed.
//
// When the host's compose is v1 (Debian bookworm's docker-compose 1.29), the whole test then runs a second
// time under Compose v2 + BuildKit, in a container made from Debian trixie's packages
// (deploy/compose-v2/Dockerfile) with the host's Docker socket and network: one run checks both versions.
//
// Usage: node deploy/compose-smoke.mjs [--keep] [--skip-prepare] [--verbose] [--no-v2]
//   --keep          leave the stack running at the end (prints the command that removes it)
//   --skip-prepare  do not run deploy/prepare.sh (base images, npm run build, staged dependencies)
//   --verbose       stream compose's output instead of keeping it in the log file
//   --no-v2         do not repeat the test under Compose v2 in a container
// Env:
//   CRONIUM_COMPOSE               the compose command, e.g. "docker-compose" (default: `docker compose` when
//                                 it works, else docker-compose)
//   CRONIUM_SMOKE_REQUIRE_EGRESS  1: a server without the egress proxy fails the egress check instead of
//                                 skipping it
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const argv = process.argv.slice(2);
const KEEP = argv.includes('--keep');
const SKIP_PREPARE = argv.includes('--skip-prepare');
const VERBOSE = argv.includes('--verbose');
const NO_V2 = argv.includes('--no-v2');

// ------------------------------------------------------------------------------------------ reporting
const results = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const timings = [];
const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;
const log = (msg) => console.log(`[compose-smoke +${secs(Date.now() - t0)}] ${msg}`);

class Skip extends Error {}
/** Runs one named check: passes unless it throws; `throw new Skip(reason)` skips it. */
async function check(name, fn) {
  try {
    const note = await fn();
    results.passed++;
    console.log(`ok - ${name}${note ? ` (${note})` : ''}`);
  } catch (err) {
    if (err instanceof Skip) {
      results.skipped++;
      console.log(`skip - ${name}: ${err.message}`);
      return;
    }
    results.failed++;
    failures.push(name);
    console.log(`not ok - ${name}: ${err instanceof Error ? err.message : err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
/** JSON with object keys sorted: PostgreSQL's jsonb does not keep key order. */
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}
function assertEq(actual, expected, what) {
  const a = JSON.stringify(canonical(actual));
  const e = JSON.stringify(canonical(expected));
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

// ------------------------------------------------------------------------------------------ processes
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  return { code: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message || '') };
}
function docker(...args) {
  const r = sh('docker', args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout.trim();
}
const dockerJson = (...args) => JSON.parse(docker(...args));

let composeCmd;
function pickCompose() {
  if (process.env.CRONIUM_COMPOSE) return process.env.CRONIUM_COMPOSE.split(/\s+/).filter(Boolean);
  if (sh('docker', ['compose', 'version']).code === 0) return ['docker', 'compose'];
  if (sh('docker-compose', ['version']).code === 0) return ['docker-compose'];
  return null;
}

let work; // temporary directory: env file, logs
let project;
let envFile;
let composeLog;
function composeArgs(args) {
  return [...composeCmd.slice(1), '-p', project, '-f', path.join(root, 'docker-compose.yml'), '--env-file', envFile, ...args];
}
/** Runs compose with its output appended to the log file (or streamed with --verbose). */
function compose(args, { timeoutMs = 20 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    fs.appendFileSync(composeLog, `\n$ ${composeCmd.join(' ')} ${composeArgs(args).slice(composeCmd.length - 1).join(' ')}\n`);
    const out = fs.openSync(composeLog, 'a');
    const child = spawn(composeCmd[0], composeArgs(args), {
      cwd: root,
      stdio: ['ignore', VERBOSE ? 'inherit' : out, VERBOSE ? 'inherit' : out],
      env: { ...process.env, COMPOSE_PROJECT_NAME: project },
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.closeSync(out);
      if (code === 0) resolve();
      else {
        const tail = fs.readFileSync(composeLog, 'utf8').split('\n').slice(-40).join('\n');
        reject(new Error(`${composeCmd.join(' ')} ${args.join(' ')} failed (exit ${code}); last lines of ${composeLog}:\n${tail}`));
      }
    });
  });
}
const composeSync = (args) => sh(composeCmd[0], composeArgs(args), { env: { ...process.env, COMPOSE_PROJECT_NAME: project } });
function containerOf(service) {
  const id = composeSync(['ps', '-q', service]).stdout.trim().split('\n')[0];
  if (!id) throw new Error(`no container for service ${service}`);
  return id;
}

// ------------------------------------------------------------------------------------------ environment
const rand = (n) => crypto.randomBytes(n).toString('hex');

/** Parses the keys of the zod envSchema in server/src/config.ts. */
function serverEnvVars() {
  const src = fs.readFileSync(path.join(root, 'server/src/config.ts'), 'utf8');
  const block = src.slice(src.indexOf('const envSchema'), src.indexOf('\n});', src.indexOf('const envSchema')));
  return [...block.matchAll(/^\s{2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
}
function documented(name, text) {
  return new RegExp(`^#?\\s*${name}=`, 'm').test(text);
}

function usedSubnets() {
  const nets = [];
  for (const id of docker('network', 'ls', '-q').split('\n').filter(Boolean)) {
    try {
      for (const c of dockerJson('network', 'inspect', id)[0]?.IPAM?.Config ?? []) if (c.Subnet) nets.push(c.Subnet);
    } catch {
      /* removed meanwhile */
    }
  }
  const routes = sh('ip', ['-4', 'route', 'show']).stdout;
  for (const m of routes.matchAll(/^(\d+\.\d+\.\d+\.\d+\/\d+)/gm)) nets.push(m[1]);
  return nets;
}
const ipToInt = (ip) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
function overlaps(a, b) {
  const [ia, la] = a.split('/');
  const [ib, lb] = b.split('/');
  if (!ia.includes('.') || !ib.includes('.')) return false;
  const len = Math.min(Number(la), Number(lb));
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ipToInt(ia) & mask) >>> 0) === ((ipToInt(ib) & mask) >>> 0);
}
function freeNetPrefix() {
  const used = usedSubnets();
  for (let i = 0; i < 200; i++) {
    const prefix = `10.213.${100 + crypto.randomInt(150)}`;
    if (!used.some((u) => overlaps(`${prefix}.0/24`, u))) return prefix;
  }
  throw new Error('no free 10.213.x.0/24 for the sandbox network');
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
function tcpProbe(host, port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('connect', () => done('open'));
    s.once('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code));
  });
}

// ------------------------------------------------------------------------------------------ API
let api; // base URL of the published API
let adminKey;
/** An artifact's bytes as text. */
async function artifactText(id, name) {
  const res = await fetch(`${api}/api/v1/executions/${id}/artifacts/${encodeURIComponent(name)}`, { headers: { authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(60_000) });
  if (res.status !== 200) throw new Error(`artifact ${name} of ${id}: ${res.status} ${await res.text()}`);
  return res.text();
}

async function call(method, p, body, { expect } = {}) {
  const started = Date.now();
  const res = await fetch(`${api}${p}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(180_000),
  }).catch((err) => {
    // undici says only "fetch failed"; the reason is in its cause.
    const cause = err.cause ? `: ${err.cause.code ?? ''} ${err.cause.message ?? err.cause}`.trimEnd() : '';
    throw new Error(`${method} ${p} after ${Date.now() - started} ms: ${err.message}${cause}`);
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (expect !== undefined ? res.status !== expect : res.status >= 400) {
    throw new Error(`${method} ${p} -> ${res.status} ${text.slice(0, 300)}`);
  }
  return { status: res.status, json };
}
async function run(language, script, extra = {}) {
  const { json } = await call('POST', '/api/v1/executions', { language, script, wait: true, ...extra });
  return json;
}
function describeRun(e) {
  return `status ${e.status}, exit ${e.exitCode}, error ${JSON.stringify(e.error)}, output ${JSON.stringify(e.output)?.slice(0, 400)}`;
}
async function logsOf(id) {
  return (await call('GET', `/api/v1/executions/${id}/logs`)).json.entries ?? [];
}

async function waitHealthy(timeoutMs = 240_000) {
  const start = Date.now();
  let last = '';
  while (Date.now() - start < timeoutMs) {
    try {
      const status = docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}', containerOf('server'));
      last = status;
      if (status === 'healthy') {
        const res = await fetch(`${api}/health`, { signal: AbortSignal.timeout(5000) });
        if (res.ok) return Date.now() - start;
        last = `health endpoint ${res.status}`;
      }
      if (status === 'exited' || status === 'dead') break;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const logs = composeSync(['logs', '--tail', '30', 'server', 'postgres', 'netguard', 'images']);
  throw new Error(`the server did not become healthy in ${secs(timeoutMs)} (last: ${last}); logs:\n${logs.stdout}${logs.stderr}`);
}

// ------------------------------------------------------------------------------------------ scripts
/** Python: tries a TCP connection to each target; reports open/refused/timeout/unreachable/dns. */
const PROBE_PY = String.raw`
import cronium, errno, json, socket
res = {}
for t in cronium.get_input()["targets"]:
    try:
        addr = socket.getaddrinfo(t["host"], t["port"], socket.AF_INET, socket.SOCK_STREAM)[0][4]
    except OSError as e:
        res[t["name"]] = "dns"
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(addr)
        res[t["name"]] = "open"
    except socket.timeout:
        res[t["name"]] = "timeout"
    except OSError as e:
        res[t["name"]] = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "unreachable", errno.ENETUNREACH: "unreachable"}.get(e.errno, "errno%s" % e.errno)
    finally:
        s.close()
cronium.set_output(res)
`;
/** Python: listens on its own address, proves it is reachable from itself, waits for the other sandbox. */
const PEER_LISTENER_PY = String.raw`
import cronium, socket, time
ip = socket.gethostbyname(socket.gethostname())
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 9000)); srv.listen(16); srv.settimeout(0.5)
c = socket.create_connection((ip, 9000), timeout=3)
conn, _ = srv.accept(); conn.close(); c.close()
cronium.set_variable(cronium.get_input()["key"], {"ip": ip, "port": 9000})
accepted = 0
deadline = time.time() + 60
while time.time() < deadline and not cronium.get_variable(cronium.get_input()["key"] + "_done"):
    try:
        conn, peer = srv.accept(); conn.close(); accepted += 1
    except socket.timeout:
        pass
cronium.set_output({"ip": ip, "self": "open", "accepted_from_others": accepted})
`;
const SDK_PY = String.raw`
import cronium, hashlib, json
inp = cronium.get_input()
secret = cronium.get_secret("smoke_secret")
ctx = cronium.context()
cronium.set_variable("smoke_var", {"from": "python", "n": inp["n"]})
print("hello from the compose smoke test")
open("/tmp/report.txt", "w").write("report %d\n" % inp["n"])
cronium.save_artifact("/tmp/report.txt", "report.txt")
cronium.set_output({"double": inp["n"] * 2, "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(), "context_keys": sorted(ctx)})
`;
/** Python: what the egress proxy lets through (urllib honours HTTP_PROXY; CONNECT by hand for postgres). */
const EGRESS_PY = String.raw`
import base64, cronium, os, socket, urllib.error, urllib.parse, urllib.request
inp = cronium.get_input()
res = {"proxy_env": bool(os.environ.get("HTTP_PROXY"))}
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return [r.status, r.read(300).decode("latin-1")]
    except urllib.error.HTTPError as e:
        return [e.code, e.read(300).decode("latin-1")]
    except Exception as e:
        return ["error", repr(e)[:300]]
if res["proxy_env"]:
    res["allowed"] = get(inp["allowed"])
    res["other"] = get(inp["other"])
    p = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
    auth = base64.b64encode(("%s:%s" % (urllib.parse.unquote(p.username), urllib.parse.unquote(p.password))).encode()).decode()
    try:
        s = socket.create_connection((p.hostname, p.port), timeout=10)
        s.sendall(("CONNECT postgres:5432 HTTP/1.1\r\nHost: postgres:5432\r\nProxy-Authorization: Basic %s\r\n\r\n" % auth).encode())
        res["postgres_via_proxy"] = s.recv(300).decode("latin-1").split("\r\n")[0]
        s.close()
    except Exception as e:
        res["postgres_via_proxy"] = "error " + repr(e)[:200]
cronium.set_output(res)
`;

// ------------------------------------------------------------------------------------------ main
let hostListener;
let outside; // the outside stand-in (startOutsideStandIn)
let packageIndex; // an operator's package index on the outside stand-in's address (startPackageIndex)
let bareHostNetworkId = null;
let stackStarted = false;
let env; // the values of the smoke env file
let hostComposeIsV1 = false;

async function main() {
  composeCmd = pickCompose();
  if (!composeCmd && process.getuid?.() === 0 && sh('apt-get', ['--version']).code === 0) {
    // A fresh CI machine: Debian's docker-compose (v1.29 on bookworm, v2 on trixie and later).
    log('no compose command: apt-get install docker-compose');
    sh('apt-get', ['update', '-qq']);
    const r = sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker-compose'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.code !== 0) log(`apt-get install docker-compose failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    composeCmd = pickCompose();
  }
  if (!composeCmd) {
    console.log('not ok - a compose command is available: neither `docker compose` nor `docker-compose` works (apt-get install docker-compose)');
    results.failed++;
    return;
  }
  if (sh('docker', ['info']).code !== 0) {
    console.log('not ok - the Docker engine is reachable: `docker info` failed');
    results.failed++;
    return;
  }
  const composeVersion = sh(composeCmd[0], [...composeCmd.slice(1), 'version']).stdout.split('\n')[0].trim();
  hostComposeIsV1 = /version:? v?1\./i.test(composeVersion);
  log(`compose: ${composeCmd.join(' ')} (${composeVersion})`);

  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-smoke-'));
  project = `cronium-smoke-${rand(3)}`;
  envFile = path.join(work, 'smoke.env');
  composeLog = path.join(work, 'compose.log');
  fs.writeFileSync(composeLog, '');
  log(`project ${project}, work directory ${work}`);

  // ---------------------------------------------------------------- static checks
  const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
  await check('every server variable (server/src/config.ts) is documented in .env.example', () => {
    const vars = serverEnvVars();
    assert(vars.length > 20, `parsed only ${vars.length} variables from config.ts`);
    const missing = vars.filter((v) => !documented(v, example));
    assert(!missing.length, `missing: ${missing.join(', ')}`);
    return `${vars.length} variables`;
  });
  await check('every ${VAR} of docker-compose.yml is documented in .env.example', () => {
    const yml = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const vars = [...new Set([...yml.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]))];
    const missing = vars.filter((v) => !documented(v, example));
    assert(!missing.length, `missing: ${missing.join(', ')}`);
    return `${vars.length} variables`;
  });

  // ---------------------------------------------------------------- prepare + env
  if (!SKIP_PREPARE) {
    const t = Date.now();
    log('bash deploy/prepare.sh --no-env (base images, npm run build, production dependencies)');
    const r = sh('bash', ['deploy/prepare.sh', '--no-env'], { stdio: ['ignore', 'pipe', 'pipe'] });
    fs.appendFileSync(composeLog, `\n$ bash deploy/prepare.sh --no-env\n${r.stdout}${r.stderr}`);
    if (r.code !== 0) throw new Error(`deploy/prepare.sh failed:\n${r.stdout}${r.stderr}`);
    timings.push(['prepare (bootstrap if missing, npm run build, stage deps)', Date.now() - t]);
  }

  const prefix = freeNetPrefix();
  const publicPort = await freePort();
  outside = await startOutsideStandIn(`${project}-outside`);
  // The proxy refuses benchmarking addresses: the stand-in's port is opened (for global rules), as an operator
  // would open a service of theirs.
  const egressAllowCidrs = `${outside.ip}/32:${outside.port}`;
  packageIndex = await startPackageIndex(outside.ip);
  env = {
    COMPOSE_PROJECT_NAME: project,
    CRONIUM_ENV_FILE: envFile,
    CRONIUM_IMAGE_NAMESPACE: 'cronium-smoke',
    CRONIUM_ADMIN_KEY: rand(24),
    CRONIUM_ENCRYPTION_KEY: rand(32),
    CRONIUM_JWT_SECRET: rand(32),
    POSTGRES_PASSWORD: rand(24),
    DOCKER_GID: String(fs.statSync('/var/run/docker.sock').gid),
    CRONIUM_PUBLIC_PORT: String(publicPort),
    CRONIUM_SANDBOX_NETWORK: `${project}-sandbox`,
    CRONIUM_SANDBOX_BRIDGE: `crsmk${project.slice(-6)}`,
    CRONIUM_SANDBOX_NET_PREFIX: prefix,
    CRONIUM_NODE_ID: `${project}-server`,
    CRONIUM_LOG_LEVEL: 'warn',
    CRONIUM_EGRESS_ALLOW_CIDRS: egressAllowCidrs,
    CRONIUM_PIP_INDEX_URL: packageIndex.url,
  };
  fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  adminKey = env.CRONIUM_ADMIN_KEY;
  api = `http://127.0.0.1:${publicPort}`;
  log(`sandbox network ${env.CRONIUM_SANDBOX_NETWORK} on ${prefix}.0/24 (bridge ${env.CRONIUM_SANDBOX_BRIDGE}), API ${api}`);
  log(`outside stand-in http://${outside.ip}:${outside.port}/ on network ${outside.network}: CRONIUM_EGRESS_ALLOW_CIDRS=${egressAllowCidrs}`);
  try {
    bareHostNetworkId = dockerJson('network', 'inspect', 'cronium-sandbox')[0].Id;
  } catch {
    bareHostNetworkId = null;
  }

  await check(`docker-compose.yml validates (${composeCmd.join(' ')} config)`, async () => {
    const r = composeSync(['config', '-q']);
    assert(r.code === 0, r.stderr.trim());
  });

  // ---------------------------------------------------------------- build + up
  let t = Date.now();
  log(`${composeCmd.join(' ')} up -d --build (log: ${composeLog})`);
  stackStarted = true;
  await compose(['up', '-d', '--build']);
  timings.push(['build + up -d (until compose returns)', Date.now() - t]);
  t = Date.now();
  await check('the server becomes healthy', async () => {
    const ms = await waitHealthy();
    timings.push(['up -d returned -> server healthy', ms]);
    return secs(ms);
  });
  const health = (await fetch(`${api}/health`)).ok ? await (await fetch(`${api}/health`)).json() : null;
  if (!health) throw new Error('no /health: nothing else can be checked');

  const ids = {
    server: containerOf('server'),
    postgres: containerOf('postgres'),
    netguard: containerOf('netguard'),
  };
  const inspect = Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, dockerJson('inspect', id)[0]]));
  const ns = env.CRONIUM_IMAGE_NAMESPACE;
  const images = ['server', 'postgres', 'netguard', 'images-builder'].map((n) => `${ns}/${n}:latest`);
  const sandboxNet = env.CRONIUM_SANDBOX_NETWORK;
  const serverSandboxIp = `${prefix}.2`;

  await check('/health: PostgreSQL, Docker, the compose sandbox network, runtime API and egress proxy on the server\'s sandbox address', () => {
    assertEq(health.status, 'ok', 'status');
    assertEq(health.database?.kind, 'postgres', 'database.kind');
    assertEq(health.sandboxNetwork?.name, sandboxNet, 'sandboxNetwork.name');
    assertEq(health.sandboxNetwork?.internal, true, 'sandboxNetwork.internal');
    assertEq(health.runtimeApi?.url, `http://${serverSandboxIp}:8081`, 'runtimeApi.url');
    if (health.egress) assertEq(health.egress.proxy, `http://${serverSandboxIp}:8082`, 'egress.proxy');
  });

  await check('/health: the server says which sandbox driver auto chose and why (docker: the server is not root)', () => {
    const d = health.sandboxRuntime?.driver;
    assert(d, `no sandboxRuntime.driver in /health: ${JSON.stringify(health.sandboxRuntime)}`);
    assertEq(d.requested, 'auto', 'sandboxRuntime.driver.requested');
    assertEq(d.chosen, 'docker', 'sandboxRuntime.driver.chosen');
    assertEq(health.sandboxRuntime.runtime, 'docker', 'sandboxRuntime.runtime');
    assert(typeof d.reason === 'string' && d.reason.startsWith('auto: '), `reason: ${JSON.stringify(d.reason)}`);
    // uid 10000 with every capability dropped: crun and runc cannot run in the server's container.
    assertEq(d.passedOver?.map((p) => [p.driver, p.code]), [['crun', 'NOT_ROOT'], ['runc', 'NOT_ROOT']], 'sandboxRuntime.driver.passedOver');
    assert(d.passedOver.every((p) => /uid 10000/.test(p.why)), `why: ${JSON.stringify(d.passedOver)}`);
    return `${d.chosen}: ${d.reason}; passed over: ${d.passedOver.map((p) => `${p.driver} (${p.why})`).join(', ')}`;
  });

  await check('the images service built the runtime images and exited 0', () => {
    const id = composeSync(['ps', '-q', '--all', 'images']).stdout.trim() || composeSync(['ps', '-q', 'images']).stdout.trim();
    assert(id, 'no images container');
    assertEq(docker('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id.split('\n')[0]), 'exited 0', 'images container');
    for (const l of ['bash', 'python', 'node']) docker('image', 'inspect', `cronium/runtime-${l}:latest`);
  });

  await check('our images run as non-root users (netguard: root with NET_ADMIN/NET_RAW only, by design)', () => {
    const users = Object.fromEntries(images.map((i) => [i.split('/')[1].split(':')[0], docker('image', 'inspect', '-f', '{{.Config.User}}', i)]));
    assertEq(users.server, '10000:10000', 'server user');
    assertEq(users.postgres, '999:999', 'postgres user');
    assertEq(users['images-builder'], '10002:10002', 'images-builder user');
    assertEq(inspect.netguard.HostConfig.CapAdd?.sort(), ['NET_ADMIN', 'NET_RAW'], 'netguard CapAdd');
    assertEq(inspect.netguard.HostConfig.CapDrop, ['ALL'], 'netguard CapDrop');
    return JSON.stringify(users);
  });

  // pip and npm are there to resolve and download executions' packages (nothing they fetch runs in the server):
  // no compiler, make or package manager besides them.
  await check('the server image has no build tools, no dev dependencies, and pip and npm only for packages', () => {
    const r = sh('docker', [
      'run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', images[0], '-c',
      'for b in yarn pnpm gcc cc g++ c++ make tsc tsx apt-get; do p=$(command -v $b) && [ "$b" != apt-get ] && echo "found $p"; done; ' +
        'for b in npm python3; do command -v $b >/dev/null || echo "no $b (executions\' packages need it)"; done; python3 -m pip --version >/dev/null 2>&1 || echo "no pip"; ' +
        'for d in typescript tsx drizzle-kit esbuild vite @types/dockerode; do [ -e /app/node_modules/$d ] && echo "found node_modules/$d"; done; ' +
        'test -f /app/server/dist/main.js || echo "no main.js"; true',
    ]);
    assert(r.code === 0, r.stderr);
    assert(!r.stdout.trim(), r.stdout.trim().replace(/\n/g, '; '));
    return `${(Number(docker('image', 'inspect', '-f', '{{.Size}}', images[0])) / 1e6).toFixed(0)} MB`;
  });

  await check('no secret is baked into any image (config, env, history)', () => {
    const secrets = [env.CRONIUM_ADMIN_KEY, env.CRONIUM_ENCRYPTION_KEY, env.CRONIUM_JWT_SECRET, env.POSTGRES_PASSWORD];
    for (const img of images) {
      const text = docker('image', 'inspect', img) + docker('history', '--no-trunc', img);
      for (const s of secrets) assert(!text.includes(s), `a secret is in ${img}`);
    }
    const envOf = docker('image', 'inspect', '-f', '{{json .Config.Env}}', images[0]);
    assert(!/KEY=|SECRET=|PASSWORD=/.test(envOf), `secret-like variables in the server image: ${envOf}`);
  });

  await check('the server refuses to start in production without secrets, naming each', () => {
    const r = sh('docker', ['run', '--rm', '--network', 'none', '-e', 'NODE_ENV=production', images[0]]);
    assertEq(r.code, 2, 'exit code');
    for (const v of ['CRONIUM_ADMIN_KEY', 'CRONIUM_ENCRYPTION_KEY', 'CRONIUM_JWT_SECRET']) {
      assert(r.stderr.includes(`${v} is required in production`), `no "${v} is required" in: ${r.stderr.trim()}`);
    }
  });

  await check('the server refuses the placeholder secrets of .env.example, naming each', () => {
    const values = Object.fromEntries(
      ['CRONIUM_ADMIN_KEY', 'CRONIUM_ENCRYPTION_KEY', 'CRONIUM_JWT_SECRET'].map((k) => [k, example.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1]]),
    );
    const r = sh('docker', ['run', '--rm', '--network', 'none', ...Object.entries(values).flatMap(([k, v]) => ['-e', `${k}=${v}`]), images[0]]);
    assertEq(r.code, 2, 'exit code');
    for (const v of Object.keys(values)) assert(r.stderr.includes(`${v} still has a placeholder value`), `no placeholder message for ${v} in: ${r.stderr.trim()}`);
  });

  await check('postgres refuses to start without a password or with the placeholder, naming POSTGRES_PASSWORD', () => {
    const none = sh('docker', ['run', '--rm', '--network', 'none', images[1]]);
    assert(none.code === 2 && none.stderr.includes('POSTGRES_PASSWORD is missing'), `exit ${none.code}: ${none.stderr.trim()}`);
    const placeholder = example.match(/^POSTGRES_PASSWORD=(.*)$/m)?.[1];
    const ph = sh('docker', ['run', '--rm', '--network', 'none', '-e', `POSTGRES_PASSWORD=${placeholder}`, images[1]]);
    assert(ph.code === 2 && ph.stderr.includes('placeholder'), `exit ${ph.code}: ${ph.stderr.trim()}`);
  });

  await check('restart policies, resource limits and hardening of our containers', () => {
    for (const [name, c] of Object.entries(inspect)) {
      const h = c.HostConfig;
      assertEq(h.RestartPolicy?.Name, 'unless-stopped', `${name} restart policy`);
      assert(h.Memory > 0 && h.NanoCpus > 0 && h.PidsLimit > 0, `${name}: memory ${h.Memory}, nanocpus ${h.NanoCpus}, pids ${h.PidsLimit}`);
      assert(h.ReadonlyRootfs, `${name}: root filesystem is writable`);
      assert((h.SecurityOpt ?? []).some((o) => o.startsWith('no-new-privileges')), `${name}: no no-new-privileges`);
    }
    assertEq(inspect.server.HostConfig.CapDrop, ['ALL'], 'server CapDrop');
    assertEq(inspect.postgres.HostConfig.CapDrop, ['ALL'], 'postgres CapDrop');
    assert(!Object.keys(inspect.postgres.HostConfig.PortBindings ?? {}).length, 'postgres publishes a port');
  });

  // Network facts, as Docker has them.
  const netInfo = dockerJson('network', 'inspect', sandboxNet)[0];
  const dbNetName = Object.keys(inspect.postgres.NetworkSettings.Networks)[0];
  const postgresIps = Object.values(inspect.postgres.NetworkSettings.Networks).map((n) => n.IPAddress);
  const serverOtherIps = Object.entries(inspect.server.NetworkSettings.Networks)
    .filter(([n]) => n !== sandboxNet)
    .map(([, n]) => n.IPAddress);
  await check('networks: sandbox internal, ICC off, fixed bridge; only the server joins it; postgres only on the internal db network', () => {
    assertEq(netInfo.Internal, true, 'sandbox Internal');
    assertEq(netInfo.Options?.['com.docker.network.bridge.enable_icc'], 'false', 'sandbox enable_icc');
    assertEq(netInfo.Options?.['com.docker.network.bridge.name'], env.CRONIUM_SANDBOX_BRIDGE, 'sandbox bridge name');
    // Members: the server, and sandbox containers the server started (its warm pool), nothing else.
    const serverName = inspect.server.Name.replace(/^\//, '');
    const members = Object.values(netInfo.Containers ?? {}).map((c) => c.Name);
    assert(members.includes(serverName), `the server is not on the sandbox network: ${members}`);
    const others = Object.keys(netInfo.Containers ?? {}).filter((id) => id !== inspect.server.Id);
    const strangers = others.filter((id) => docker('inspect', '-f', '{{index .Config.Labels "io.cronium.managed"}}', id) !== 'true');
    assert(!strangers.length, `containers on the sandbox network that are not sandboxes: ${strangers.map((id) => netInfo.Containers[id].Name)}`);
    assertEq(Object.keys(inspect.postgres.NetworkSettings.Networks).length, 1, 'postgres networks');
    assertEq(dockerJson('network', 'inspect', dbNetName)[0].Internal, true, 'db network internal');
    assert(inspect.server.NetworkSettings.Networks[dbNetName], 'the server is not on the db network');
    assertEq(inspect.server.NetworkSettings.Networks[sandboxNet]?.IPAddress, serverSandboxIp, 'server sandbox address');
  });

  await check('netguard installed its rules for this bridge', () => {
    const r = sh('iptables', ['-S']);
    if (r.code !== 0) throw new Skip('iptables is not usable here');
    const br = env.CRONIUM_SANDBOX_BRIDGE;
    assert(r.stdout.includes(`-A DOCKER-USER -i ${br} -o ${br} -j CRNG-F-${br}`), 'no DOCKER-USER jump');
    assert(r.stdout.includes(`-A INPUT -i ${br} -j CRNG-I-${br}`), 'no INPUT jump');
  });

  // ---------------------------------------------------------------- SDK execution
  const secretValue = `s3cr3t-${rand(8)}`;
  const secretSha = crypto.createHash('sha256').update(secretValue).digest('hex');
  let sdkRun = null;
  await check('a Python execution uses the SDK: input, secret, variable, output, logs, an artifact', async () => {
    await call('PUT', '/api/v1/secrets/smoke_secret', { value: secretValue });
    sdkRun = await run('python', SDK_PY, { input: { n: 21 }, secrets: ['smoke_secret'] });
    assertEq(sdkRun.status, 'succeeded', `execution (${describeRun(sdkRun)})`);
    assertEq(sdkRun.output?.double, 42, 'output.double');
    assertEq(sdkRun.output?.secret_sha256, secretSha, 'sha256 of the secret read through the SDK');
    const v = (await call('GET', '/api/v1/variables/smoke_var')).json;
    assertEq(v.value, { from: 'python', n: 21 }, 'variable set through the SDK');
    const logs = await logsOf(sdkRun.id);
    assert(logs.some((e) => e.text.includes('hello from the compose smoke test')), 'the print() is not in the logs');
    assertEq(await artifactText(sdkRun.id, 'report.txt'), 'report 21\n', 'the artifact saved through the SDK, stored by the non-root server');
    return `${sdkRun.durationMs} ms`;
  });

  await check('a Python execution with a package: the non-root server builds the bundle from the operator\'s index, the sandbox mounts it read-only by its host path', async () => {
    const r = await run('python', 'import six, os\nprint("six", six.__version__)\ntry:\n    open(os.path.join(os.path.dirname(six.__file__), "x"), "w")\nexcept OSError as e:\n    print(e.strerror)\n', { dependencies: { python: ['six'] } });
    assertEq(r.status, 'succeeded', `execution (${describeRun(r)})`);
    assertEq(JSON.stringify(r.installed), JSON.stringify([{ name: 'six', version: '1.17.0' }]), 'installed');
    const out = (await logsOf(r.id)).filter((e) => e.stream === 'stdout').map((e) => e.text).join('\n');
    assertEq(out, 'six 1.17.0\nRead-only file system', 'stdout');
    assert(packageIndex.requests.some((u) => u.startsWith('/files/six')), 'the wheel came from the operator\'s index');
    return `${r.durationMs} ms`;
  });

  // ---------------------------------------------------------------- isolation
  // A listener on the host, on all interfaces: reachable from the host through the sandbox gateway address
  // (positive control), and must not be from a sandbox.
  hostListener = net.createServer((s) => s.destroy());
  await new Promise((r) => hostListener.listen(0, '0.0.0.0', r));
  const hostPort = hostListener.address().port;
  const gateway = `${prefix}.1`;
  const targets = [
    { name: 'runtime API (server:8081, must be open)', host: serverSandboxIp, port: 8081, expect: 'open' },
    ...(health.egress ? [{ name: 'egress proxy (server:8082, must be open)', host: serverSandboxIp, port: 8082, expect: 'open' }] : []),
    { name: 'postgres by name', host: 'postgres', port: 5432 },
    ...postgresIps.map((ip) => ({ name: `postgres by address ${ip}`, host: ip, port: 5432 })),
    { name: "server's public port on its sandbox address", host: serverSandboxIp, port: 8080 },
    { name: "server's public port by the name 'server'", host: 'server', port: 8080 },
    ...serverOtherIps.map((ip) => ({ name: `server's public port on ${ip}`, host: ip, port: 8080 })),
    { name: `the host's published API port through the gateway ${gateway}`, host: gateway, port: publicPort },
    { name: `a host listener on 0.0.0.0 through the gateway ${gateway}`, host: gateway, port: hostPort },
    { name: 'a host listener on 0.0.0.0 through docker0 172.17.0.1', host: '172.17.0.1', port: hostPort },
    { name: `the outside stand-in directly (${outside.ip}:${outside.port})`, host: outside.ip, port: outside.port },
  ];
  await check(`positive control: the host listener answers on the gateway address ${gateway}:${hostPort} from the host`, async () => {
    assertEq(await tcpProbe(gateway, hostPort), 'open', 'host -> gateway listener');
  });
  await check(`positive control: the outside stand-in answers on ${outside.ip}:${outside.port} from the host`, async () => {
    assertEq(await tcpProbe(outside.ip, outside.port), 'open', 'host -> outside stand-in');
  });
  await check('from a sandbox: runtime API and proxy open; database, public port, host and internet unreachable', async () => {
    const e = await run('python', PROBE_PY, { input: { targets }, timeoutMs: 120_000 });
    assertEq(e.status, 'succeeded', `probe execution (${describeRun(e)})`);
    const bad = [];
    for (const t of targets) {
      const got = e.output?.[t.name];
      const ok = t.expect === 'open' ? got === 'open' : ['timeout', 'unreachable', 'dns'].includes(got);
      if (!ok) bad.push(`${t.name}: ${got}`);
    }
    assert(!bad.length, bad.join('; '));
    return Object.entries(e.output).map(([k, v]) => `${k.split(' (')[0]}=${v}`).join(', ');
  });

  await check('from a sandbox: another sandbox (listening on its address) is unreachable', async () => {
    const key = `smoke_peer_${rand(3)}`;
    const listener = (await call('POST', '/api/v1/executions', { language: 'python', script: PEER_LISTENER_PY, input: { key }, timeoutMs: 120_000 })).json;
    let peer = null;
    for (let i = 0; i < 120 && !peer; i++) {
      const r = await call('GET', `/api/v1/variables/${key}`, undefined, { expect: undefined }).catch(() => null);
      if (r?.json?.value?.ip) peer = r.json.value;
      else {
        const st = (await call('GET', `/api/v1/executions/${listener.id}`)).json;
        if (['succeeded', 'failed', 'error', 'timed_out', 'cancelled', 'oom_killed'].includes(st.status)) {
          throw new Error(`the listening sandbox ended early: ${describeRun(st)}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert(peer, 'the listening sandbox never published its address');
    const probe = await run('python', PROBE_PY + `\ncronium.set_variable(${JSON.stringify(key + '_done')}, True)\n`, {
      input: { targets: [{ name: 'peer', host: peer.ip, port: peer.port }, { name: 'runtime', host: serverSandboxIp, port: 8081 }] },
    });
    assertEq(probe.status, 'succeeded', `probing execution (${describeRun(probe)})`);
    let final = null;
    for (let i = 0; i < 120; i++) {
      final = (await call('GET', `/api/v1/executions/${listener.id}`)).json;
      if (final.status !== 'running' && final.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assertEq(final.status, 'succeeded', `listening execution (${describeRun(final)})`);
    assertEq(final.output?.self, 'open', 'the listener reaches itself (positive control)');
    assertEq(probe.output?.runtime, 'open', 'the prober reaches the runtime API (positive control)');
    assert(['timeout', 'unreachable'].includes(probe.output?.peer), `the other sandbox ${peer.ip}:${peer.port} is ${probe.output?.peer}`);
    assertEq(final.output?.accepted_from_others, 0, 'connections the listener accepted from others');
    return `${peer.ip}:${peer.port} -> ${probe.output.peer}`;
  });

  await check('allowlisted egress through the proxy: allowed host 200, other host 403, database via proxy 403', () => checkAllowlistedEgress(health));

  // ---------------------------------------------------------------- restart keeps data
  t = Date.now();
  log('restart: down (volumes kept) and up -d');
  await stopServerFirst('restart');
  await compose(['down', '--timeout', '30']);
  await compose(['up', '-d']);
  await check('after down + up -d the server is healthy again', async () => {
    const ms = await waitHealthy();
    timings.push(['restart: down + up -d -> healthy', Date.now() - t]);
    return secs(ms);
  });
  await check('after the restart: the execution, its output, logs and artifact, the variable and the secret are all there', async () => {
    assert(sdkRun?.id, 'no execution from before the restart');
    const again = (await call('GET', `/api/v1/executions/${sdkRun.id}`)).json;
    assertEq(again.status, 'succeeded', 'status');
    assertEq(again.output, sdkRun.output, 'output');
    const logs = await logsOf(sdkRun.id);
    assert(logs.some((e) => e.text.includes('hello from the compose smoke test')), 'logs lost');
    assertEq(await artifactText(sdkRun.id, 'report.txt'), 'report 21\n', 'artifact');
    assertEq((await call('GET', '/api/v1/variables/smoke_var')).json.value, { from: 'python', n: 21 }, 'variable');
    const secrets = (await call('GET', '/api/v1/secrets')).json.items.map((s) => s.name);
    assert(secrets.includes('smoke_secret'), `secret list: ${secrets}`);
    const e = await run('python', SDK_PY, { input: { n: 2 }, secrets: ['smoke_secret'] });
    assertEq(e.status, 'succeeded', `execution after the restart (${describeRun(e)})`);
    assertEq(e.output?.secret_sha256, secretSha, 'the secret still decrypts to the same value');
  });
}

/**
 * The allowlisted-egress part: needs the egress proxy in the server (HTTP_PROXY in the sandbox, and the
 * per-execution `egress.allow`). Skipped, not failed, when the server has no proxy yet, unless
 * CRONIUM_SMOKE_REQUIRE_EGRESS=1.
 */
async function checkAllowlistedEgress(health) {
  const requireEgress = process.env.CRONIUM_SMOKE_REQUIRE_EGRESS === '1';
  const missing = (why) => {
    if (requireEgress) throw new Error(why);
    throw new Skip(why);
  };
  if (!health.egress) missing('the server reports no egress proxy in /health');
  const rule = await call('POST', '/api/v1/egress/rules', { pattern: 'postgres', ports: [5432], scope: 'user' }, { expect: undefined }).catch((e) => e);
  if (rule instanceof Error && /-> 404/.test(rule.message)) missing('the server has no /api/v1/egress/rules');
  if (rule instanceof Error) throw rule;
  // The server reaches the stand-in (a host address) through its default network, the way it reaches the
  // internet. It does not join the stand-in's network: joining moves a container's default route to the network
  // whose name sorts first, and Docker then broke the test's open connection to the published port (CI run 3:
  // "fetch failed: other side closed").
  const allowed = `http://${outside.ip}:${outside.port}/Release`;
  const other = 'http://other.outside.invalid/';
  // An opening serves global rules only.
  await call('POST', '/api/v1/egress/rules', { pattern: outside.ip, ports: [outside.port], scope: 'global' });
  const e = await run('python', EGRESS_PY, { input: { allowed, other }, timeoutMs: 120_000 });
  assertEq(e.status, 'succeeded', `egress execution (${describeRun(e)})`);
  if (!e.output?.proxy_env) missing('the sandbox got no HTTP_PROXY');
  assert(e.output.allowed?.[0] === 200, `allowlisted ${allowed}: ${JSON.stringify(e.output.allowed)}`);
  assert(outside.requests.some((r) => r.url === '/Release'), 'the stand-in got the allowed request');
  assert(e.output.other?.[0] === 403, `not allowlisted ${other}: ${JSON.stringify(e.output.other)}`);
  assert(/^HTTP\/1\.[01] 403/.test(e.output.postgres_via_proxy ?? ''), `CONNECT postgres:5432 (allowlisted by a rule): ${e.output.postgres_via_proxy}`);
  const log = (await call('GET', `/api/v1/executions/${e.id}/egress`, undefined, { expect: undefined }).catch(() => null))?.json?.items ?? [];
  return `200 / 403 / ${e.output.postgres_via_proxy}${log.length ? `, ${log.length} audit entries` : ''}`;
}

/**
 * `docker compose down` removes the sandbox network, which fails while a container is still attached: the
 * server must remove its sandboxes (warm pool, running executions) when it stops. Stop it alone first and
 * check that; whatever it left is removed here so that `down` can go on, and reported.
 */
async function stopServerFirst(when) {
  await compose(['stop', '--timeout', '30', 'server']);
  const left = sh('docker', ['ps', '-aq', '--filter', `network=${env.CRONIUM_SANDBOX_NETWORK}`, '--filter', 'label=io.cronium.managed=true'])
    .stdout.split('\n')
    .filter(Boolean);
  await check(`${when}: the stopped server left no sandbox container on the sandbox network (else \`down\` cannot remove it)`, () => {
    if (left.length) {
      removeSandboxContainers();
      throw new Error(`${left.length} left: ${left.join(' ')}`);
    }
  });
}

/** Sandbox containers left on this project's network (a backstop: the server removes its own). */
function removeSandboxContainers() {
  if (!env) return;
  const r = sh('docker', ['ps', '-aq', '--filter', `network=${env.CRONIUM_SANDBOX_NETWORK}`, '--filter', 'label=io.cronium.managed=true']);
  const idsLeft = r.stdout.split('\n').filter(Boolean);
  if (idsLeft.length) sh('docker', ['rm', '-f', ...idsLeft]);
  return idsLeft.length;
}

/**
 * The outside, on this machine: a Docker network of its own on a free /24 of 198.18.0.0/15 (an ordinary bridge),
 * and a listener of this process on its host-side address. Removed by teardown().
 */
/**
 * An operator's package index (PEP 503) on the outside stand-in's address, serving the six wheel the tests fetch
 * (scripts/fetch-test-packages.mjs): the server resolves and downloads from it as CRONIUM_PIP_INDEX_URL.
 */
async function startPackageIndex(ip) {
  const file = 'six-1.17.0-py2.py3-none-any.whl';
  const wheel = path.join(root, '.cache/test-packages/pypi', file);
  if (!fs.existsSync(wheel)) {
    const r = sh(process.execPath, [path.join(root, 'scripts/fetch-test-packages.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.code !== 0 || !fs.existsSync(wheel)) throw new Error(`the test packages could not be fetched: ${r.stderr}`);
  }
  const data = fs.readFileSync(wheel);
  const sha = crypto.createHash('sha256').update(data).digest('hex');
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    // pip reads a page as an index only with an index's content type (PEP 503 / 691).
    if (req.url === '/simple/six/') res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><a href="/files/${file}#sha256=${sha}">${file}</a></body></html>`);
    else if (req.url === `/files/${file}`) res.end(data);
    else res.writeHead(404).end();
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, ip, resolve));
  return { url: `http://${ip}:${server.address().port}/simple/`, server, requests };
}

async function startOutsideStandIn(name) {
  let ip = null;
  for (let i = 0; i < 8 && !ip; i++) {
    const p = `198.${18 + crypto.randomInt(2)}.${crypto.randomInt(256)}`;
    const r = sh('docker', ['network', 'create', '--label', 'io.cronium.outside-stand-in=true', '--subnet', `${p}.0/24`, '--gateway', `${p}.1`, name]);
    if (r.code === 0) ip = `${p}.1`;
  }
  if (!ip) throw new Error('no free /24 in 198.18.0.0/15 for the outside stand-in');
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, from: req.socket.remoteAddress });
    res.end('outside-stand-in\n');
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, ip, resolve));
  return { network: name, ip, port: server.address().port, server, requests };
}

async function teardown() {
  hostListener?.close();
  packageIndex?.server.close();
  if (outside) {
    outside.server.close();
    const attached = sh('docker', ['network', 'inspect', '-f', '{{range $k, $v := .Containers}}{{$k}} {{end}}', outside.network]).stdout;
    for (const id of attached.split(' ').map((x) => x.trim()).filter(Boolean)) {
      sh('docker', ['network', 'disconnect', '-f', outside.network, id]);
    }
    sh('docker', ['network', 'rm', outside.network]);
  }
  if (!stackStarted) return;
  if (KEEP) {
    console.log(`\n--keep: the stack is still running. Remove it with:\n  ${composeCmd.join(' ')} ${composeArgs(['down', '-v', '--remove-orphans']).slice(composeCmd.length - 1).join(' ')}\n`);
    return;
  }
  const t = Date.now();
  log('teardown: down -v --remove-orphans');
  await stopServerFirst('teardown').catch(() => undefined);
  const left = removeSandboxContainers();
  let downError = null;
  await compose(['down', '-v', '--remove-orphans', '--timeout', '30']).catch((e) => (downError = e));
  timings.push(['teardown (down -v)', Date.now() - t]);
  await check('teardown: down -v removed every container, volume and network of the project', () => {
    if (downError) throw downError;
    const containers = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`);
    assert(!containers, `containers left: ${containers}`);
    const volumes = docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`);
    assert(!volumes, `volumes left: ${volumes}`);
    assert(sh('docker', ['network', 'inspect', env.CRONIUM_SANDBOX_NETWORK]).code !== 0, 'the sandbox network is still there');
    return left ? `${left} sandbox containers removed first` : '';
  });
  await check("teardown: netguard removed its iptables rules", () => {
    const r = sh('iptables', ['-S']);
    if (r.code !== 0) throw new Skip('iptables is not usable here');
    const lines = r.stdout.split('\n').filter((l) => l.includes(env.CRONIUM_SANDBOX_BRIDGE));
    assert(!lines.length, lines.join('; '));
  });
  await check('the bare-host sandbox network cronium-sandbox is untouched', () => {
    if (!bareHostNetworkId) throw new Skip('there is no cronium-sandbox network on this machine');
    assertEq(dockerJson('network', 'inspect', 'cronium-sandbox')[0].Id, bareHostNetworkId, 'cronium-sandbox id');
  });
}

/**
 * The same test under Compose v2 + BuildKit, in the compose-v2-tester container (Debian trixie's
 * docker-compose 2.x and docker-buildx): host network (published ports, the sandbox gateway), the host's
 * Docker socket, the repository at the same path, NET_ADMIN to read the iptables rules. Its own summary
 * line is added to ours.
 */
async function runUnderComposeV2() {
  log('=== the same test under Compose v2 (in a container built from Debian trixie packages) ===');
  const tag = 'cronium-smoke/compose-v2-tester:latest';
  const b = sh('docker', ['build', '-q', '-t', tag, '--build-arg', 'DEBIAN_IMAGE=cronium/debian:trixie', path.join(root, 'deploy/compose-v2')], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
  if (b.code !== 0) {
    results.failed++;
    failures.push('Compose v2 tester image');
    console.log(`not ok - the Compose v2 tester image builds: ${b.stderr.trim().split('\n').slice(-5).join(' ')}`);
    return;
  }
  // Its work directory (env file, compose log) is on the host, so that the logs of a failure stay.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cronium-smoke-v2-'));
  const args = ['run', '--rm', '--network', 'host', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW',
    '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', `${root}:${root}`, '-w', root, '-v', `${tmp}:${tmp}`, '-e', `TMPDIR=${tmp}`,
    '-e', 'CRONIUM_COMPOSE=docker compose', '-e', `CRONIUM_SMOKE_REQUIRE_EGRESS=${process.env.CRONIUM_SMOKE_REQUIRE_EGRESS ?? ''}`,
    tag, 'node', 'deploy/compose-smoke.mjs', '--skip-prepare', '--no-v2', ...(VERBOSE ? ['--verbose'] : [])];
  const out = await new Promise((resolve) => {
    const child = spawn('docker', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      process.stdout.write(String(d).replace(/^(ok|not ok|skip) - /gm, '$1 - [compose v2] ').replace(/^(\d+ passed, )/gm, '[compose v2] $1'));
    });
    child.on('close', (code) => resolve({ text, code }));
  });
  const m = out.text.match(/^(\d+) passed, (\d+) failed, (\d+) skipped$/m);
  if (!m) {
    results.failed++;
    failures.push('Compose v2 run');
    console.log(`not ok - the Compose v2 run ended without a summary (exit ${out.code})`);
    return;
  }
  if (!Number(m[2])) fs.rmSync(tmp, { recursive: true, force: true });
  results.passed += Number(m[1]);
  results.failed += Number(m[2]);
  results.skipped += Number(m[3]);
  if (Number(m[2])) failures.push(`${m[2]} under Compose v2`);
  if (out.code !== 0 && !Number(m[2])) {
    results.failed++;
    failures.push('Compose v2 run exit code');
  }
}

try {
  await main();
} catch (err) {
  results.failed++;
  failures.push('(aborted)');
  console.log(`not ok - the smoke test could not go on: ${err instanceof Error ? err.message : err}`);
} finally {
  try {
    await teardown();
  } catch (err) {
    results.failed++;
    console.log(`not ok - teardown: ${err instanceof Error ? err.message : err}`);
  }
  if (timings.length) {
    console.log('\ntimings:');
    for (const [what, ms] of timings) console.log(`  ${what.padEnd(58)} ${secs(ms)}`);
  }
  if (work && !KEEP && results.failed === 0) fs.rmSync(work, { recursive: true, force: true });
  else if (work) console.log(`\nlogs kept in ${work}`);
  if (hostComposeIsV1 && !NO_V2 && !KEEP) {
    try {
      await runUnderComposeV2();
    } catch (err) {
      results.failed++;
      console.log(`not ok - the Compose v2 run: ${err instanceof Error ? err.message : err}`);
    }
  }
  if (failures.length) console.log(`\nfailed: ${failures.join('; ')}`);
  console.log(`\n${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
  process.exit(results.failed ? 1 : 0);
}
