/**
 * Loaders and actions, called as Remix calls them (a Request in, a value, a thrown redirect or an error response
 * out), against a small fake of the Cronium API that records what it was asked.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sealApiKey, sessionStorage } from '../app/lib/session.server';
import { serveAsCroniumApi } from './fake-api';

type Handler = (req: { method: string; url: string; body: any; key: string | null }) => { status: number; body?: unknown };

let api: http.Server;
let handler: Handler;
const calls: { method: string; url: string; body: any; key: string | null }[] = [];
const WEB = 'http://web.test';
const ADMIN = { id: 'u-admin', name: 'admin', role: 'admin' };
const BOB = { id: 'u-bob', name: 'bob', role: 'user' };

before(async () => {
  api = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const call = { method: req.method!, url: req.url!, body: raw ? JSON.parse(raw) : undefined, key: req.headers.authorization?.replace(/^Bearer /, '') ?? null };
      calls.push(call);
      const r = handler(call);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.body === undefined ? '' : JSON.stringify(r.body));
    });
  });
  await serveAsCroniumApi(api);
});

after(() => api.close());

beforeEach(() => {
  calls.length = 0;
  handler = () => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route' } } });
});

/** A request with a signed-in session for `user` holding `key`. */
async function request(path: string, user: typeof ADMIN | null, init: { method?: string; form?: Record<string, string | string[]> } = {}) {
  const headers = new Headers();
  if (user) {
    const { storage, secret } = sessionStorage();
    const session = await storage.getSession();
    session.set('k', sealApiKey(`key-of-${user.name}`, secret));
    session.set('user', user as never);
    const cookie = await storage.commitSession(session);
    headers.set('Cookie', cookie.split(';')[0]!);
  }
  let body: URLSearchParams | undefined;
  if (init.form) {
    body = new URLSearchParams();
    for (const [k, v] of Object.entries(init.form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  return new Request(WEB + path, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
}

const args = (req: Request, params: Record<string, string> = {}) => ({ request: req, params, context: {} });

/** Runs a loader or action; returns its value, or what it threw (a redirect Response or an error `data()`). */
async function run<T>(fn: () => Promise<T>): Promise<{ value?: any; thrown?: any }> {
  try {
    return { value: await fn() };
  } catch (thrown) {
    return { thrown };
  }
}

const statusOf = (v: any): number => (v instanceof Response ? v.status : (v?.init?.status ?? 200));
const dataOf = (v: any): any => (v && typeof v === 'object' && 'type' in v && v.type === 'DataWithResponseInit' ? v.data : v);

describe('sign in and out', () => {
  it('a valid key is checked with /me and kept, sealed, in the session cookie', async () => {
    handler = (c) => (c.url === '/api/v1/me' && c.key === 'csk_good' ? { status: 200, body: { ...ADMIN, createdAt: 'x' } } : { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'invalid' } } });
    const { action } = await import('../app/routes/login');
    const r = await run(() => action(args(new Request(`${WEB}/login`, { method: 'POST', body: new URLSearchParams({ apiKey: ' csk_good ', redirectTo: '/executions?status=failed' }) })) as never));
    const res = r.thrown as Response;
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/executions?status=failed');
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.ok(!decodeURIComponent(cookie).includes('csk_good'));
    const { currentSession } = await import('../app/lib/auth.server');
    const s = await currentSession(new Request(WEB, { headers: { Cookie: cookie.split(';')[0]! } }));
    assert.deepEqual(s, { user: ADMIN, apiKey: 'csk_good' });
  });

  it('a wrong key is an error next to the field; an empty one is not sent', async () => {
    handler = () => ({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'invalid or revoked API key' } } });
    const { action } = await import('../app/routes/login');
    const r = await run(() => action(args(new Request(`${WEB}/login`, { method: 'POST', body: new URLSearchParams({ apiKey: 'csk_bad' }) })) as never));
    assert.equal(statusOf(r.value), 400);
    assert.match(dataOf(r.value).error, /not valid/);
    const empty = await run(() => action(args(new Request(`${WEB}/login`, { method: 'POST', body: new URLSearchParams({ apiKey: '' }) })) as never));
    assert.equal(dataOf(empty.value).error, 'Enter your API key.');
    assert.equal(calls.length, 1, 'an empty key is not sent to the API');
  });

  it('pages need a session; a key revoked meanwhile signs the user out', async () => {
    const { loader } = await import('../app/routes/secrets');
    const none = await run(() => loader(args(new Request(`${WEB}/secrets?x=1`)) as never));
    assert.equal((none.thrown as Response).status, 302);
    assert.equal((none.thrown as Response).headers.get('location'), '/login?redirectTo=%2Fsecrets%3Fx%3D1');

    handler = () => ({ status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'invalid or revoked API key' } } });
    const revoked = await run(async () => loader(args(await request('/secrets', ADMIN)) as never));
    const res = revoked.thrown as Response;
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /^\/login/);
    assert.match(res.headers.get('set-cookie')!, /cronium_session=;.*Expires=Thu, 01 Jan 1970/);
  });
});

