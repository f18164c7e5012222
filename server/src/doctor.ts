// `npm run doctor`: probes the sandbox network from a real, hardened sandbox container and says what a script
// could reach: the host's listening services through the gateway, and the outside (TCP and DNS). The outside is a
// stand-in the doctor makes on this machine (egress/outside-stand-in.ts): the doctor never sends a packet to an
// address that is not on this machine, and it shows first that this machine reaches the stand-in, so that
// "blocked" from the sandbox means blocked, not absent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import Docker from 'dockerode';
import { loadConfig } from './config.js';
import { createOutsideStandIn, dnsQuery, type OutsideStandIn } from './egress/outside-stand-in.js';
import { describeChoice, driverIntent } from './sandbox/choose-driver.js';
import { createDriver } from './sandbox/create-driver.js';
import { sandboxOptionsFromConfig } from './sandbox/options.js';
import { resolveDriver } from './sandbox/probe-host.js';

interface Probe {
  name: string;
  host: string;
  port: number;
  expect: 'reachable' | 'blocked';
}

/** TCP ports listening on all interfaces or on the gateway address, from /proc/net/tcp. */
function hostListeners(gateway: string): number[] {
  const hex = gateway
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !f[1]) continue; // LISTEN
      const [addr, port] = f[1].split(':');
      if (addr && /^0+$/.test(addr)) ports.add(parseInt(port!, 16));
      if (addr === hex) ports.add(parseInt(port!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

async function main() {
  const config = loadConfig();
  // This server's sandbox options, without a warm pool and under a node id of its own (no server's sweep takes
  // the doctor's sandbox for one of its own).
  const sandbox = sandboxOptionsFromConfig(config, { warn: (obj: object | string, msg?: string) => console.warn(msg ?? obj) });
  // The same choice a server with this configuration makes on this host, so the probe runs in its kind of sandbox.
  const choice = await resolveDriver(driverIntent(config.sandbox));
  console.log(describeChoice(choice));
  const driver = createDriver(config, { ...sandbox, nodeId: `doctor-${crypto.randomBytes(3).toString('hex')}`, pool: { ...sandbox.pool, sizing: null } }, choice);
  await driver.ping();
  const network = await driver.ensureNetwork();
  const gateway = network.gateway ?? '';
  console.log(`sandbox network ${network.name}: internal=${network.internal} subnet=${network.subnet} gateway=${gateway} bridge=${network.bridge}`);

  let health: any = null;
  try {
    const res = await fetch(`http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}/health`);
    health = await res.json();
  } catch {
    console.log(`no Cronium server answers on port ${config.port}: probing without the runtime API and proxy ports`);
  }
  const open = new Set<number>();
  if (health) {
    const rt = new URL(health.runtimeApi.url);
    const px = new URL(health.egress.proxy);
    open.add(Number(rt.port));
    open.add(Number(px.port));
    console.log(`server ${health.node}: runtime API ${health.runtimeApi.url}, egress proxy ${health.egress.proxy}`);
    const serverDriver = health.sandboxRuntime?.driver?.chosen;
    if (serverDriver && serverDriver !== choice.chosen) {
      // Its environment differs from the doctor's: the probes below run in a sandbox of another kind.
      console.log(`  note: that server runs the ${serverDriver} driver, this doctor the ${choice.chosen} driver: run the doctor with the server's CRONIUM_SANDBOX_DRIVER and CRONIUM_RUNC_BINARY`);
    }
    console.log(`host guard: ${JSON.stringify(health.egress.hostGuard)}`);
  }
  let problems = 0;
  let outside: OutsideStandIn | null = null;
  let seenBefore = 0;
  try {
    outside = await createOutsideStandIn(new Docker({ socketPath: config.dockerSocket }), config.sandbox.images.python);
    const fromHost = await outside.reachableFromHost();
    console.log(`outside stand-in ${outside.address} (198.18.0.0/15, on this machine): from this machine http ${fromHost.http ? 'reachable' : 'NOT reachable'}, dns ${fromHost.dns ? 'answers' : 'does NOT answer'}`);
    if (!fromHost.http || !fromHost.dns) {
      problems++;
      console.log('  FAIL the stand-in does not answer this machine: the outside probes below prove nothing');
    }
    seenBefore = (await outside.seen()).length;
  } catch (err) {
    problems++;
    console.log(`  FAIL no outside stand-in (${err instanceof Error ? err.message : String(err)}): the outside is not probed`);
  }
  const probes: Probe[] = [
    ...hostListeners(gateway).map((port) => ({
      name: open.has(port) ? `host :${port} (Cronium, meant for sandboxes)` : `host service :${port} via the gateway`,
      host: gateway,
      port,
      expect: (open.has(port) ? 'reachable' : 'blocked') as Probe['expect'],
    })),
    ...(outside
      ? [
          { name: `outside ${outside.address}:80 (direct, without the proxy)`, host: outside.address, port: 80, expect: 'blocked' as const },
          { name: `outside ${outside.address}:443 (direct, without the proxy)`, host: outside.address, port: 443, expect: 'blocked' as const },
        ]
      : []),
    { name: 'docker0 gateway 172.17.0.1:22', host: '172.17.0.1', port: 22, expect: 'blocked' },
  ];
  // A DNS query over UDP to the stand-in, which answers every query: any answer means the sandbox has a way out.
  const query = [...dnsQuery('outside.example')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  const script = [
    'for p in ' + probes.map((p) => `${p.host}:${p.port}`).join(' ') + '; do',
    '  h=${p%:*}; n=${p##*:}',
    '  if timeout 2 bash -c "exec 3<>/dev/tcp/$h/$n" 2>/dev/null; then echo "$p reachable"; else echo "$p blocked"; fi',
    'done',
    ...(outside
      ? [
          `if timeout 3 bash -c 'exec 3<>/dev/udp/${outside.address}/53; printf "${query}" >&3; head -c 12 <&3 | wc -c | grep -q 12' 2>/dev/null; then echo "dns reachable"; else echo "dns blocked"; fi`,
        ]
      : []),
  ].join('\n');

  let out = '';
  let arrived = 0;
  try {
    const run = await driver.start(
      {
        executionId: crypto.randomUUID(),
        language: 'bash',
        script,
        filename: 'doctor.sh',
        argv: ['bash', '/work/doctor.sh'],
        env: {},
        isolation: 'standard',
        limits: { memoryMb: 64, cpus: 0.5, pids: 64, tmpfsMb: 8 },
      },
      { stdout: (t) => (out += t), stderr: () => undefined },
    );
    await run.done;
    await run.remove();
    // Anything the stand-in got after this machine's own probes came from the sandbox.
    if (outside) arrived = (await outside.seen()).length - seenBefore;
  } finally {
    // The runc driver removes a sandbox's network and bundle after `remove` returns; exiting before they were
    // gone leaked both, under a node id that no server ever sweeps.
    await driver.close();
    await outside?.remove();
  }

  const seen = new Map(out.trim().split('\n').map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]));
  console.log('\nfrom inside a sandbox container:');
  const dnsProbe = outside ? [{ name: `outside DNS ${outside.address}:53 (UDP, direct)`, host: 'dns', port: 0, expect: 'blocked' as const }] : [];
  for (const p of [...probes, ...dnsProbe]) {
    const key = p.host === 'dns' ? 'dns' : `${p.host}:${p.port}`;
    const got = seen.get(key) ?? 'unknown';
    const ok = got === p.expect;
    if (!ok) problems++;
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${p.name}: ${got}${ok ? '' : ` (expected ${p.expect})`}`);
  }
  if (arrived > 0) {
    problems++;
    console.log(`  FAIL the outside stand-in received ${arrived} connection(s) or datagram(s) from the sandbox`);
  }
  console.log(problems ? `\n${problems} problem(s): a sandbox can reach something it should not, or the probes could not be made.` : '\nall probes as expected.');
  process.exit(problems ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error('doctor:', err instanceof Error ? err.message : err);
  process.exit(2);
});
