/**
 * A stand-in for "the outside", made on this machine, so that the doctor and the tests can prove a sandbox has no
 * way out without ever sending a packet to an address that is not on this machine.
 *
 * It is a container on a Docker network of its own (an ordinary bridge, not internal) with a subnet of the
 * benchmarking range 198.18.0.0/15, listening on TCP 80 (HTTP), TCP 443 and UDP 53 (DNS: it answers every query).
 * This machine routes to it like to any other network: the test process reaches it (the positive control), and a
 * sandbox reaches it only if the isolation failed, the same way it would then reach the internet. Every
 * connection and datagram it receives is logged with its source, so the caller can tell that nothing but this
 * machine's own probes arrived.
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type Docker from 'dockerode';

export const STAND_IN_LABEL = 'io.cronium.outside-stand-in';

export interface OutsideStandIn {
  /** The listener's address (198.18.x.2 or 198.19.x.2). */
  address: string;
  /** This machine's own address on the stand-in's network (where the positive control comes from). */
  hostSide: string;
  ports: { http: 80; https: 443; dns: 53 };
  /** Sources (ip) of every TCP connection and UDP datagram the stand-in received, in order. */
  seen(): Promise<string[]>;
  /** Whether this machine reaches it: an HTTP answer on 80 and a DNS answer on 53 (proves the stand-in works). */
  reachableFromHost(): Promise<{ http: boolean; dns: boolean }>;
  remove(): Promise<void>;
}

/** The stand-in's program (Python, run in a runtime image): HTTP on 80, a TCP banner on 443, DNS on 53. */
const SERVER_PY = String.raw`
import socket, struct, sys, threading
def log(kind, peer):
    print(kind, peer[0], flush=True)
def http():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 80)); s.listen(64)
    while True:
        c, peer = s.accept(); log("tcp80", peer)
        try:
            c.settimeout(2); c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\noutside-stand-in\n")
        except OSError: pass
        c.close()
def banner():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 443)); s.listen(64)
    while True:
        c, peer = s.accept(); log("tcp443", peer)
        try: c.sendall(b"outside-stand-in\n")
        except OSError: pass
        c.close()
def dns(me):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53))
    while True:
        q, peer = s.recvfrom(512); log("udp53", peer)
        if len(q) < 12: continue
        end = q.index(b"\0", 12) + 5
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(me)
        s.sendto(q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end] + answer, peer)
threading.Thread(target=http, daemon=True).start()
threading.Thread(target=banner, daemon=True).start()
print("ready", flush=True)
dns(sys.argv[1])
`;

/** A DNS query for `name` (type A), as the stand-in expects it. */
export function dnsQuery(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

const pick = (): string => `198.${18 + crypto.randomInt(2)}.${crypto.randomInt(256)}`;

/**
 * Makes the stand-in: its network (a free /24 of 198.18.0.0/15, tried a few times) and its container, from
 * `image` (a Cronium runtime image with Python). Remove it with remove() (also after a failure).
 */
export async function createOutsideStandIn(docker: Docker, image: string): Promise<OutsideStandIn> {
  const id = crypto.randomBytes(4).toString('hex');
  const labels = { [STAND_IN_LABEL]: 'true' };
  let network: Docker.Network | null = null;
  let prefix = '';
  for (let attempt = 0; attempt < 8 && !network; attempt++) {
    prefix = pick();
    try {
      network = await docker.createNetwork({
        Name: `cronium-outside-${id}`,
        Driver: 'bridge',
        Internal: false,
        CheckDuplicate: true,
        IPAM: { Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
        Labels: labels,
      });
    } catch (err) {
      // Another network (another run's stand-in) uses that range: try another.
      if (!/overlap|in use/i.test((err as Error).message)) throw err;
    }
  }
  if (!network) throw new Error('no free /24 in 198.18.0.0/15 for the outside stand-in');
  const address = `${prefix}.2`;
  let container: Docker.Container | null = null;
  const remove = async (): Promise<void> => {
    await container?.remove({ force: true }).catch(() => undefined);
    await network?.remove().catch(() => undefined);
  };
  try {
    container = await docker.createContainer({
      name: `cronium-outside-${id}`,
      Image: image,
      Entrypoint: ['python3', '-c', SERVER_PY, address],
      Labels: labels,
      HostConfig: {
        NetworkMode: `cronium-outside-${id}`,
        // Ports below 1024 for its uid, without any capability.
        Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        Memory: 64 * 1024 * 1024,
        LogConfig: { Type: 'json-file', Config: {} },
      },
      NetworkingConfig: { EndpointsConfig: { [`cronium-outside-${id}`]: { IPAMConfig: { IPv4Address: address } } } },
    });
    await container.start();
    const c = container;
    const logs = async (): Promise<string> => {
      const buf = (await c.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
      // Docker's multiplexed frames: 8-byte headers before each chunk.
      let out = '';
      for (let i = 0; i + 8 <= buf.length; ) {
        const len = buf.readUInt32BE(i + 4);
        out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
        i += 8 + len;
      }
      return out;
    };
    const deadline = Date.now() + 30_000;
    while (!/^ready$/m.test(await logs())) {
      const state = (await c.inspect()).State;
      if (!state.Running) throw new Error(`the outside stand-in exited: ${await logs()}`);
      if (Date.now() > deadline) throw new Error('the outside stand-in did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seen = async () => [...(await logs()).matchAll(/^(?:tcp80|tcp443|udp53) (\S+)$/gm)].map((m) => m[1]!);
    return {
      address,
      hostSide: `${prefix}.1`,
      ports: { http: 80, https: 443, dns: 53 },
      seen,
      reachableFromHost: async () => {
        const before = (await seen()).length;
        const reached = { http: await httpFromHost(address), dns: await dnsFromHost(address) };
        // The stand-in's log reaches Docker's log file a moment after the probe is answered: a baseline taken at
        // once could miss the host's own probes and count them against a sandbox later.
        const expected = before + Number(reached.http) + Number(reached.dns);
        const until = Date.now() + 5000;
        while ((await seen()).length < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        return reached;
      },
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

function httpFromHost(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port: 80, timeout: 3000 });
    let got = '';
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('timeout', () => s.destroy());
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(got.includes('outside-stand-in')));
  });
}

function dnsFromHost(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(false);
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.length > 12 && m.readUInt16BE(0) === 0x1234);
    });
    s.on('error', () => {
      clearTimeout(timer);
      s.close();
      resolve(false);
    });
    s.send(dnsQuery('outside.example'), 53, address);
  });
}
