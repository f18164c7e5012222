import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { logsOf, requireDocker, startTestServer, stdoutOf, type TestServer, until } from '../helpers.js';

/**
 * A multi-line secret (a PEM-like key) granted to an execution whose script tries every way it has to get it into
 * a stored record: echoed whole, line by line and in pieces, as its output, as a variable's value and key, in runtime
 * API paths and in the host names it asks the egress proxy for. No stored record — logs, the live stream, output,
 * variables, runtime calls, the egress log — may hold any line of it.
 */

const b64 = (n: number) => crypto.randomBytes(n).toString('base64');
/** Alphanumeric, mixed case, 40 characters: a valid variable key and DNS label, which the proxy lowercases. */
const alnum = (n: number) => `Kq${crypto.randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '')}`.slice(0, n);
let line1 = b64(48);
while (!/[+/]/.test(line1)) line1 = b64(48); // has characters that get percent-encoded in a path
const LINES = ['-----BEGIN TEST PRIVATE KEY-----', line1, alnum(40), `${b64(31)}`, '-----END TEST PRIVATE KEY-----'];
const PEM = `${LINES.join('\n')}\n`;
/** The lines that are the secret proper (the header lines are masked too, but hide nothing). */
const SECRET_LINES = LINES.slice(1, -1);

const script = `
import base64, os, socket, sys, time, urllib.parse, urllib.request
import cronium

def attempt(what, call):
    try:
        r = call()
        print(what, "OK", r is not None)
    except cronium.CroniumError as err:
        print(what, "REFUSED", err.status, err.code, err.field)
    except Exception as err:
        print(what, "FAILED", type(err).__name__, getattr(err, "code", ""))

pem = cronium.get_secret("PEM_KEY")
lines = pem.splitlines()
key_line = lines[2]

# Logs: whole, line by line, split across writes with a pause, on stderr, without a final newline.
print(pem)
for line in lines:
    print("line:", line)
sys.stdout.write("split:" + lines[1][:20]); sys.stdout.flush(); time.sleep(0.6)
sys.stdout.write(lines[1][20:] + "\\n"); sys.stdout.flush()
sys.stderr.write(pem.replace("\\n", "\\r\\n")); sys.stderr.flush()

# Output and variables: values, and a line as an object key.
attempt("set-output", lambda: cronium.set_output({"pem": pem, "lines": lines, key_line: "as key"}))
attempt("set-value", lambda: cronium.set_variable("pem_value", pem))
attempt("set-object", lambda: cronium.set_variable("pem_object", {key_line: lines}))
attempt("set-key", lambda: cronium.set_variable(key_line, 1))
attempt("set-key-inside", lambda: cronium.set_variable("k-" + key_line + "-x", 1))
attempt("get-key", lambda: cronium.get_variable(key_line))
attempt("delete-key", lambda: cronium.delete_variable(key_line))

# Runtime API paths: percent-encoded, raw, on a route that does not exist.
api = os.environ["CRONIUM_API_URL"]
token = os.environ["CRONIUM_TOKEN"]
def raw_call(path):
    req = urllib.request.Request(api + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
print("secret-path", raw_call("/runtime/v1/secrets/" + urllib.parse.quote(lines[1], safe="")))
print("route-path", raw_call("/runtime/v1/" + lines[1]))
print("route-path-2", raw_call("/runtime/v1/nothing/" + key_line))

# Egress: a host name holding a line (the proxy lowercases it), CONNECT to lines the host parser refuses,
# one long enough to be cut where the log keeps an excerpt, and one without credentials.
proxy = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
auth = base64.b64encode((urllib.parse.unquote(proxy.username) + ":" + urllib.parse.unquote(proxy.password)).encode()).decode()
def raw_proxy(request_line, with_auth=True):
    s = socket.create_connection((proxy.hostname, proxy.port), timeout=10)
    head = request_line + "\\r\\nHost: x\\r\\n" + ("Proxy-Authorization: Basic " + auth + "\\r\\n" if with_auth else "") + "\\r\\n"
    s.sendall(head.encode())
    data = s.recv(200)
    s.close()
    return data.split(b"\\r\\n")[0].decode("latin-1")
try:
    urllib.request.urlopen("http://" + key_line + ".example.test/", timeout=10)
    print("egress-host OK")
except urllib.error.HTTPError as e:
    print("egress-host", e.code)
print("egress-connect", raw_proxy("CONNECT " + lines[1] + ":443 HTTP/1.1"))
print("egress-long", raw_proxy("CONNECT " + "a" * 180 + lines[3] + ":443 HTTP/1.1"))
print("egress-path", raw_proxy("GET /" + key_line + " HTTP/1.1"))
print("egress-noauth", raw_proxy("GET http://" + key_line + ".example.test/ HTTP/1.1", with_auth=False))
print("DONE")
`;