describe('admin pages', () => {
  it('settings: a non-admin gets 403, whatever the cookie says; the role is asked of the API', async () => {
    handler = (c) => (c.url === '/api/v1/me' ? { status: 200, body: { ...BOB, createdAt: 'x' } } : { status: 403, body: { error: { code: 'FORBIDDEN', message: 'admin only' } } });
    const { loader } = await import('../app/routes/settings');
    // A forged "admin" role in the session does not help: /me decides.
    const r = await run(async () => loader(args(await request('/settings', { ...BOB, role: 'admin' })) as never));
    assert.equal(statusOf(r.thrown), 403);
    assert.ok(!calls.some((c) => c.url === '/api/v1/settings'), 'the settings are not even fetched');
  });

  it('settings action: the server’s field error lands next to the dotted field', async () => {
    handler = (c) => {
      if (c.url === '/api/v1/me') return { status: 200, body: { ...ADMIN, createdAt: 'x' } };
      return {
        status: 400,
        body: { error: { code: 'VALIDATION_FAILED', message: 'defaultLimits.memoryMb: must not exceed maxLimits.memoryMb (2048)', field: 'defaultLimits.memoryMb' } },
      };
    };
    const { action } = await import('../app/routes/settings');
    const r = await run(async () => action(args(await request('/settings', ADMIN, { form: { executionPolicy: 'all_users', 'defaultLimits.memoryMb': '4096' } })) as never));
    assert.equal(statusOf(r.value), 400);
    assert.deepEqual(dataOf(r.value).fieldErrors, { 'defaultLimits.memoryMb': 'must not exceed maxLimits.memoryMb (2048)' });
    const patch = calls.find((c) => c.method === 'PATCH')!;
    assert.deepEqual(patch.body, { executionPolicy: 'all_users', allowIsolationChoice: false, allowExecutionEgressRules: false, defaultLimits: { memoryMb: 4096 } });
    assert.equal(patch.key, 'key-of-admin');
  });

  it('users action: an issued key is returned to the page once', async () => {
    handler = (c) => {
      if (c.url === '/api/v1/me') return { status: 200, body: { ...ADMIN, createdAt: 'x' } };
      if (c.url === '/api/v1/users/u-bob/keys' && c.method === 'POST') return { status: 201, body: { id: 'k1', key: 'csk_new', prefix: 'csk_ne' } };
      return { status: 500, body: {} };
    };
    const { action } = await import('../app/routes/users');
    const r = await run(async () => action(args(await request('/users', ADMIN, { form: { intent: 'issueKey', userId: 'u-bob', keyName: 'laptop' } })) as never));
    assert.deepEqual(dataOf(r.value), { ok: true, intent: 'issueKey', extra: { key: 'csk_new', userId: 'u-bob', id: 'k1' } });
    assert.deepEqual(calls.at(-1)!.body, { name: 'laptop' });
  });
});

