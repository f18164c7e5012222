import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiFor, logsOf, requireDocker, run, startTestServer, stdoutOf, type TestServer, until } from '../helpers.js';

const SECRET = `sk-live-${crypto.randomBytes(12).toString('hex')}`;

/** The same program in each language: everything a script does with the SDK, plus an exfiltrated token. */
const scripts = {
  python: `
import base64, os, sys, time
import cronium
inp = cronium.get_input()
prev = cronium.get_variable("counter_python")
cronium.set_variable("counter_python", {"n": (prev or {"n": 0})["n"] + 1})
secret = cronium.get_secret("API_TOKEN")
try:
    cronium.get_secret("NOT_GRANTED")
    denied = None
except cronium.CroniumError as e:
    denied = e.code
print("secret:", secret)
sys.stdout.write("split:" + secret[:6]); sys.stdout.flush(); time.sleep(0.6)
sys.stdout.write(secret[6:] + "\\n"); sys.stdout.flush()
print("token-b64:", base64.b64encode(os.environ["CRONIUM_TOKEN"].encode()).decode())
cronium.set_condition(True)
ctx = cronium.context()
cronium.set_output({"doubled": inp["n"] * 2, "prev": prev, "secretLength": len(secret), "denied": denied, "executionId": ctx["executionId"], "language": ctx["language"]})
`,
  node: `
import cronium from "cronium";
const inp = await cronium.getInput();
const prev = await cronium.getVariable("counter_node");
await cronium.setVariable("counter_node", { n: (prev ?? { n: 0 }).n + 1 });
const secret = await cronium.getSecret("API_TOKEN");
let denied = null;
try { await cronium.getSecret("NOT_GRANTED"); } catch (e) { denied = e.code; }
console.log("secret:", secret);
process.stdout.write("split:" + secret.slice(0, 6));
await new Promise((r) => setTimeout(r, 600));
process.stdout.write(secret.slice(6) + "\\n");
console.log("token-b64:", Buffer.from(process.env.CRONIUM_TOKEN).toString("base64"));
await cronium.setCondition(true);
const ctx = await cronium.context();
await cronium.setOutput({ doubled: inp.n * 2, prev, secretLength: secret.length, denied, executionId: ctx.executionId, language: ctx.language });
`,
  bash: `
set -euo pipefail
n=$(cronium get-input | jq .n)
prev=$(cronium get-variable counter_bash)
cronium set-variable counter_bash "$(jq -cn --argjson p "$prev" '{n: (($p // {n: 0}).n + 1)}')"
secret=$(cronium get-secret API_TOKEN)
if msg=$(cronium get-secret NOT_GRANTED 2>&1); then denied=null; else denied="\\"$(grep -o SECRET_NOT_GRANTED <<<"$msg" | head -1)\\""; fi
echo "secret: $secret"
printf 'split:%s' "\${secret:0:6}"; sleep 0.6; printf '%s\\n' "\${secret:6}"
echo "token-b64: $(printf %s "$CRONIUM_TOKEN" | base64 -w0)"
cronium set-condition true
ctx=$(cronium context)
cronium set-output "$(jq -cn --argjson n "$n" --argjson prev "$prev" --arg s "$secret" --argjson denied "$denied" --argjson ctx "$ctx" \\
  '{doubled: ($n * 2), prev: $prev, secretLength: ($s | length), denied: $denied, executionId: $ctx.executionId, language: $ctx.language}')"
`,
} as const;

function signHs256(payload: object, key: Buffer | string): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ alg: 'HS256', typ: 'JWT' });
  const body = enc(payload);
  const sig = crypto.createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const tokenFrom = (out: string) => Buffer.from(/token-b64: (\S+)/.exec(out)![1]!, 'base64').toString('utf8');

