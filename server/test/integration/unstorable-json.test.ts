import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshPostgres, logsOf, requireDocker, run, startTestServer, stdoutOf, type TestServer } from '../helpers.js';

/**
 * PostgreSQL (and PGlite) refuse a NUL character in text and jsonb, and jsonb refuses a lone UTF-16 surrogate
 * (`"\ud800"` is valid JSON, but not Unicode). Such a value used to reach the database and come back as a 500;
 * every path that stores what a client sent must answer 400 naming the field instead.
 */

/** Bodies are sent as raw JSON text so the escapes reach the server exactly as a client would write them. */
const NUL = '"x\\u0000y"';
const LONE = '"x\\ud800y"';

type Expect = { status: number; body: any };
const expect400 = (res: Expect, field: string, reason: RegExp) => {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'VALIDATION_FAILED', JSON.stringify(res.body));
  assert.equal(res.body.error.field, field, JSON.stringify(res.body));
  assert.match(res.body.error.message, reason);
  assert.ok(res.body.error.message.startsWith(field), res.body.error.message);
};

const databases = [
  { name: 'embedded PGlite', env: async (): Promise<Record<string, string>> => ({}) },
  // Locally a missing PostgreSQL skips these with its reason; in CI freshPostgres throws, failing the run.
  { name: 'PostgreSQL', env: async (): Promise<Record<string, string>> => ({ DATABASE_URL: (await freshPostgres())! }) },
];

for (const db of databases) {
  describe(`NUL and lone surrogates in stored JSON are 400s, not 500s (${db.name})`, { concurrency: false }, () => {
    let s: TestServer | null = null;
    let missing = '';
    before(async () => {
      await requireDocker();
      let env: Record<string, string>;
      try {
        env = await db.env();
      } catch (err) {
        if (process.env.CI === 'true') throw err;
        missing = (err as Error).message;
        return;
      }
      s = await startTestServer(env);
    });
    after(async () => s?.stop());

    const exec = (fields: string) => s!.api('POST', '/api/v1/executions', `{"language":"bash","script":"true",${fields}}`);

    it('execution input: in a nested string, an array item and an object key', async (t) => {
      if (!s) return t.skip(missing);
      expect400(await exec(`"input":{"a":{"b":${NUL}}}`), 'input.a.b', /NUL/);
      expect400(await exec(`"input":{"a":["ok",${LONE}]}`), 'input.a.1', /surrogate/);
      expect400(await exec(`"input":${NUL}`), 'input', /NUL/);
      const key = await exec('"input":{"a":{"k\\u0000":1}}');
      assert.equal(key.status, 400, JSON.stringify(key.body));
      assert.match(key.body.error.field, /^input\.a\./);
      assert.match(key.body.error.message, /key.*NUL/);
      expect400(await exec('"input":{"\\udc00":1}'), 'input.\\udc00', /key.*surrogate/);
    });

    it('the rest of an execution request: env, event, script', async (t) => {
      if (!s) return t.skip(missing);
      expect400(await exec(`"env":{"A":${LONE}}`), 'env.A', /surrogate/);
      expect400(await exec(`"event":{"name":${NUL}}`), 'event.name', /NUL/);
      expect400(await exec(`"event":{"id":${LONE}}`), 'event.id', /surrogate/);
      const script = await s.api('POST', '/api/v1/executions', `{"language":"bash","script":"echo \\ud800"}`);
      expect400(script, 'script', /surrogate/);
    });

    it('variables set through the public API', async (t) => {
      if (!s) return t.skip(missing);
      expect400(await s.api('PUT', '/api/v1/variables/v1', `{"value":${NUL}}`), 'value', /NUL/);
      expect400(await s.api('PUT', '/api/v1/variables/v1', `{"value":{"deep":[{"x":${LONE}}]}}`), 'value.deep.0.x', /surrogate/);
      assert.equal((await s.api('GET', '/api/v1/variables/v1')).status, 404, 'nothing was stored');
    });

    it('stores what is storable unchanged: surrogate pairs, other control characters, escapes', async (t) => {
      if (!s) return t.skip(missing);
      const value = { emoji: '😀 \ud83d\ude00', ctrl: '\u0001\u001f\t\n', slash: '\\u0000 is text here', key: { '\u00e9\u0001': 1 } };
      const put = await s.api('PUT', '/api/v1/variables/v2', { value });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual((await s.api('GET', '/api/v1/variables/v2')).body.value, value);
      const e = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'true', input: value });
      assert.equal(e.status, 202, JSON.stringify(e.body));
      assert.deepEqual((await s.api('GET', `/api/v1/executions/${e.body.id}`)).body.input, value);
    });

    it('nesting too deep for the database is refused with its depth', async (t) => {
      if (!s) return t.skip(missing);
      const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
      const deepest = await s.api('PUT', '/api/v1/variables/v3', `{"value":${nested(256)}}`);
      assert.equal(deepest.status, 200, 'as deep as allowed (256 levels) is stored');
      const back = (await s.api('GET', '/api/v1/variables/v3')).body.value;
      assert.equal(JSON.stringify(back), nested(256));
      const over = await s.api('PUT', '/api/v1/variables/v3', `{"value":${nested(257)}}`);
      assert.equal(over.status, 400, JSON.stringify(over.body));
      assert.equal(over.body.error.field, 'value');
      assert.match(over.body.error.message, /deeper than 256/);
      const deep = nested(5000);
      const res = await s.api('PUT', '/api/v1/variables/v3', `{"value":${deep}}`);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
      assert.match(res.body.error.message, /nest/);
      const e = await exec(`"input":${deep}`);
      assert.equal(e.status, 400, JSON.stringify(e.body));
      assert.match(e.body.error.field, /^input/);
    });
  });
}