describe('users: role, disable, delete (PATCH and DELETE /api/v1/users/:id)', () => {
  const me = { status: 200, body: { ...ADMIN, createdAt: 'x' } };
  const cases = [
    { form: { intent: 'setRole', userId: 'u-bob', name: 'bob', role: 'admin' }, method: 'PATCH', body: { role: 'admin' }, message: 'bob is now an administrator.' },
    { form: { intent: 'setDisabled', userId: 'u-bob', name: 'bob', disabled: 'true' }, method: 'PATCH', body: { disabled: true }, message: 'bob is disabled: their keys no longer work.' },
    { form: { intent: 'setDisabled', userId: 'u-bob', name: 'bob', disabled: 'false' }, method: 'PATCH', body: { disabled: false }, message: 'bob is enabled again: their active keys work.' },
    { form: { intent: 'deleteUser', userId: 'u-bob', name: 'bob' }, method: 'DELETE', body: undefined, message: /^bob was deleted/ },
  ] as const;
  for (const t of cases) {
    it(`${t.form.intent} ${JSON.stringify(t.body ?? {})}: calls the API and answers with a message`, async () => {
      handler = (c) => (c.url === '/api/v1/me' ? me : c.url === '/api/v1/users/u-bob' ? { status: t.method === 'DELETE' ? 204 : 200, body: t.method === 'DELETE' ? undefined : { ...BOB } } : { status: 500, body: {} });
      const { action } = await import('../app/routes/users');
      const r = await run(async () => action(args(await request('/users', ADMIN, { form: t.form })) as never));
      const d = dataOf(r.value);
      assert.equal(d.ok, true);
      if (typeof t.message === 'string') assert.equal(d.message, t.message);
      else assert.match(d.message, t.message);
      const call = calls.find((c) => c.url === '/api/v1/users/u-bob')!;
      assert.equal(call.method, t.method);
      assert.deepEqual(call.body, t.body);
    });
  }
  it('the API’s 409 LAST_ADMIN is shown to the admin, with its status', async () => {
    handler = (c) =>
      c.url === '/api/v1/me' ? me : { status: 409, body: { error: { code: 'LAST_ADMIN', message: 'admin is the last administrator: make another user an administrator first' } } };
    const { action } = await import('../app/routes/users');
    const r = await run(async () => action(args(await request('/users', ADMIN, { form: { intent: 'setRole', userId: 'u-admin', name: 'admin', role: 'user' } })) as never));
    assert.equal(statusOf(r.value), 409);
    assert.deepEqual(dataOf(r.value), { ok: false, intent: 'setRole', formError: 'admin is the last administrator: make another user an administrator first' });
  });
  it('a role that is neither is refused without calling the API', async () => {
    handler = (c) => (c.url === '/api/v1/me' ? me : { status: 500, body: {} });
    const { action } = await import('../app/routes/users');
    const r = await run(async () => action(args(await request('/users', ADMIN, { form: { intent: 'setRole', userId: 'u-bob', role: 'root' } })) as never));
    assert.equal(statusOf(r.value), 400);
    assert.ok(!calls.some((c) => c.url.startsWith('/api/v1/users/')));
  });
});

describe('settings in seconds', () => {
  it('sends milliseconds, and tells the API’s millisecond message in seconds next to the seconds field', async () => {
    handler = (c) => {
      if (c.url === '/api/v1/me') return { status: 200, body: { ...ADMIN, createdAt: 'x' } };
      return { status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'defaultLimits.timeoutMs: must not exceed maxLimits.timeoutMs (900000)', field: 'defaultLimits.timeoutMs' } } };
    };
    const { action } = await import('../app/routes/settings');
    const r = await run(async () => action(args(await request('/settings', ADMIN, { form: { executionPolicy: 'all_users', 'defaultLimits.timeout': '1000.5' } })) as never));
    assert.equal(statusOf(r.value), 400);
    assert.deepEqual(dataOf(r.value).fieldErrors, { 'defaultLimits.timeout': 'must not exceed the maximum timeout (900 s)' });
    assert.deepEqual(calls.find((c) => c.method === 'PATCH')!.body.defaultLimits, { timeoutMs: 1_000_500 });
  });
});

