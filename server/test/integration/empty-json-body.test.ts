import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireDocker, run, startTestServer, stdoutOf, logsOf, until, type TestServer } from '../helpers.js';

/**
 * Clients that set `Content-Type: application/json` on every request (many HTTP libraries, the dashboard's own
 * helpers) send it with no body on DELETE and cancel: an empty body is no body, not invalid JSON.
 */
describe('Content-Type: application/json with an empty body', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    s = await startTestServer();
  });
  after(async () => s?.stop());

  /** A request with the JSON content type and no body: Content-Length 0, or chunked with no chunk. */
  const bare = async (method: string, path: string, chunked = false) => {
    const res = await fetch(s.url + path, {
      method,
      headers: { authorization: `Bearer ${s.adminKey}`, 'content-type': 'application/json; charset=utf-8' },
      // A stream that ends at once makes fetch send Transfer-Encoding: chunked and no chunk.
      ...(chunked ? { body: new ReadableStream({ start: (c) => c.close() }), duplex: 'half' } : {}),
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  it('DELETE of a variable, a secret, an egress rule and a key', async () => {
    assert.equal((await s.api('PUT', '/api/v1/variables/v1', { value: 1 })).status, 200);
    assert.equal((await bare('DELETE', '/api/v1/variables/v1')).status, 204);
    assert.equal((await s.api('PUT', '/api/v1/secrets/S1', { value: 'x' })).status, 201);
    assert.equal((await bare('DELETE', '/api/v1/secrets/S1', true)).status, 204);
    const rule = await s.api('POST', '/api/v1/egress/rules', { pattern: 'empty-body.example.com', scope: 'global' });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    assert.equal((await bare('DELETE', `/api/v1/egress/rules/${rule.body.id}`)).status, 204);
    const me = await s.api('GET', '/api/v1/me');
    const key = await s.api('POST', `/api/v1/users/${me.body.id}/keys`, { name: 'to revoke' });
    assert.equal((await bare('DELETE', `/api/v1/keys/${key.body.id}`)).status, 204);
    // Still refused when it is the resource that is missing, not the body.
    const gone = await bare('DELETE', '/api/v1/variables/v1');
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
  });

  it('cancel of a running execution, and of one that has ended', async () => {
    const e = await s.api('POST', '/api/v1/executions', { language: 'bash', script: 'sleep 30' });
    const cancel = await bare('POST', `/api/v1/executions/${e.body.id}/cancel`);
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    await until(async () => (await s.api('GET', `/api/v1/executions/${e.body.id}`)).body.status === 'cancelled');
    const again = await bare('POST', `/api/v1/executions/${e.body.id}/cancel`, true);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error.code, 'EXECUTION_NOT_CANCELLABLE');
  });

  it('a body that is required and missing is named; a body that is there must still be JSON', async () => {
    const missing = await bare('POST', '/api/v1/executions');
    assert.equal(missing.status, 400, JSON.stringify(missing.body));
    assert.equal(missing.body.error.field, 'body');
    assert.match(missing.body.error.message, /required/);
    const invalid = await s.api('POST', '/api/v1/executions', '{"language": ');
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /not valid JSON/);
    const spaces = await s.api('DELETE', '/api/v1/variables/v1', '  ');
    assert.equal(spaces.status, 400, 'whitespace is a body, and not JSON');
  });

  it('the runtime API: DELETE of a variable with the JSON content type and no body', async () => {
    await s.api('PUT', '/api/v1/variables/rt1', { value: 'x' });
    const e = await run(s.api, {
      language: 'bash',
      script: [
        'curl -sS -o /dev/null -w "%{http_code}\\n" -X DELETE -H "Authorization: Bearer $CRONIUM_TOKEN" \\',
        '  -H "Content-Type: application/json" "$CRONIUM_API_URL/runtime/v1/variables/rt1"',
      ].join('\n'),
    });
    assert.equal(stdoutOf(await logsOf(s.api, e.id)), '200');
    assert.equal((await s.api('GET', '/api/v1/variables/rt1')).status, 404);
  });
});