describe('the runtime API refuses unstorable JSON from the SDKs with a 400 the script can show', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => s?.stop());

  const python = `
import cronium
def attempt(what, call):
    try:
        call()
        print(what, "ACCEPTED")
    except cronium.CroniumError as err:
        print(what, "REFUSED", err.status, err.code, err.field, "|", err.message)
attempt("output-nul", lambda: cronium.set_output({"a": {"b": "x\\x00y"}}))
attempt("output-lone", lambda: cronium.set_output(["\\ud800"]))
attempt("variable-nul", lambda: cronium.set_variable("nul_var", "x\\x00"))
attempt("variable-key", lambda: cronium.set_variable("keyed", {"k\\x00": 1}))
attempt("variable-lone", lambda: cronium.set_variable("lone_var", {"list": [1, "\\udfff"]}))
attempt("secret-nul", lambda: cronium.get_secret("a\\x00b"))
cronium.set_output({"fine": "after all that"})
print("DONE")
`;

  it('python: set_output and set_variable get 400 VALIDATION_FAILED naming the field, and the script goes on', async () => {
    const e = await run(s.api, { language: 'python', script: python, timeoutMs: 60_000 });
    const out = stdoutOf(await logsOf(s.api, e.id));
    assert.equal(e.status, 'succeeded', out);
    assert.match(out, /^output-nul REFUSED 400 VALIDATION_FAILED value\.a\.b \|.*NUL/m);
    assert.match(out, /^output-lone REFUSED 400 VALIDATION_FAILED value\.0 \|.*surrogate/m);
    assert.match(out, /^variable-nul REFUSED 400 VALIDATION_FAILED value \|.*NUL/m);
    assert.match(out, /^variable-key REFUSED 400 VALIDATION_FAILED value\.k\\u0000 \|.*key.*NUL/m);
    assert.match(out, /^variable-lone REFUSED 400 VALIDATION_FAILED value\.list\.1 \|.*surrogate/m);
    assert.match(out, /^secret-nul REFUSED 400 VALIDATION_FAILED name \|/m);
    assert.match(out, /^DONE$/m);
    assert.doesNotMatch(out, /ACCEPTED/);
    assert.deepEqual(e.output, { fine: 'after all that' });
    assert.deepEqual(e.variables, {});
    const calls = (await s.api('GET', `/api/v1/executions/${e.id}/runtime-calls`)).body.items as { status: number }[];
    // Each call answered once, none with a 5xx, and each recorded (a NUL in a secret's name once made its record fail).
    assert.deepEqual(calls.map((c) => c.status), [400, 400, 400, 400, 400, 400, 200]);
  });

  it('node and bash SDKs get the same 400', async () => {
    const node = await run(s.api, {
      language: 'node',
      timeoutMs: 60_000,
      script: `
import cronium from "cronium";
try { await cronium.setOutput({ s: "a\\u0000b" }); console.log("ACCEPTED"); }
catch (e) { console.log("REFUSED", e.status, e.code, e.field); }
try { await cronium.setVariable("v", "\\ud800"); console.log("ACCEPTED"); }
catch (e) { console.log("REFUSED", e.status, e.code, e.field); }
`,
    });
    const nodeOut = stdoutOf(await logsOf(s.api, node.id));
    assert.equal(node.status, 'succeeded', nodeOut);
    assert.equal(nodeOut.match(/^REFUSED 400 VALIDATION_FAILED/gm)?.length, 2, nodeOut);
    assert.match(nodeOut, /REFUSED 400 VALIDATION_FAILED value\.s/);

    const bash = await run(s.api, {
      language: 'bash',
      timeoutMs: 60_000,
      script: `if cronium set-output '{"s":"a\\u0000b"}' 2>err.txt; then echo ACCEPTED; else echo "REFUSED $(cat err.txt)"; fi`,
    });
    const bashOut = stdoutOf(await logsOf(s.api, bash.id));
    assert.equal(bash.status, 'succeeded', bashOut);
    assert.match(bashOut, /REFUSED.*400.*VALIDATION_FAILED/s);
    assert.match(bashOut, /value\.s/);
  });
});