describe('run action', () => {
  it('sends the parsed request and lands on the execution page', async () => {
    handler = (c) => (c.method === 'POST' ? { status: 202, body: { id: '11111111-2222-3333-4444-555555555555', status: 'queued' } } : { status: 404 });
    const { action } = await import('../app/routes/run');
    const r = await run(async () =>
      action(args(await request('/run', BOB as never, { form: { language: 'python', script: 'print(1)', input: '{"a":1}', timeout: '5', secrets: ['A', 'B'] } })) as never),
    );
    assert.equal((r.thrown as Response).status, 302);
    assert.equal((r.thrown as Response).headers.get('location'), '/executions/11111111-2222-3333-4444-555555555555');
    assert.deepEqual(calls[0]!.body, { language: 'python', script: 'print(1)', input: { a: 1 }, timeoutMs: 5000, secrets: ['A', 'B'] });
    assert.equal(calls[0]!.key, 'key-of-bob');
  });

  it('maps the API’s field to the form’s field and keeps what was typed', async () => {
    handler = () => ({ status: 400, body: { error: { code: 'SECRET_NOT_FOUND', message: 'unknown secret: NOPE', field: 'secrets' } } });
    const { action } = await import('../app/routes/run');
    const r = await run(async () => action(args(await request('/run', BOB as never, { form: { language: 'bash', script: 'echo hi', secrets: 'NOPE' } })) as never));
    assert.equal(statusOf(r.value), 400);
    const d = dataOf(r.value);
    assert.deepEqual(d.fieldErrors, { secrets: 'unknown secret: NOPE' });
    assert.equal(d.values.script, 'echo hi');
  });

  it('does not call the API when the form is invalid', async () => {
    const { action } = await import('../app/routes/run');
    const r = await run(async () => action(args(await request('/run', BOB as never, { form: { language: 'bash', script: '', input: '{' } })) as never));
    assert.deepEqual(Object.keys(dataOf(r.value).fieldErrors).sort(), ['input', 'script']);
    assert.equal(calls.length, 0);
  });
});

