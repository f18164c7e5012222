import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiFor, freshPostgres, requireDocker, run, startTestServer, type TestServer, until } from '../helpers.js';

/**
 * Admins disable, re-enable, promote, demote and delete users through the API, against a real server on each
 * database (PGlite and a real PostgreSQL), with real executions: a disabled or deleted user's keys stop working on
 * the very next request, their queued and running executions are cancelled, a deleted user's executions stay.
 */
for (const db of ['pglite', 'postgres'] as const) describe(`user management (${db})`, { concurrency: false }, () => {
  let s: TestServer;
  let adminId: string;

  const newUser = async (name: string, role: 'admin' | 'user' = 'user') => {
    const u = await s.api('POST', '/api/v1/users', { name, role });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    const k = await s.api('POST', `/api/v1/users/${u.body.id}/keys`, {});
    return { id: u.body.id as string, key: k.body.key as string, api: apiFor(s.url, k.body.key) };
  };

  before(async () => {
    await requireDocker();
    const url = db === 'postgres' ? await freshPostgres() : null;
    s = await startTestServer({ CRONIUM_POOL_SIZE: '0', ...(url ? { DATABASE_URL: url } : {}) });
    adminId = (await s.api('GET', '/api/v1/me')).body.id;
  });
  after(async () => {
    await s?.stop();
  });

  it('answers 403 to non-admins, 404 for an unknown id, 400 naming the field for bad input', async () => {
    const carol = await newUser(`carol-${db}`);
    for (const [method, body] of [['PATCH', { disabled: true }], ['DELETE', undefined]] as const) {
      const r = await carol.api(method, `/api/v1/users/${adminId}`, body);
      assert.equal(r.status, 403, `${method} by a non-admin`);
      assert.equal(r.body.error.code, 'FORBIDDEN');
      const unknown = await s.api(method, '/api/v1/users/00000000-0000-0000-0000-000000000000', body);
      assert.equal(unknown.status, 404, `${method} of an unknown id`);
      assert.equal(unknown.body.error.code, 'NOT_FOUND');
    }
    const badRole = await s.api('PATCH', `/api/v1/users/${carol.id}`, { role: 'owner' });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.body.error.field, 'role');
    const badDisabled = await s.api('PATCH', `/api/v1/users/${carol.id}`, { disabled: 'yes' });
    assert.equal(badDisabled.body.error.field, 'disabled');
    const unknownField = await s.api('PATCH', `/api/v1/users/${carol.id}`, { name: 'x' });
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.body.error.field, 'name');
  });

  it('disables a user: their keys get 403 USER_DISABLED at once; re-enabled, the same keys work again', async () => {
    const dave = await newUser(`dave-${db}`);
    assert.equal((await dave.api('GET', '/api/v1/me')).status, 200);
    const off = await s.api('PATCH', `/api/v1/users/${dave.id}`, { disabled: true });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.id, dave.id);
    assert.equal(off.body.disabled, true);
    assert.equal(off.body.role, 'user');
    const refused = await dave.api('GET', '/api/v1/me');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'USER_DISABLED');
    const submit = await dave.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo hi' });
    assert.equal(submit.status, 403);
    assert.equal(submit.body.error.code, 'USER_DISABLED');
    const listed = (await s.api('GET', '/api/v1/users')).body.items.find((u: any) => u.id === dave.id);
    assert.equal(listed.disabled, true, 'the list shows who is disabled');
    const on = await s.api('PATCH', `/api/v1/users/${dave.id}`, { disabled: false });
    assert.equal(on.body.disabled, false);
    assert.equal((await dave.api('GET', '/api/v1/me')).status, 200);

    // Disabling stops what the user has running.
    const running = await dave.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo started; sleep 60', timeoutMs: 90_000 });
    assert.equal(running.status, 202);
    await until(async () => (await s.api('GET', `/api/v1/executions/${running.body.id}`)).body.status === 'running', 30_000);
    assert.equal((await s.api('PATCH', `/api/v1/users/${dave.id}`, { disabled: true })).status, 200);
    const ended = await until(async () => {
      const e = (await s.api('GET', `/api/v1/executions/${running.body.id}`)).body;
      return e.status !== 'running' && e;
    }, 30_000);
    assert.equal(ended.status, 'cancelled');
  });

  it('a submission that authenticated before its user was disabled is refused when it reaches the queue, not left queued', async () => {
    const late = await newUser(`late-submitter-${db}`);
    assert.equal((await s.api('PATCH', `/api/v1/users/${late.id}`, { disabled: true })).status, 200);
    // What the route does after authentication, as it would for a request already past the key check.
    const settings = await s.server.services.settings.get();
    const r = await s.server.services.executions.insertQueued(
      { id: crypto.randomUUID(), userId: late.id, language: 'bash', status: 'queued', script: 'echo late', env: {}, timeoutMs: 10_000, memoryMb: 64, cpus: '0.5', pids: 64, isolation: 'standard', secrets: [], egressAllow: [], createdAt: new Date() },
      settings,
    );
    assert.equal(r.ok, false, 'a disabled user\'s execution is not queued');
    assert.equal(!r.ok && r.code, 'USER_DISABLED');
    const queued = (await s.api('GET', '/api/v1/executions?status=queued')).body.items.filter((e: any) => e.userId === late.id);
    assert.deepEqual(queued, []);
  });

  it('changes a role: a promoted user may use admin routes, a demoted one may not', async () => {
    const erin = await newUser(`erin-${db}`);
    assert.equal((await erin.api('GET', '/api/v1/users')).status, 403);
    const up = await s.api('PATCH', `/api/v1/users/${erin.id}`, { role: 'admin' });
    assert.equal(up.status, 200);
    assert.equal(up.body.role, 'admin');
    assert.equal((await erin.api('GET', '/api/v1/users')).status, 200);
    const down = await erin.api('PATCH', `/api/v1/users/${erin.id}`, { role: 'user' });
    assert.equal(down.status, 200, 'an admin may demote themselves while another admin remains');
    assert.equal((await erin.api('GET', '/api/v1/users')).status, 403);
  });

  it('never removes the last enabled admin: 409 LAST_ADMIN for delete, demote and disable', async () => {
    const admins = (await s.api('GET', '/api/v1/users')).body.items.filter((u: any) => u.role === 'admin' && !u.disabled);
    assert.deepEqual(admins.map((u: any) => u.id), [adminId], 'the bootstrap admin is the only one');
    for (const [method, body] of [['DELETE', undefined], ['PATCH', { role: 'user' }], ['PATCH', { disabled: true }]] as const) {
      const r = await s.api(method, `/api/v1/users/${adminId}`, body);
      assert.equal(r.status, 409, `${method} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 'LAST_ADMIN');
    }
    // A disabled admin does not count: with a second admin disabled, the first is still the last.
    const frank = await newUser(`frank-${db}`, 'admin');
    assert.equal((await s.api('PATCH', `/api/v1/users/${frank.id}`, { disabled: true })).status, 200);
    assert.equal((await s.api('PATCH', `/api/v1/users/${adminId}`, { disabled: true })).body.error.code, 'LAST_ADMIN');
    // Enabled, the second admin may remove the first's admin role, and then is the last one in turn.
    assert.equal((await s.api('PATCH', `/api/v1/users/${frank.id}`, { disabled: false })).status, 200);
    assert.equal((await frank.api('PATCH', `/api/v1/users/${adminId}`, { role: 'user' })).status, 200);
    assert.equal((await frank.api('DELETE', `/api/v1/users/${frank.id}`)).body.error.code, 'LAST_ADMIN');
    assert.equal((await frank.api('PATCH', `/api/v1/users/${adminId}`, { role: 'admin' })).status, 200);
    assert.equal((await s.api('GET', '/api/v1/me')).body.role, 'admin');

    // Two admins demoting each other at the same moment: one wins; the other gets LAST_ADMIN, or 403 when its
    // request is authenticated after the first one is done (PGlite serialises them).
    const [a, b] = await Promise.all([
      s.api('PATCH', `/api/v1/users/${frank.id}`, { role: 'user' }),
      frank.api('PATCH', `/api/v1/users/${adminId}`, { role: 'user' }),
    ]);
    const [won, lost] = a.status === 200 ? [a, b] : [b, a];
    assert.equal(won.status, 200, JSON.stringify([a.body, b.body]));
    assert.ok(lost.status === 409 ? lost.body.error.code === 'LAST_ADMIN' : lost.status === 403, JSON.stringify(lost.body));
    const left = (await s.api('GET', '/api/v1/users', undefined, a.status === 200 ? s.adminKey : frank.key)).body.items;
    assert.equal(left.filter((u: any) => u.role === 'admin' && !u.disabled).length, 1, 'exactly one admin is left');
    if (a.status !== 200) {
      assert.equal((await frank.api('PATCH', `/api/v1/users/${adminId}`, { role: 'admin' })).status, 200);
      assert.equal((await s.api('PATCH', `/api/v1/users/${frank.id}`, { role: 'user' })).status, 200);
    }
  });

  it('deletes a user: keys refused at once, secrets, variables and rules gone, executions kept, queued and running ones cancelled', async () => {
    const gina = await newUser(`gina-${db}`);
    assert.equal((await gina.api('PUT', '/api/v1/secrets/TOKEN', { value: 's3cret-value' })).status, 201);
    assert.equal((await gina.api('PUT', '/api/v1/variables/counter', { value: 1 })).status, 200);
    assert.equal((await gina.api('POST', '/api/v1/egress/rules', { pattern: 'gina.example.com' })).status, 201);
    const done = await run(gina.api, { language: 'bash', script: 'echo kept' }, gina.key);
    assert.equal(done.status, 'succeeded');

    // One running, one queued behind it (one at a time per user).
    await s.api('PATCH', '/api/v1/settings', { maxConcurrencyPerUser: 1 });
    try {
      const running = await gina.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo started; sleep 60', timeoutMs: 90_000 });
      assert.equal(running.status, 202);
      await until(async () => (await s.api('GET', `/api/v1/executions/${running.body.id}`)).body.status === 'running', 30_000);
      const queued = await gina.api('POST', '/api/v1/executions', { language: 'bash', script: 'echo NEVER' });
      assert.equal((await s.api('GET', `/api/v1/executions/${queued.body.id}`)).body.status, 'queued');

      const del = await s.api('DELETE', `/api/v1/users/${gina.id}`);
      assert.equal(del.status, 204, JSON.stringify(del.body));
      assert.equal(del.body, null, 'no body');

      const refused = await gina.api('GET', '/api/v1/me');
      assert.equal(refused.status, 401, 'a deleted user\'s key is refused on the very next request');
      assert.equal(refused.body.error.code, 'UNAUTHORIZED');
      const q = (await s.api('GET', `/api/v1/executions/${queued.body.id}`)).body;
      assert.equal(q.status, 'cancelled');
      assert.match(q.error, /deleted/);
      const r = await until(async () => {
        const e = (await s.api('GET', `/api/v1/executions/${running.body.id}`)).body;
        return e.status !== 'running' && e;
      }, 30_000);
      assert.equal(r.status, 'cancelled');
    } finally {
      await s.api('PATCH', '/api/v1/settings', { maxConcurrencyPerUser: 4 });
    }

    const kept = await s.api('GET', `/api/v1/executions/${done.id}`);
    assert.equal(kept.status, 200, 'the execution stays');
    assert.equal(kept.body.userId, gina.id, 'attributed to the deleted user');
    assert.ok((await s.api('GET', `/api/v1/executions?userId=${gina.id}`)).body.items.some((e: any) => e.id === done.id));
    assert.ok(!(await s.api('GET', '/api/v1/users')).body.items.some((u: any) => u.id === gina.id), 'gone from the list');
    assert.equal((await s.api('DELETE', `/api/v1/users/${gina.id}`)).status, 404, 'deleted once');
    assert.equal((await s.api('PATCH', `/api/v1/users/${gina.id}`, { disabled: false })).status, 404);
    assert.equal((await s.api('POST', `/api/v1/users/${gina.id}/keys`, {})).status, 404);
    assert.ok((await s.api('GET', `/api/v1/users/${gina.id}/keys`)).body.items.every((k: any) => k.revokedAt), 'every key revoked');
    assert.ok(!(await s.api('GET', '/api/v1/egress/rules')).body.items.some((rule: any) => rule.userId === gina.id), 'their egress rules are gone');

    assert.deepEqual(await s.server.services.secrets.list(gina.id), [], 'their secrets are gone from the database');
    assert.deepEqual(await s.server.services.variables.list(gina.id), [], 'their variables are gone from the database');

    // The name is free again: a new user may take it, and is a different user.
    const again = await newUser(`gina-${db}`);
    assert.notEqual(again.id, gina.id);
    assert.equal((await again.api('GET', '/api/v1/variables/counter')).status, 404, 'nothing of the old user carries over');
  });
});
