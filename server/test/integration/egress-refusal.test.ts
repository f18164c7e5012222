import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logsOf, requireDocker, run, startTestServer, type TestServer } from '../helpers.js';

/**
 * What a script author sees when egress refuses a request, in each language, from inside real sandboxes:
 * a `system` line in the execution's log always, the reason in the client's own error where the client lets
 * us put it there, and nothing on stderr the script did not print (no undici warning on every fetch).
 * `api.example.com` has no rule, so it is refused before any name resolution (no packet leaves the machine).
 */
describe('an egress refusal reaches the script author', { concurrency: false }, () => {
  let s: TestServer;

  // An allowed fetch() through the same preload is egress.test.ts's.
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => {
    await s?.stop();
  });

  const streams = async (id: string) => {
    const entries = await logsOf(s.api, id);
    const of = (stream: string) => entries.filter((e) => e.stream === stream).map((e) => e.text);
    return { stdout: of('stdout').join('\n'), stderr: of('stderr').join('\n'), system: of('system') };
  };
  const systemLine = (host: string, p: number) => `[cronium] egress refused ${host}:${p}: no_matching_rule — allow it in Egress`;

  it('node: fetch() names the refusal in its error, the log has the system line, stderr holds only what the script printed', async () => {
    const e = await run(s.api, {
      language: 'node',
      script: [
        'const tryFetch = async (url) => {',
        '  try { await fetch(url); return `NOT REFUSED ${url}`; }',
        '  catch (err) { return `refused: ${err.message} | ${err.cause?.code} ${err.cause?.reason} ${err.cause?.status}`; }',
        '};',
        'const https = await tryFetch("https://api.example.com/v1/orders");',
        'const plain = await tryFetch("http://api.example.com/");',
        'console.log(https); console.log(plain);',
      ].join('\n'),
    });
    const o = await streams(e.id);
    assert.equal(e.status, 'succeeded', JSON.stringify(o));
    assert.doesNotMatch(o.stdout, /NOT REFUSED/);
    assert.match(o.stdout, /^refused: fetch failed: egress refused api\.example\.com:443: no_matching_rule — allow it in Egress \| CRONIUM_EGRESS_REFUSED no_matching_rule 403$/m, o.stdout);
    assert.match(o.stdout, /^refused: fetch failed: egress refused api\.example\.com:80: no_matching_rule/m);
    assert.equal(o.stderr, '', 'nothing on stderr: the script printed nothing there');
    assert.ok(o.system.includes(systemLine('api.example.com', 443)), JSON.stringify(o.system));
    assert.ok(o.system.includes(systemLine('api.example.com', 80)), JSON.stringify(o.system));
  });

  it('node: an uncaught refused fetch (CommonJS) prints the reason', async () => {
    const e = await run(s.api, { language: 'node', script: 'fetch("https://api.example.com/").then((r) => console.log("NOT REFUSED", r.status));' });
    const o = await streams(e.id);
    assert.equal(e.status, 'failed');
    assert.match(o.stderr, /egress refused api\.example\.com:443: no_matching_rule/, o.stderr);
    assert.doesNotMatch(o.stderr, /UNDICI-EHPA|experimental/);
    assert.ok(o.system.includes(systemLine('api.example.com', 443)), JSON.stringify(o.system));
  });

  it('python: urllib and requests raise an error that names the reason, and the log has the system line', async () => {
    const e = await run(s.api, {
      language: 'python',
      script: [
        'import urllib.request, requests',
        'try:',
        '    urllib.request.urlopen("https://api.example.com/v1", timeout=10)',
        'except Exception as err:',
        '    print("urllib:", err)',
        'try:',
        '    requests.get("https://api.example.com/v1", timeout=10)',
        'except Exception as err:',
        '    print("requests:", err)',
        'r = requests.get("http://api.example.com/", timeout=10)',
        'print("plain:", r.status_code, r.headers.get("X-Cronium-Egress-Reason"), r.text)',
      ].join('\n'),
    });
    const o = await streams(e.id);
    assert.equal(e.status, 'succeeded', JSON.stringify(o));
    assert.match(o.stdout, /^urllib: .*403 .*no_matching_rule/m, o.stdout);
    assert.match(o.stdout, /^requests: .*403 .*no_matching_rule/m);
    assert.match(o.stdout, /^plain: 403 no_matching_rule cronium egress: api\.example\.com:80 refused \(no_matching_rule\)$/m);
    assert.ok(o.system.includes(systemLine('api.example.com', 443)), JSON.stringify(o.system));
    assert.equal(o.system.filter((l) => l === systemLine('api.example.com', 443)).length, 1, 'a repeated refusal is told once');
    assert.ok(o.system.includes(systemLine('api.example.com', 80)));
  });

  it('bash: curl through the proxy gets the system line; other reasons get their own advice', async () => {
    const e = await run(s.api, {
      language: 'bash',
      script: [
        'curl -sS https://api.example.com/ || echo "curl exit $?"',
        'curl -sS -o /dev/null http://169.254.169.254/ || true',
        `curl -sS -o /dev/null http://localhost:25/ || true`,
      ].join('\n'),
    });
    const o = await streams(e.id);
    assert.match(o.stdout, /curl exit 56/, JSON.stringify(o));
    assert.ok(o.system.includes(systemLine('api.example.com', 443)), JSON.stringify(o.system));
    assert.ok(o.system.some((l) => /^\[cronium\] egress refused 169\.254\.169\.254:80: ip_literal_not_allowed — /.test(l)), JSON.stringify(o.system));
    assert.ok(o.system.some((l) => /^\[cronium\] egress refused localhost:25: blocked_port — port 25 is refused whatever the rules say/.test(l)), JSON.stringify(o.system));
  });
});