describe('executions and detail', () => {
  it('list: passes the filters and cursor on, and builds the page links', async () => {
    handler = (c) =>
      c.url.startsWith('/api/v1/executions?') ? { status: 200, body: { items: [], nextCursor: 'NEXT' } } : { status: 200, body: { items: [] } };
    const { loader } = await import('../app/routes/executions._index');
    const r = await run(async () => loader(args(await request('/executions?status=failed&language=node&user=u-other&cursor=CUR&trail=~', BOB as never)) as never));
    const list = calls.find((c) => c.url.startsWith('/api/v1/executions?'))!;
    assert.deepEqual(Object.fromEntries(new URL(list.url, WEB).searchParams), { limit: '25', status: 'failed', language: 'node', cursor: 'CUR' });
    assert.ok(!calls.some((c) => c.url === '/api/v1/users'), 'a non-admin does not list users');
    const d = dataOf(r.value);
    assert.equal(d.links.page, 2);
    assert.match(d.links.older, /cursor=NEXT/);
    assert.equal(d.filters.user, '', 'the user filter is for admins only');
  });

  it('list: a stale cursor is a message with a way back, not an error page', async () => {
    handler = () => ({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'cursor: not a cursor returned by this API', field: 'cursor' } } });
    const { loader } = await import('../app/routes/executions._index');
    const r = await run(async () => loader(args(await request('/executions?cursor=zzz', BOB as never)) as never));
    assert.equal(dataOf(r.value).error, 'That page link is no longer valid.');
  });

  it('detail: someone else’s execution is a 404; a missing egress API degrades to a message', async () => {
    const { loader } = await import('../app/routes/executions.$id');
    handler = () => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'execution x not found' } } });
    const id = '11111111-2222-3333-4444-555555555555';
    const r = await run(async () => loader(args(await request(`/executions/${id}`, BOB as never), { id }) as never));
    assert.equal(statusOf(r.thrown), 404);

    handler = (c) => {
      if (c.url === `/api/v1/executions/${id}`) return { status: 200, body: { id, status: 'succeeded', userId: BOB.id } };
      if (c.url.endsWith('/logs')) return { status: 200, body: { entries: [{ seq: 0, ts: 't', stream: 'stdout', text: 'hi' }], truncated: false } };
      if (c.url.endsWith('/runtime-calls')) return { status: 200, body: { items: [] } };
      return { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route for GET /api/v1/egress/log' } } };
    };
    const ok = await run(async () => loader(args(await request(`/executions/${id}`, BOB as never), { id }) as never));
    const d = dataOf(ok.value);
    assert.equal(d.execution.id, id);
    assert.equal(d.logs.length, 1);
    assert.match(d.egressError, /no route/);
  });

  it('cancel: a 409 from the API becomes a message on the page', async () => {
    handler = () => ({ status: 409, body: { error: { code: 'EXECUTION_NOT_CANCELLABLE', message: 'execution x has already ended (succeeded)' } } });
    const { action } = await import('../app/routes/executions.$id');
    const id = '11111111-2222-3333-4444-555555555555';
    const r = await run(async () => action(args(await request(`/executions/${id}`, BOB as never, { form: { intent: 'cancel' } }), { id }) as never));
    assert.equal(statusOf(r.value), 409);
    assert.match(dataOf(r.value).formError, /already ended/);
    assert.equal(calls[0]!.url, `/api/v1/executions/${id}/cancel`);
  });
});

describe('egress, secrets and variables actions', () => {
  it('egress: a non-admin cannot ask for a global rule; the server’s pattern error lands on the field', async () => {
    const { action } = await import('../app/routes/egress');
    const r = await run(async () => action(args(await request('/egress', BOB as never, { form: { intent: 'add', pattern: 'example.com', scope: 'global' } })) as never));
    assert.deepEqual(dataOf(r.value).fieldErrors, { scope: 'only admins may add global rules' });
    assert.equal(calls.length, 0);

    handler = () => ({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'pattern: must not be an internal address', field: 'pattern' } } });
    const r2 = await run(async () => action(args(await request('/egress', BOB as never, { form: { intent: 'add', pattern: '10.0.0.1', ports: '22' } })) as never));
    assert.deepEqual(dataOf(r2.value).fieldErrors, { pattern: 'must not be an internal address' });
    assert.deepEqual(calls[0]!.body, { pattern: '10.0.0.1', scope: 'user', ports: [22] });
  });

  it('secrets: the value goes to the API and is never echoed back, even after an error', async () => {
    handler = () => ({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'value is larger than the limit of 65536 bytes', field: 'value' } } });
    const { action } = await import('../app/routes/secrets');
    const r = await run(async () => action(args(await request('/secrets', BOB as never, { form: { intent: 'save', name: 'TOKEN', value: 'hunter2' } })) as never));
    assert.equal(calls[0]!.url, '/api/v1/secrets/TOKEN');
    assert.deepEqual(calls[0]!.body, { value: 'hunter2' });
    assert.ok(!JSON.stringify(dataOf(r.value)).includes('hunter2'));
    assert.deepEqual(dataOf(r.value).fieldErrors, { value: 'value is larger than the limit of 65536 bytes' });

    handler = () => ({ status: 201, body: { name: 'TOKEN', createdAt: 'x', updatedAt: 'x' } });
    const ok = await run(async () => action(args(await request('/secrets', BOB as never, { form: { intent: 'save', name: 'TOKEN', value: 'hunter2' } })) as never));
    assert.match(dataOf(ok.value).message, /created\. Its value will not be shown again/);
    assert.ok(!JSON.stringify(dataOf(ok.value)).includes('hunter2'));
  });

  it('variables: the JSON value is parsed before it is sent', async () => {
    handler = () => ({ status: 200, body: { key: 'a', value: { n: 1 }, updatedAt: 'x', updatedByExecution: null } });
    const { action } = await import('../app/routes/variables');
    await run(async () => action(args(await request('/variables', BOB as never, { form: { intent: 'save', key: 'a b', value: '{"n": 1}' } })) as never));
    assert.equal(calls.length, 0, 'a bad key is refused before the API');
    const r = await run(async () => action(args(await request('/variables', BOB as never, { form: { intent: 'save', key: 'a', value: '{"n": 1}' } })) as never));
    assert.equal(dataOf(r.value).ok, true);
    assert.deepEqual(calls[0]!.body, { value: { n: 1 } });
  });
});

