import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { apiFor, logsOf, requireDocker, run, sandboxesOfNode, startTestServer, stdoutOf, driverEnv, testDrivers, type TestServer, until } from '../helpers.js';

/**
 * The only way out of a sandbox is the allowlisting proxy. Every check runs inside a real container, as a
 * script would try it. The upstream is a local HTTP server on the host, opened on purpose with
 * CRONIUM_EGRESS_ALLOW_CIDRS=127.0.0.1/32 and reached by the name "localhost".
 */
for (const driver of testDrivers()) describe(`egress through the allowlisting proxy (${driver} driver)`, { concurrency: false }, () => {
  let s: TestServer;
  let upstream: http.Server;
  let port: number;
  let gateway: string;
  let bob: { id: string; key: string };
  let bobApi: ReturnType<typeof apiFor>;

  before(async () => {
    await requireDocker();
    upstream = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`upstream-ok ${req.method} ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '0.0.0.0', r));
    port = (upstream.address() as AddressInfo).port;
    s = await startTestServer({ CRONIUM_EGRESS_ALLOW_CIDRS: '127.0.0.1/32', CRONIUM_EGRESS_PORT: '0', ...driverEnv(driver) });
    gateway = (await s.api('GET', '/health')).body.sandboxNetwork.gateway;
    const u = await s.api('POST', '/api/v1/users', { name: 'bob' });
    bob = { id: u.body.id, key: (await s.api('POST', `/api/v1/users/${u.body.id}/keys`, {})).body.key };
    bobApi = apiFor(s.url, bob.key);
  });
  after(async () => {
    await s?.stop();
    upstream?.close();
  });

  const out = async (e: any) => stdoutOf(await logsOf(s.api, e.id));

  it('validates rules and scopes them', async () => {
    const bad = await s.api('POST', '/api/v1/egress/rules', { pattern: 'exa*mple.com' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'pattern');
    assert.match(bad.body.error.message, /wildcard/i);
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

  it('applies a user rule to that user only, and per-execution hosts to that execution only', async () => {
    const rule = await bobApi('POST', '/api/v1/egress/rules', { pattern: 'localhost', ports: [port] });
    assert.equal(rule.status, 201);
    assert.equal((await s.api('GET', '/api/v1/egress/rules')).body.items.filter((r: any) => r.scope === 'global').length, 0);
    assert.equal(rule.body.scope, 'user');
    const script = `curl -s -o /dev/null -w '%{http_code}\\n' http://localhost:${port}/`;
    assert.equal(await out(await run(bobApi, { language: 'bash', script }, bob.key)), '200');
    assert.equal(await out(await run(s.api, { language: 'bash', script })), '403', "bob's rule does not open the admin's sandbox");
    const own = await run(s.api, { language: 'bash', script, egress: { allow: [`localhost:${port}`] } });
    assert.equal(await out(own), '200');
    assert.deepEqual(own.egress.allow, [`localhost:${port}`]);
    const rules = (await bobApi('GET', '/api/v1/egress/rules')).body.items;
    assert.ok(rules.every((r: any) => r.scope === 'global' || r.userId === bob.id));
    const bobLog = (await bobApi('GET', '/api/v1/egress/log')).body.items;
    assert.ok(bobLog.length > 0 && bobLog.every((l: any) => l.userId === bob.id), 'a user sees only their own egress log');
  });

  it('gives no connection to a client that ignores the proxy, and guards the host', async () => {
    const health = (await s.api('GET', '/health')).body;
    const guarded = health.egress.hostGuard.installed === true;
    if (process.env.CI === 'true') assert.ok(guarded, `CI runs as root, so the host guard must be installed: ${JSON.stringify(health.egress.hostGuard)}`);
    const runtimePort = new URL(health.runtimeApi.url).port;
    const e = await run(s.api, {
      language: 'python',
      script: [
        'import socket',
        `for name, host, port in [("public", "1.1.1.1", 80), ("host-service", "${gateway}", ${port}), ("runtime-api", "${gateway}", ${runtimePort})]:`,
        '    try:',
        '        socket.create_connection((host, port), timeout=2).close()',
        '        print(name, "CONNECTED")',
        '    except OSError as e:',
        '        print(name, "BLOCKED")',
      ].join('\n'),
    });
    const o = await out(e);
    assert.match(o, /public BLOCKED/);
    assert.match(o, /runtime-api CONNECTED/, 'the runtime API stays reachable');
    if (guarded) assert.match(o, /host-service BLOCKED/, 'a host service on all interfaces is out of reach');
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
  });

  it('doctor probes from a real sandbox container and reports what it found', async () => {
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
    assert.match(text, /cloud metadata 169\.254\.169\.254:80: blocked/);
    assert.match(text, /\(Cronium, meant for sandboxes\): reachable/);
    assert.match(text, new RegExp(`host service :${port} via the gateway: (blocked|reachable)`), 'the upstream on all interfaces was probed');
    const left = (await sandboxesOfNode('doctor-')).filter((id) => !leftBefore.has(id));
    assert.deepEqual(left, [], 'the doctor removed its sandbox (bundle, network, container) before it exited');
    if (process.env.CI === 'true') {
      assert.equal(r.status, 0, text);
      assert.match(text, /all probes as expected/);
    }
  });
});
