import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createOutsideStandIn, type OutsideStandIn } from '../../src/egress/outside-stand-in.js';
import { apiFor, docker, logsOf, requireDocker, run, sandboxesOfNode, startTestServer, stdoutOf, driverEnv, testDrivers, type TestServer, until } from '../helpers.js';

/** A TCP listener on 127.0.0.1 that counts the connections it gets (a host service a sandbox must not reach). */
async function countingListener(): Promise<{ server: net.Server; port: number; connections: () => number }> {
  let n = 0;
  const server = net.createServer((c) => {
    n++;
    c.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nhit');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

/** curl through the proxy, one line per target: `name:status:reason` (plain HTTP), or the CONNECT status with -p. */
const CURL_PROBE = 'c() { curl -s -m 10 -o /dev/null -w "$1:%{http_code}:%header{x-cronium-egress-reason}\\n" "$2"; }\n' +
  't() { curl -s -m 10 -p -o /dev/null -w "$1:%{http_connect}\\n" "$2"; }';

/**
 * The outside, on this machine (a container on a 198.18.0.0/15 network of its own): made once for the file, shared
 * by the drivers' suites. No test here sends a packet to an address that is not on this machine.
 */
let standIn: Promise<OutsideStandIn> | null = null;
const outside = () => (standIn ??= createOutsideStandIn(docker, process.env.CRONIUM_IMAGE_PYTHON ?? 'cronium/runtime-python:latest'));
after(async () => {
  if (standIn) await (await standIn.catch(() => null))?.remove();
});

/**
 * The only way out of a sandbox is the allowlisting proxy. Every check runs inside a real container, as a
 * script would try it. The upstream is a local HTTP server on the host, opened on purpose for its port only with
 * CRONIUM_EGRESS_ALLOW_CIDRS=127.0.0.1/32:<port> and reached by the name "localhost" through global rules (an
 * opening serves global rules only).
 */
for (const driver of testDrivers()) describe(`egress through the allowlisting proxy (${driver} driver)`, { concurrency: false }, () => {
  let s: TestServer;
  let upstream: http.Server;
  let port: number;
  const upstreamPaths: string[] = [];
  let unopened: Awaited<ReturnType<typeof countingListener>>;
  let gateway: string;
  let bob: { id: string; key: string };
  let bobApi: ReturnType<typeof apiFor>;

  before(async () => {
    await requireDocker();
    upstream = http.createServer((req, res) => {
      upstreamPaths.push(req.url ?? '');
      res.setHeader('content-type', 'text/plain');
      res.end(`upstream-ok ${req.method} ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '0.0.0.0', r));
    port = (upstream.address() as AddressInfo).port;
    unopened = await countingListener();
    s = await startTestServer({ CRONIUM_EGRESS_ALLOW_CIDRS: `127.0.0.1/32:${port}`, CRONIUM_EGRESS_PORT: '0', ...driverEnv(driver) });
    gateway = (await s.api('GET', '/health')).body.sandboxNetwork.gateway;
    const u = await s.api('POST', '/api/v1/users', { name: 'bob' });
    bob = { id: u.body.id, key: (await s.api('POST', `/api/v1/users/${u.body.id}/keys`, {})).body.key };
    bobApi = apiFor(s.url, bob.key);
  });
  after(async () => {
    await s?.stop();
    upstream?.close();
    unopened?.server.close();
  });

  const out = async (e: any) => stdoutOf(await logsOf(s.api, e.id));

  it('validates rules and scopes them', async () => {
    const bad = await s.api('POST', '/api/v1/egress/rules', { pattern: 'exa*mple.com' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'pattern');
    assert.match(bad.body.error.message, /wildcard/i);
    const long = await s.api('POST', '/api/v1/egress/rules', { pattern: `${'a'.repeat(9990)}.example` });
    assert.equal(long.status, 400);
    assert.equal(long.body.error.field, 'pattern');
    assert.equal(long.body.error.message, 'pattern: is too long: at most 300 characters');
    const tooManyPorts = await s.api('POST', '/api/v1/egress/rules', { pattern: 'x.com', ports: Array.from({ length: 21 }, (_, i) => 1000 + i) });
    assert.equal(tooManyPorts.status, 400);
    assert.equal(tooManyPorts.body.error.message, 'ports: must list at most 20 ports');
    assert.equal((await s.api('POST', '/api/v1/egress/rules', { pattern: 'x.com', ports: [0] })).body.error.field, 'ports');
    const notAdmin = await bobApi('POST', '/api/v1/egress/rules', { pattern: 'example.com', scope: 'global' });
    assert.equal(notAdmin.status, 403);
    const badExec = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', egress: { allow: ['*.'] } });
    assert.equal(badExec.status, 400);
    assert.equal(badExec.body.error.field, 'egress.allow.0');
    await s.api('PATCH', '/api/v1/settings', { allowExecutionEgressRules: false });
    try {
      const forbidden = await bobApi('POST', '/api/v1/executions', { language: 'bash', script: 'true', egress: { allow: ['example.com'] } });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.field, 'egress.allow');
    } finally {
      await s.api('PATCH', '/api/v1/settings', { allowExecutionEgressRules: true });
    }
  });

  it('refuses the same rule twice with 409 EGRESS_RULE_EXISTS, also when asked at once; CIDR rules are stored canonical', async (t) => {
    const first = await bobApi('POST', '/api/v1/egress/rules', { pattern: 'API.dup.example', ports: [443, 80] });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    t.after(() => bobApi('DELETE', `/api/v1/egress/rules/${first.body.id}`));
    for (const again of [{ pattern: 'api.dup.example.', ports: [80, 443] }, { pattern: 'api.dup.example' }, { pattern: 'api.dup.example', ports: null }]) {
      const dup = await bobApi('POST', '/api/v1/egress/rules', again);
      assert.equal(dup.status, 409, JSON.stringify(again));
      assert.equal(dup.body.error.code, 'EGRESS_RULE_EXISTS');
      assert.equal(dup.body.error.field, 'pattern');
      assert.match(dup.body.error.message, new RegExp(`the same rule exists already: api\\.dup\\.example on 80, 443 \\(user\\), id ${first.body.id}`));
    }
    // Not the same rule: other ports, or another owner (the admin's own rule, a global rule).
    const other = [
      await bobApi('POST', '/api/v1/egress/rules', { pattern: 'api.dup.example', ports: [8443] }),
      await s.api('POST', '/api/v1/egress/rules', { pattern: 'api.dup.example' }),
      await s.api('POST', '/api/v1/egress/rules', { pattern: 'api.dup.example', scope: 'global' }),
    ];
    for (const r of other) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      t.after(() => s.api('DELETE', `/api/v1/egress/rules/${r.body.id}`));
    }
    const burst = await Promise.all(Array.from({ length: 6 }, () => s.api('POST', '/api/v1/egress/rules', { pattern: 'burst.dup.example', scope: 'global' })));
    const made = burst.filter((r) => r.status === 201);
    assert.equal(made.length, 1, JSON.stringify(burst.map((r) => r.status)));
    t.after(() => s.api('DELETE', `/api/v1/egress/rules/${made[0]!.body.id}`));
    assert.ok(burst.every((r) => r.status === 201 || r.body.error.code === 'EGRESS_RULE_EXISTS'));
    const rules = (await s.api('GET', '/api/v1/egress/rules')).body.items.filter((r: any) => r.pattern === 'burst.dup.example');
    assert.equal(rules.length, 1);

    const range = await s.api('POST', '/api/v1/egress/rules', { pattern: '203.0.113.77/24', ports: [443] });
    assert.equal(range.status, 201, JSON.stringify(range.body));
    t.after(() => s.api('DELETE', `/api/v1/egress/rules/${range.body.id}`));
    assert.equal(range.body.pattern, '203.0.113.0/24');
    assert.equal((await s.api('POST', '/api/v1/egress/rules', { pattern: '203.0.113.0/24', ports: [443] })).status, 409);
    const wide = await s.api('POST', '/api/v1/egress/rules', { pattern: '0.0.0.0/0' });
    assert.equal(wide.status, 400);
    assert.match(wide.body.error.message, /at most a \/8/);
  });

  it('lets curl, urllib, requests and fetch reach an allowed host, and nothing else', async (t) => {
    const rule = await s.api('POST', '/api/v1/egress/rules', { pattern: 'LOCALHOST.', ports: [port], scope: 'global' });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    t.after(() => s.api('DELETE', `/api/v1/egress/rules/${rule.body.id}`));
    assert.equal(rule.body.pattern, 'localhost', 'patterns are normalised (case, one trailing dot)');
    const url = `http://localhost:${port}/hello`;
    const bash = await run(s.api, {
      language: 'bash',
      script: `curl -s ${url}; echo; curl -s --proxytunnel ${url}; echo; curl -s -o /dev/null -w 'denied:%{http_code}\\n' http://example.org/`,
    });
    const b = await out(bash);
    assert.match(b, /^upstream-ok GET \/hello$/m, b);
    assert.equal(b.match(/upstream-ok/g)?.length, 2, 'plain HTTP and a CONNECT tunnel');
    assert.match(b, /denied:403/);

    const py = await run(s.api, {
      language: 'python',
      script: [
        'import urllib.request, requests',
        `print("urllib", urllib.request.urlopen("${url}", timeout=10).read().decode())`,
        `print("requests", requests.get("${url}", timeout=10).text)`,
        'r = requests.get("http://example.org/", timeout=10)',
        'print("denied", r.status_code, r.headers.get("X-Cronium-Egress-Reason"))',
      ].join('\n'),
    });
    const p = await out(py);
    assert.match(p, /urllib upstream-ok/, p);
    assert.match(p, /requests upstream-ok/);
    assert.match(p, /denied 403 no_matching_rule/);

    const node = await run(s.api, {
      language: 'node',
      // undici tunnels every proxied request with CONNECT, so a refusal surfaces as a failed fetch.
      script: `const r = await fetch("${url}"); console.log("fetch", r.status, await r.text());\ntry { const d = await fetch("http://example.org/"); console.log("NOT DENIED", d.status); } catch (e) { console.log("denied", e.cause?.message ?? e.message); }`,
    });
    const n = await out(node);
    assert.match(n, /fetch 200 upstream-ok/, n + JSON.stringify(node));
    assert.match(n, /^denied /m);
    assert.doesNotMatch(n, /NOT DENIED/);
    const nodeLog = (await s.api('GET', `/api/v1/executions/${node.id}/egress`)).body.items;
    assert.ok(nodeLog.some((l: any) => !l.allowed && l.host === 'example.org' && l.method === 'CONNECT'), 'the proxy refused it');

    const log = (await s.api('GET', `/api/v1/executions/${bash.id}/egress`)).body.items;
    assert.ok(log.some((l: any) => l.allowed && l.host === 'localhost' && l.ruleId === rule.body.id && l.address === '127.0.0.1'));
    assert.ok(log.some((l: any) => l.method === 'CONNECT' && l.allowed));
    assert.ok(log.some((l: any) => !l.allowed && l.host === 'example.org' && l.reason === 'no_matching_rule'));
    const del = await s.api('DELETE', `/api/v1/egress/rules/${rule.body.id}`);
    assert.equal(del.status, 204);
  });

  it('refuses the metadata endpoint, private addresses and blocked ports even when a rule names them', async () => {
    const e = await run(s.api, {
      language: 'bash',
      egress: { allow: ['169.254.169.254', '10.0.0.1', 'localhost:25'] },
      script: [
        "c() { curl -s -m 10 -o /dev/null -w \"$1:%{http_code}:%header{x-cronium-egress-reason}\\n\" \"$2\"; }",
        'c meta http://169.254.169.254/latest/meta-data/',
        'c meta-decimal http://2852039166/',
        'c meta-hex http://0xa9.0xfe.0xa9.0xfe/',
        'c private http://10.0.0.1/',
        'c smtp http://localhost:25/',
      ].join('\n'),
    });
    const o = await out(e);
    assert.match(o, /^meta:403:link_local|^meta:403:metadata/m, o);
    assert.match(o, /^meta-decimal:403:\w+/m);
    assert.match(o, /^meta-hex:403:\w+/m);
    assert.match(o, /^private:403:private/m);
    assert.match(o, /^smtp:403:blocked_port/m);
    assert.doesNotMatch(o, /:200:/);
  });

  it('applies a user rule to that user only, and per-execution hosts to that execution only', async (t) => {
    // The opened upstream is for global rules only, so a user's or an execution's rule that matches its name is
    // told apart by the reason: `global_rule_required` (the rule applied) against `no_matching_rule` (it did not).
    const rule = await bobApi('POST', '/api/v1/egress/rules', { pattern: 'localhost', ports: [port] });
    assert.equal(rule.status, 201);
    t.after(() => bobApi('DELETE', `/api/v1/egress/rules/${rule.body.id}`));
    assert.equal((await s.api('GET', '/api/v1/egress/rules')).body.items.filter((r: any) => r.scope === 'global').length, 0);
    assert.equal(rule.body.scope, 'user');
    const script = `curl -s -o /dev/null -w '%{http_code}:%header{x-cronium-egress-reason}\\n' http://localhost:${port}/`;
    assert.equal(await out(await run(bobApi, { language: 'bash', script }, bob.key)), '403:global_rule_required');
    assert.equal(await out(await run(s.api, { language: 'bash', script })), '403:no_matching_rule', "bob's rule does not apply to the admin's sandbox");
    const own = await run(s.api, { language: 'bash', script, egress: { allow: [`localhost:${port}`] } });
    assert.equal(await out(own), '403:global_rule_required');
    assert.deepEqual(own.egress.allow, [`localhost:${port}`]);
    const rules = (await bobApi('GET', '/api/v1/egress/rules')).body.items;
    assert.ok(rules.every((r: any) => r.scope === 'global' || r.userId === bob.id));
    const bobLog = (await bobApi('GET', '/api/v1/egress/log')).body.items;
    assert.ok(bobLog.length > 0 && bobLog.every((l: any) => l.userId === bob.id), 'a user sees only their own egress log');
  });

  it('an opening serves global rules only: an attacker\'s user and per-execution rules for the opened address reach nothing', async (t) => {
    const apiPort = Number(new URL(s.url).port);
    const before = upstreamPaths.length;
    const attack = [
      CURL_PROBE,
      `c name http://localhost:${port}/attack-name`,
      `c ip http://127.0.0.1:${port}/attack-ip`,
      `c decimal http://2130706433:${port}/attack-decimal`,
      `t tunnel http://localhost:${port}/attack-tunnel`,
      // The issue's case: a per-execution rule naming the public API's port on loopback.
      `c api http://localhost:${apiPort}/health`,
    ].join('\n');
    const expected = [
      'name:403:global_rule_required', 'ip:403:global_rule_required', 'decimal:403:global_rule_required', 'tunnel:403',
      'api:403:cronium_server',
    ].join('\n');
    const allow = [`localhost:${port}`, `127.0.0.1:${port}`, `localhost:${apiPort}`];

    // A user's own per-execution rules.
    assert.equal(await out(await run(bobApi, { language: 'bash', script: attack, egress: { allow } }, bob.key)), expected);
    // A user's rules, by name and by address.
    const rules = [
      await bobApi('POST', '/api/v1/egress/rules', { pattern: 'localhost', ports: [port, apiPort] }),
      await bobApi('POST', '/api/v1/egress/rules', { pattern: '127.0.0.1', ports: [port] }),
    ];
    for (const r of rules) {
      assert.equal(r.status, 201, JSON.stringify(r.body));
      t.after(() => bobApi('DELETE', `/api/v1/egress/rules/${r.body.id}`));
    }
    assert.equal(await out(await run(bobApi, { language: 'bash', script: attack }, bob.key)), expected);
    // An admin's per-execution rules are not global rules either.
    assert.equal(await out(await run(s.api, { language: 'bash', script: attack, egress: { allow } })), expected);
    assert.deepEqual(upstreamPaths.slice(before), [], 'the opened upstream was never reached');
    const log = (await s.api('GET', '/api/v1/egress/log?decision=denied&limit=1000')).body.items;
    assert.ok(log.some((l: any) => l.reason === 'global_rule_required' && l.userId === bob.id && l.address === '127.0.0.1'), 'recorded with the address');

    // A global rule reaches exactly the opened port: not the other listener on the same address.
    const global = await s.api('POST', '/api/v1/egress/rules', { pattern: 'localhost', ports: [port, unopened.port], scope: 'global' });
    assert.equal(global.status, 201);
    t.after(() => s.api('DELETE', `/api/v1/egress/rules/${global.body.id}`));
    const g = await out(await run(bobApi, {
      language: 'bash',
      script: [CURL_PROBE, `c opened http://localhost:${port}/global`, `c other http://localhost:${unopened.port}/`, `t other-tunnel http://localhost:${unopened.port}/`].join('\n'),
    }, bob.key));
    assert.equal(g, ['opened:200:', 'other:403:port_not_opened', 'other-tunnel:403'].join('\n'));
    assert.deepEqual(upstreamPaths.slice(before), ['/global']);
    assert.equal(unopened.connections(), 0, 'the port the opening does not name was never connected to');
  });

  it('no way out: the stand-in for the outside is unreachable directly and refused through the proxy', async (t) => {
    const si = await outside();
    assert.deepEqual(await si.reachableFromHost(), { http: true, dns: true }, 'this machine reaches the stand-in (positive control)');
    const seenBefore = (await si.seen()).length;
    // Directly: TCP 80 and 443, and a DNS query over UDP 53 (the stand-in answers every query).
    const direct = await run(bobApi, {
      language: 'python',
      script: [
        'import socket',
        `for p in (80, 443):`,
        '    try:',
        `        socket.create_connection(("${si.address}", p), timeout=3).close()`,
        '        print("tcp", p, "CONNECTED")',
        '    except OSError:',
        '        print("tcp", p, "BLOCKED")',
        'q = bytes.fromhex("123401000001000000000000") + b"\\x07outside\\x07example\\x00\\x00\\x01\\x00\\x01"',
        'u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)',
        'try:',
        `    u.sendto(q, ("${si.address}", 53)); u.recvfrom(512); print("dns ANSWERED")`,
        'except OSError:',
        '    print("dns BLOCKED")',
      ].join('\n'),
    }, bob.key);
    assert.equal(await out(direct), 'tcp 80 BLOCKED\ntcp 443 BLOCKED\ndns BLOCKED');
    // Through the proxy: refused even with a global rule and a per-execution rule naming it (a benchmarking
    // address, and no opening).
    const rule = await s.api('POST', '/api/v1/egress/rules', { pattern: si.address, ports: [80, 443], scope: 'global' });
    assert.equal(rule.status, 201);
    t.after(() => s.api('DELETE', `/api/v1/egress/rules/${rule.body.id}`));
    const proxied = await run(bobApi, {
      language: 'bash',
      egress: { allow: [`${si.address}:80`] },
      script: [CURL_PROBE, `c http http://${si.address}/`, `t tunnel https://${si.address}/`].join('\n'),
    }, bob.key);
    assert.equal(await out(proxied), 'http:403:benchmarking\ntunnel:403');
    assert.equal((await si.seen()).length, seenBefore, 'nothing from a sandbox or the proxy ever reached the stand-in');
  });

  it('gives no connection to a client that ignores the proxy, and guards the host', async (t) => {
    const health = (await s.api('GET', '/health')).body;
    const guarded = health.egress.hostGuard.installed === true;
    if (process.env.CI === 'true') assert.ok(guarded, `CI runs as root, so the host guard must be installed: ${JSON.stringify(health.egress.hostGuard)}`);
    const runtimePort = new URL(health.runtimeApi.url).port;
    const si = await outside();
    const e = await run(s.api, {
      language: 'python',
      script: [
        'import socket',
        `for name, host, port in [("outside", "${si.address}", 80), ("host-service", "${gateway}", ${port}), ("runtime-api", "${gateway}", ${runtimePort})]:`,
        '    try:',
        '        socket.create_connection((host, port), timeout=2).close()',
        '        print(name, "CONNECTED")',
        '    except OSError as e:',
        '        print(name, "BLOCKED")',
      ].join('\n'),
    });
    const o = await out(e);
    assert.match(o, /outside BLOCKED/);
    assert.match(o, /runtime-api CONNECTED/, 'the runtime API stays reachable');
    // Without the guard (not root, outside CI: CI fails above) the host check cannot be made: a visible skip.
    if (!guarded) return t.skip(`the host guard is not installed, so the host-service check did not run: ${JSON.stringify(health.egress.hostGuard)}`);
    assert.match(o, /host-service BLOCKED/, 'a host service on all interfaces is out of reach');
  });

  it('cannot reach another sandbox, directly or through the proxy', async () => {
    // A sandbox serving on all its addresses, kept running while a second one tries to reach it.
    const server = await s.api('POST', '/api/v1/executions', {
      language: 'python',
      timeoutMs: 60_000,
      script: [
        'import http.server, socket',
        'ip = open("/etc/hosts").read().split()[-2]',
        'print("IP", ip, flush=True)',
        'http.server.HTTPServer(("0.0.0.0", 8000), http.server.SimpleHTTPRequestHandler).serve_forever()',
      ].join('\n'),
    });
    assert.equal(server.status, 202, JSON.stringify(server.body));
    try {
      const ip = await until(async () => /^IP (\S+)$/m.exec(stdoutOf(await logsOf(s.api, server.body.id)))?.[1], 30_000);
      const e = await run(s.api, {
        language: 'python',
        egress: { allow: [ip] },
        script: [
          'import socket, urllib.request',
          'try:',
          `    socket.create_connection(("${ip}", 8000), timeout=3).close()`,
          '    print("direct CONNECTED")',
          'except OSError as e:',
          '    print("direct BLOCKED")',
          'try:',
          `    r = urllib.request.urlopen("http://${ip}:8000/", timeout=10)`,
          '    print("proxy", r.status)',
          'except Exception as e:',
          '    print("proxy refused", getattr(e, "code", e))',
        ].join('\n'),
      });
      const o = await out(e);
      assert.match(o, /direct BLOCKED/, o);
      assert.match(o, /proxy refused 403/, o);
    } finally {
      await s.api('POST', `/api/v1/executions/${server.body.id}/cancel`);
    }
  });

  it('refuses proxy use without the execution\'s credentials or after it ended', async () => {
    const e = await run(s.api, {
      language: 'bash',
      egress: { allow: [`localhost:${port}`] },
      script: `echo "$HTTP_PROXY" | base64 -w0; echo; env -u HTTP_PROXY -u http_proxy curl -s -o /dev/null -w 'noauth:%{http_code}\\n' -x http://${gateway}:$(echo "$HTTP_PROXY" | sed 's/.*://') http://localhost:${port}/`,
    });
    const o = await out(e);
    assert.match(o, /noauth:407/, o);
    const proxyUrl = Buffer.from(o.split('\n')[0]!, 'base64').toString();
    assert.match(proxyUrl, new RegExp(`^http://${e.id}:`));
    // The execution has ended: its credentials no longer open the proxy.
    const u = new URL(proxyUrl);
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: u.hostname,
        port: Number(u.port),
        path: `http://localhost:${port}/`,
        headers: { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` },
      });
      req.on('response', (r) => resolve(r.statusCode!));
      req.on('error', reject);
      req.end();
    });
    assert.equal(res, 407);
    // Both refusals are in the egress log: the one without credentials names no execution (only admins see it),
    // the one with the ended execution's token names that execution.
    const log = (await s.api('GET', '/api/v1/egress/log?decision=denied&limit=1000')).body.items;
    assert.ok(log.some((l: any) => l.reason === 'auth_required' && l.status === 407 && l.executionId === null && l.userId === null), JSON.stringify(log.slice(0, 5)));
    assert.ok(log.some((l: any) => l.reason === 'execution_not_running' && l.status === 407 && l.executionId === e.id));
    assert.ok((await s.api('GET', `/api/v1/executions/${e.id}/egress`)).body.items.some((l: any) => l.reason === 'execution_not_running'));
  });

  it('doctor probes from a real sandbox container and reports what it found', async (t) => {
    // Asynchronously: the server under test runs in this process and must keep answering the doctor.
    const { execFile } = await import('node:child_process');
    const leftBefore = new Set(await sandboxesOfNode('doctor-'));
    const r = await new Promise<{ status: number; text: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'server/src/doctor.ts'],
        { cwd: new URL('../../..', import.meta.url).pathname, env: { ...process.env, ...s.env, CRONIUM_PORT: new URL(s.url).port }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
      );
    });
    const text = r.text;
    assert.match(text, /from inside a sandbox container/, text);
    // The outside is a stand-in on this machine, shown reachable from here first: no packet leaves the machine.
    assert.match(text, /outside stand-in (198\.1[89]\.\d+\.2) \(198\.18\.0\.0\/15, on this machine\): from this machine http reachable, dns answers/);
    assert.match(text, /ok {3}outside 198\.1[89]\.\d+\.2:80 \(direct, without the proxy\): blocked/);
    assert.match(text, /ok {3}outside 198\.1[89]\.\d+\.2:443 \(direct, without the proxy\): blocked/);
    assert.match(text, /ok {3}outside DNS 198\.1[89]\.\d+\.2:53 \(UDP, direct\): blocked/);
    assert.doesNotMatch(text, /1\.1\.1\.1|169\.254\.169\.254|example\.com/, 'no probe of an address that is not on this machine');
    const doctorsOutside = /outside stand-in (\S+) /.exec(text)![1]!;
    const leftNets = (await docker.listNetworks({ filters: { label: ['io.cronium.outside-stand-in'] } })).filter((n) =>
      n.IPAM?.Config?.some((c) => c.Gateway === doctorsOutside.replace(/\.2$/, '.1')),
    );
    assert.deepEqual(leftNets, [], 'the doctor removed its stand-in');
    assert.match(text, /\(Cronium, meant for sandboxes\): reachable/);
    const left = (await sandboxesOfNode('doctor-')).filter((id) => !leftBefore.has(id));
    assert.deepEqual(left, [], 'the doctor removed its sandbox (bundle, network, container) before it exited');
    // The host probes' outcome depends on the host guard: with it every host service is blocked and the doctor is
    // content; without it (not root) a host service is reachable, and the doctor rightly says so.
    const guard = (await s.api('GET', '/health')).body.egress.hostGuard;
    if (process.env.CI === 'true') assert.equal(guard.installed, true, `CI runs as root, so the host guard must be installed: ${JSON.stringify(guard)}`);
    if (guard.installed === true) {
      assert.match(text, new RegExp(`ok {3}host service :${port} via the gateway: blocked`), text);
      assert.equal(r.status, 0, text);
      assert.match(text, /all probes as expected/);
    } else {
      // Whether a host service is reachable without the guard depends on the host's firewall: only that it was probed.
      assert.match(text, new RegExp(`host service :${port} via the gateway: (blocked|reachable)`), 'the upstream on all interfaces was probed');
      t.skip(`the host guard is not installed, so the doctor's verdict was not checked: ${JSON.stringify(guard)}`);
    }
  });
});

/**
 * The Cronium server's own ports (public API, runtime API, proxy, dashboard) are never reachable through the proxy,
 * whatever the configuration: here an opening of every address and every port, and global rules naming them.
 */
for (const driver of testDrivers()) describe(`the server's own ports through the proxy (${driver} driver)`, { concurrency: false }, () => {
  let s: TestServer;
  let dashboard: Awaited<ReturnType<typeof countingListener>>;
  let service: Awaited<ReturnType<typeof countingListener>>;

  before(async () => {
    await requireDocker();
    dashboard = await countingListener(); // a stand-in for the dashboard
    service = await countingListener(); // a host service the opening may serve (the positive control)
    s = await startTestServer({
      CRONIUM_EGRESS_ALLOW_CIDRS: '0.0.0.0/0:1-65535,[::/0]:1-65535',
      CRONIUM_WEB_PORT: String(dashboard.port),
      ...driverEnv(driver),
    });
  });
  after(async () => {
    await s?.stop();
    dashboard?.server.close();
    service?.server.close();
  });

  it('are refused even with a global rule and an opening that covers them', async () => {
    const health = (await s.api('GET', '/health')).body;
    const gateway = health.sandboxNetwork.gateway as string;
    const apiPort = Number(new URL(s.url).port);
    const runtimePort = Number(new URL(health.runtimeApi.url).port);
    const proxyPort = Number(new URL(health.egress.proxy).port);
    const own = [apiPort, dashboard.port];
    for (const rule of [
      { pattern: 'localhost', ports: [...own, service.port] },
      { pattern: '127.0.0.0/8', ports: own },
      { pattern: '0.0.0.0', ports: own },
      { pattern: '::ffff:127.0.0.1', ports: own },
      { pattern: gateway, ports: [runtimePort, proxyPort] },
    ]) {
      const r = await s.api('POST', '/api/v1/egress/rules', { ...rule, scope: 'global' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const e = await run(s.api, {
      language: 'bash',
      script: [
        CURL_PROBE,
        'unset NO_PROXY no_proxy # the runtime API and the proxy are reached directly otherwise: here, through the proxy',
        `c service http://localhost:${service.port}/`,
        `c api http://localhost:${apiPort}/health`,
        `c api-ip http://127.0.0.1:${apiPort}/health`,
        `c api-loopback http://127.0.0.2:${apiPort}/health`,
        `c api-unspecified http://0.0.0.0:${apiPort}/health`,
        `c api-mapped http://[::ffff:127.0.0.1]:${apiPort}/health`,
        `t api-tunnel http://localhost:${apiPort}/health`,
        `c dashboard http://localhost:${dashboard.port}/`,
        `c runtime http://${gateway}:${runtimePort}/`,
        `c proxy http://${gateway}:${proxyPort}/`,
        `t proxy-tunnel http://${gateway}:${proxyPort}/`,
      ].join('\n'),
    });
    assert.equal(
      await stdoutOf(await logsOf(s.api, e.id)),
      [
        'service:200:', // the opening and the rule work: only the server's own ports are refused
        'api:403:cronium_server', 'api-ip:403:cronium_server', 'api-loopback:403:cronium_server', 'api-unspecified:403:cronium_server',
        'api-mapped:403:cronium_server', 'api-tunnel:403', 'dashboard:403:cronium_server', 'runtime:403:cronium_server',
        'proxy:403:cronium_server', 'proxy-tunnel:403',
      ].join('\n'),
    );
    assert.equal(service.connections(), 1);
    assert.equal(dashboard.connections(), 0, 'the dashboard was never connected to');
  });
});