describe('delete, revoke and unknown intents', () => {
  const routes = [
    { route: 'secrets', user: BOB, form: { intent: 'delete', name: 'TOKEN' }, url: '/api/v1/secrets/TOKEN', message: 'Secret TOKEN deleted.' },
    { route: 'variables', user: BOB, form: { intent: 'delete', key: 'a.b' }, url: '/api/v1/variables/a.b', message: 'Deleted a.b.' },
    { route: 'egress', user: BOB, form: { intent: 'delete', id: 'r1', pattern: 'api.example.com' }, url: '/api/v1/egress/rules/r1', message: 'Removed the rule for api.example.com.' },
    { route: 'users', user: ADMIN, form: { intent: 'revokeKey', keyId: 'k1' }, url: '/api/v1/keys/k1', message: 'Key revoked: it no longer works.' },
  ] as const;

  for (const t of routes) {
    it(`${t.route}: ${t.form.intent} answers with a message, or with the API's status and message`, async () => {
      const me = { status: 200, body: { ...t.user, createdAt: 'x' } };
      const { action } = await import(`../app/routes/${t.route}`);
      handler = (c) => (c.url === '/api/v1/me' ? me : c.method === 'DELETE' ? { status: 204 } : { status: 500, body: {} });
      const ok = await run(async () => action(args(await request(`/${t.route}`, t.user as never, { form: t.form })) as never));
      assert.equal(statusOf(ok.value), 200);
      assert.deepEqual(dataOf(ok.value), { ok: true, intent: t.form.intent, message: t.message });
      assert.deepEqual(calls.filter((c) => c.method === 'DELETE').map((c) => c.url), [t.url]);

      handler = (c) => (c.url === '/api/v1/me' ? me : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'not there' } } });
      const failed = await run(async () => action(args(await request(`/${t.route}`, t.user as never, { form: t.form })) as never));
      assert.equal(statusOf(failed.value), 404);
      const d = dataOf(failed.value);
      assert.deepEqual({ ok: d.ok, intent: d.intent, formError: d.formError }, { ok: false, intent: t.form.intent, formError: 'not there' });
    });

    it(`${t.route}: an unknown intent is a 400 and calls nothing`, async () => {
      handler = (c) => (c.url === '/api/v1/me' ? { status: 200, body: { ...t.user, createdAt: 'x' } } : { status: 500, body: {} });
      const { action } = await import(`../app/routes/${t.route}`);
      const r = await run(async () => action(args(await request(`/${t.route}`, t.user as never, { form: { intent: 'nope' } })) as never));
      assert.equal(statusOf(r.value), 400);
      assert.deepEqual(dataOf(r.value), { ok: false, formError: 'Unknown action.' });
      assert.ok(!calls.some((c) => c.url !== '/api/v1/me'));
    });
  }

  it('a form error says which form it answers and keeps what was typed (but never a secret value)', async () => {
    handler = () => ({ status: 400, body: { error: { code: 'VALIDATION_FAILED', message: 'something odd' } } });
    const cases: { route: string; form: Record<string, string>; values: Record<string, string> }[] = [
      { route: 'secrets', form: { intent: 'save', name: 'TOKEN', value: 'hunter2' }, values: { intent: 'save', name: 'TOKEN' } },
      { route: 'variables', form: { intent: 'add', key: 'k', value: '1' }, values: { intent: 'add', key: 'k', value: '1' } },
      { route: 'egress', form: { intent: 'add', pattern: 'example.com' }, values: { intent: 'add', pattern: 'example.com' } },
    ];
    for (const c of cases) {
      const { action } = await import(`../app/routes/${c.route}`);
      const r = await run(async () => action(args(await request(`/${c.route}`, BOB as never, { form: c.form })) as never));
      assert.equal(statusOf(r.value), 400, c.route);
      assert.deepEqual(dataOf(r.value), { ok: false, intent: c.form.intent, fieldErrors: {}, formError: 'something odd', values: c.values }, c.route);
    }
  });

  it('success answers: the message and the extra the page keys its form on', async () => {
    handler = (c) => (c.method === 'POST' ? { status: 201, body: { id: 'r9', pattern: 'example.com', scope: 'user', createdAt: 'x' } } : { status: 200, body: {} });
    const { action } = await import('../app/routes/egress');
    const r = await run(async () => action(args(await request('/egress', BOB as never, { form: { intent: 'add', pattern: 'example.com' } })) as never));
    assert.deepEqual(dataOf(r.value), { ok: true, intent: 'add', message: 'Added a rule for example.com.', extra: { id: 'r9' } });

    handler = (c) => (c.url === '/api/v1/me' ? { status: 200, body: { ...ADMIN, createdAt: 'x' } } : { status: 201, body: { id: 'u9', name: 'carol', role: 'user', createdAt: 'x' } });
    const users = await import('../app/routes/users');
    const u = await run(async () => users.action(args(await request('/users', ADMIN, { form: { intent: 'createUser', name: 'carol' } })) as never));
    assert.deepEqual(dataOf(u.value), { ok: true, intent: 'createUser', message: 'User carol created. Issue a key below so they can sign in.', extra: { at: 'u9' } });
    const long = await run(async () => users.action(args(await request('/users', ADMIN, { form: { intent: 'issueKey', userId: 'u9', keyName: 'x'.repeat(101) } })) as never));
    assert.equal(statusOf(long.value), 400);
    assert.deepEqual(dataOf(long.value), { ok: false, intent: 'issueKey', fieldErrors: { keyName: 'use at most 100 characters' }, values: { intent: 'issueKey', userId: 'u9', keyName: 'x'.repeat(101) } });

    handler = (c) => (c.method === 'PUT' ? { status: 200, body: { name: 'TOKEN', createdAt: 'x', updatedAt: 'x' } } : { status: 500, body: {} });
    const secrets = await import('../app/routes/secrets');
    const s = await run(async () => secrets.action(args(await request('/secrets', BOB as never, { form: { intent: 'save', name: 'TOKEN', value: 'hunter2' } })) as never));
    assert.equal(dataOf(s.value).message, 'Secret TOKEN replaced. Its value will not be shown again.');
    assert.equal(dataOf(s.value).extra.name, 'TOKEN');
  });

  it('settings and run answer without an intent (one form on the page)', async () => {
    handler = (c) => (c.url === '/api/v1/me' ? { status: 200, body: { ...ADMIN, createdAt: 'x' } } : { status: 200, body: {} });
    const { action } = await import('../app/routes/settings');
    const r = await run(async () => action(args(await request('/settings', ADMIN, { form: { executionPolicy: 'all_users' } })) as never));
    assert.deepEqual(Object.keys(dataOf(r.value)).sort(), ['extra', 'message', 'ok']);
    const bad = await run(async () => action(args(await request('/settings', ADMIN, { form: { executionPolicy: 'x' } })) as never));
    assert.deepEqual(Object.keys(dataOf(bad.value)).sort(), ['fieldErrors', 'ok', 'values']);
  });
});