describe('in-container data exchange through the SDKs', { concurrency: false }, () => {
  let s: TestServer;
  let runtime: ReturnType<typeof apiFor>;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
    runtime = apiFor(s.server.runtimeUrl, '');
    const put = await s.api('PUT', '/api/v1/secrets/API_TOKEN', { value: SECRET });
    assert.equal(put.status, 201);
    await s.api('PUT', '/api/v1/secrets/NOT_GRANTED', { value: 'should-never-be-read' });
  });
  after(async () => s?.stop());

  for (const language of ['python', 'node', 'bash'] as const) {
    it(`${language}: input, output, condition, variables, secrets and masking`, async () => {
      const first = await run(s.api, { language, script: scripts[language], input: { n: 21 }, secrets: ['API_TOKEN'] });
      const logs = await logsOf(s.api, first.id);
      assert.equal(first.status, 'succeeded', JSON.stringify(first) + JSON.stringify(logs));
      assert.deepEqual(first.output, {
        doubled: 42,
        prev: null,
        secretLength: SECRET.length,
        denied: 'SECRET_NOT_GRANTED',
        executionId: first.id,
        language,
      });
      assert.equal(first.condition, true);
      assert.deepEqual(first.variables, { [`counter_${language}`]: { n: 1 } });
      assert.deepEqual(first.secretsRead, ['API_TOKEN']);

      const all = logs.map((l) => l.text).join('\n');
      assert.ok(!all.includes(SECRET), 'the secret never appears in the logs');
      assert.ok(!all.includes(SECRET.slice(6)), 'not even the second half of a split write');
      const out = stdoutOf(logs);
      assert.match(out, /^secret: \*\*\*$/m);
      assert.match(out, /split:\n?\*\*\*/, "the split write is masked (the pause may flush \"split:\" as its own partial line)");

      const token = tokenFrom(out);
      const late = await runtime('GET', '/runtime/v1/input', undefined, token);
      assert.equal(late.status, 401, 'a token stops working when its execution ends');
      assert.match(late.body.error.message, /has ended/);

      const second = await run(s.api, { language, script: scripts[language], input: { n: 1 }, secrets: ['API_TOKEN'] });
      assert.equal(second.status, 'succeeded');
      assert.deepEqual(second.output.prev, { n: 1 }, 'the variable set by the first execution is read by the next');
      const stored = await s.api('GET', `/api/v1/variables/counter_${language}`);
      assert.deepEqual(stored.body.value, { n: 2 });
    });
  }

  it('keeps a variable that was set before the script failed', async () => {
    const e = await run(s.api, { language: 'python', script: 'import cronium\ncronium.set_variable("before_crash", [1, 2])\nraise SystemExit(4)' });
    assert.equal(e.status, 'failed');
    assert.deepEqual(e.variables, { before_crash: [1, 2] });
    assert.deepEqual((await s.api('GET', '/api/v1/variables/before_crash')).body.value, [1, 2]);
  });

  it('confines a token to its own execution, refuses forged tokens, and keeps the two APIs apart', async () => {
    const start = (who: string) =>
      s.api('POST', '/api/v1/executions', {
        language: 'bash',
        script: 'echo "token-b64: $(printf %s "$CRONIUM_TOKEN" | base64 -w0)"; sleep 60',
        input: { who },
      });
    const a = (await start('A')).body.id as string;
    const b = (await start('B')).body.id as string;
    const tokenA = await until(async () => {
      const out = stdoutOf(await logsOf(s.api, a));
      return out.includes('token-b64:') && tokenFrom(out);
    });
    await until(async () => (await s.api('GET', `/api/v1/executions/${b}`)).body.status === 'running');

    assert.deepEqual((await runtime('GET', '/runtime/v1/input', undefined, tokenA)).body, { input: { who: 'A' } });
    assert.deepEqual((await runtime('GET', `/runtime/v1/input?executionId=${b}`, undefined, tokenA)).body, { input: { who: 'A' } });
    const ctx = (await runtime('GET', '/runtime/v1/context', undefined, tokenA)).body;
    assert.equal(ctx.executionId, a);

    // The same claims pointed at B, without the server's key: refused.
    const [h, p, sig] = tokenA.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, exe: b })).toString('base64url')}.${sig}`;
    assert.equal((await runtime('GET', '/runtime/v1/input', undefined, tampered)).status, 401);
    const forged = signHs256({ ...claims, exe: b }, crypto.randomBytes(48));
    assert.equal((await runtime('GET', '/runtime/v1/input', undefined, forged)).status, 401);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, exe: b })).toString('base64url')}.`;
    assert.equal((await runtime('GET', '/runtime/v1/input', undefined, none)).status, 401);
    assert.equal((await runtime('GET', '/runtime/v1/input', undefined, null)).status, 401);

    const apiKeyOnRuntime = await runtime('GET', '/runtime/v1/input', undefined, s.adminKey);
    assert.equal(apiKeyOnRuntime.status, 401);
    assert.match(apiKeyOnRuntime.body.error.message, /only execution tokens/);
    const tokenOnPublic = await s.api('GET', '/api/v1/executions', undefined, tokenA);
    assert.equal(tokenOnPublic.status, 401);
    assert.match(tokenOnPublic.body.error.message, /runtime API/);

    // A secret that exists but was not granted stays out of reach even with a valid token.
    const notGranted = await runtime('GET', '/runtime/v1/secrets/API_TOKEN', undefined, tokenA);
    assert.equal(notGranted.status, 403);
    assert.equal(notGranted.body.error.code, 'SECRET_NOT_GRANTED');

    await s.api('POST', `/api/v1/executions/${a}/cancel`);
    await until(async () => (await s.api('GET', `/api/v1/executions/${a}`)).body.status === 'cancelled');
    assert.equal((await runtime('GET', '/runtime/v1/input', undefined, tokenA)).status, 401, 'refused once cancelled');
    await s.api('POST', `/api/v1/executions/${b}/cancel`);

    const calls = await s.api('GET', `/api/v1/executions/${a}/runtime-calls`);
    assert.equal(calls.status, 200);
    assert.ok(calls.body.items.some((c: any) => c.path === '/runtime/v1/secrets/API_TOKEN' && c.status === 403), 'calls are recorded');
  });

  it('never returns secret values from the REST API and validates secret names', async () => {
    const list = await s.api('GET', '/api/v1/secrets');
    assert.deepEqual(list.body.items.map((x: any) => x.name).sort(), ['API_TOKEN', 'NOT_GRANTED']);
    assert.ok(!JSON.stringify(list.body).includes(SECRET));
    assert.equal((await s.api('PUT', '/api/v1/secrets/bad name', { value: 'x' })).status, 400);
    assert.equal((await s.api('PUT', '/api/v1/secrets/OK', {})).status, 400);
    const replaced = await s.api('PUT', '/api/v1/secrets/API_TOKEN', { value: SECRET });
    assert.equal(replaced.status, 200);
  });

  it('masks the token and secrets in the output too', async () => {
    const e = await run(s.api, {
      language: 'python',
      secrets: ['API_TOKEN'],
      script: 'import cronium, os\ncronium.set_output({"s": cronium.get_secret("API_TOKEN"), "t": os.environ["CRONIUM_TOKEN"]})',
    });
    assert.deepEqual(e.output, { s: '***', t: '***' });
  });

  it('refuses oversized outputs and variables with a clear error', async () => {
    const e = await run(s.api, {
      language: 'python',
      script: [
        'import cronium',
        'for call in (lambda: cronium.set_output("x" * (2 * 1024 * 1024)), lambda: cronium.set_variable("big", "x" * (300 * 1024))):',
        '    try:',
        '        call()',
        '        print("ACCEPTED")',
        '    except cronium.CroniumError as err:',
        '        print("REFUSED", err.status, err.code)',
      ].join('\n'),
    });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.doesNotMatch(out, /ACCEPTED/);
    assert.equal(out.match(/REFUSED 413 PAYLOAD_TOO_LARGE/g)?.length, 2, out);
  });
});