/** Every form in which a line could have been stored: as is, lowercased (host names), percent-encoded (paths). */
function leaks(record: unknown): string[] {
  const text = typeof record === 'string' ? record : JSON.stringify(record);
  const lower = text.toLowerCase();
  return SECRET_LINES.filter(
    (l) => text.includes(l) || lower.includes(l.toLowerCase()) || text.includes(encodeURIComponent(l)) || text.includes(l.slice(0, 16)),
  );
}

describe('multi-line secrets are masked in every record an execution leaves', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
    assert.equal((await s.api('PUT', '/api/v1/secrets/PEM_KEY', { value: PEM })).status, 201);
  });
  after(async () => s?.stop());

  it('no line of a granted PEM key reaches the logs, live stream, output, variables, runtime calls or egress log', async () => {
    const started = await s.api('POST', '/api/v1/executions', { language: 'python', script, secrets: ['PEM_KEY'], timeoutMs: 60_000 });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const id = started.body.id as string;

    // The live stream, read from the start to its end.
    const live = await fetch(`${s.url}/api/v1/executions/${id}/logs`, { headers: { authorization: `Bearer ${s.adminKey}`, accept: 'text/event-stream' } });
    const stream = await live.text();
    assert.match(stream, /event: end/);

    const e = await until(async () => {
      const r = await s.api('GET', `/api/v1/executions/${id}`);
      return !['queued', 'running'].includes(r.body.status) && r.body;
    });
    const logs = await logsOf(s.api, id);
    const out = stdoutOf(logs);
    assert.equal(e.status, 'succeeded', JSON.stringify(logs));
    assert.match(out, /^DONE$/m);

    // The script really did each thing (otherwise "nothing leaked" would prove nothing).
    assert.ok(logs.filter((l) => l.text.includes('***')).length >= 2 * LINES.length + 1, out);
    assert.match(out, /^split:(\n)?\*\*\*$/m);
    assert.match(out, /^set-output OK/m);
    assert.match(out, /^set-value OK/m);
    assert.match(out, /^set-key REFUSED 400 VALIDATION_FAILED key$/m);
    assert.match(out, /^set-key-inside REFUSED 400 VALIDATION_FAILED key$/m);
    assert.match(out, /^get-key OK False$/m, 'the variable with that key does not exist (and was not created)');
    assert.match(out, /^secret-path 400$/m);
    assert.match(out, /^route-path 404$/m);
    assert.match(out, /^egress-host 403$/m);
    assert.match(out, /^egress-connect HTTP\/1.1 403/m);
    assert.match(out, /^egress-long HTTP\/1.1 403/m);
    assert.match(out, /^egress-noauth HTTP\/1.1 407/m);
    assert.deepEqual(e.output, { pem: '***', lines: LINES.map(() => '***'), '***': 'as key' });
    assert.deepEqual(e.variables, { pem_value: '***', pem_object: { '***': LINES.map(() => '***') } });

    const calls = (await s.api('GET', `/api/v1/executions/${id}/runtime-calls`)).body.items as { path: string; detail: string | null }[];
    assert.ok(calls.filter((c) => c.path.includes('***')).length >= 6, JSON.stringify(calls));
    const egress = (await s.api('GET', `/api/v1/executions/${id}/egress`)).body;
    const entries = egress.items as { host: string }[];
    assert.ok(entries.filter((x) => x.host.includes('***')).length >= 4, JSON.stringify(egress));
    const variables = (await s.api('GET', '/api/v1/variables')).body;
    const egressLog = (await s.api('GET', '/api/v1/egress/log?limit=1000')).body;

    const records = { logs, stream, execution: e, calls, egress, variables, egressLog };
    for (const [name, record] of Object.entries(records)) assert.deepEqual(leaks(record), [], `a line of the secret in ${name}: ${JSON.stringify(record).slice(0, 4000)}`);
  });
});
