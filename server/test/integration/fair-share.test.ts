import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Api, logsOf, requireDocker, startTestServer, type TestServer, twoServers, until } from '../helpers.js';

/**
 * Issue 16, defect 4: one user flooding the queue must not lock the others out. The flood is long runs filling
 * the flooder's own concurrency plus many more queued; another user's execution must start within one of the
 * flood's executions' time (measured against the flood's own durations, not a fixed clock), and a user past the
 * per-user queue limit is refused with USER_QUEUE_FULL while others are still accepted.
 */

/** How long each flood execution sleeps; every time bound below is a multiple of the flood's measured duration. */
const FLOOD_SLEEP_S = 4;
const FLOOD_SCRIPT = `echo started; sleep ${FLOOD_SLEEP_S}`;
/** Where in the flood's runs the other user comes, when the flood holds every slot it may use. */
const MID_RUN_MS = (FLOOD_SLEEP_S * 1000) / 2;

interface Exec {
  id: string;
  status: string;
  userId: string;
  startedAt: string | null;
  finishedAt: string | null;
}

async function newUser(api: Api, prefix: string): Promise<string> {
  const u = await api('POST', '/api/v1/users', { name: `${prefix}-${crypto.randomBytes(4).toString('hex')}`, role: 'user' });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const k = await api('POST', `/api/v1/users/${u.body.id}/keys`, { name: 'fair-share' });
  return k.body.key as string;
}

async function submit(api: Api, key: string | undefined, script: string): Promise<string> {
  const r = await api('POST', '/api/v1/executions', { language: 'bash', script }, key);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.id as string;
}

const get = async (api: Api, id: string): Promise<Exec> => (await api('GET', `/api/v1/executions/${id}`)).body as Exec;
const ms = (t: string | null) => (t ? Date.parse(t) : NaN);
const duration = (e: Exec) => ms(e.finishedAt) - ms(e.startedAt);

/** Cancels whatever of these has not ended, and waits until none is queued or running. */
async function cancelAll(api: Api, ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => api('POST', `/api/v1/executions/${id}/cancel`)));
  await until(async () => (await Promise.all(ids.map((id) => get(api, id)))).every((e) => !['queued', 'running'].includes(e.status)), 60_000, 250);
}

/**
 * Floods as `floodKey`: `running` executions that are seen running (their script has started), then `queued` more
 * behind them. Returns the ids of both groups.
 */
async function flood(api: Api, floodKey: string, running: number, queued: number) {
  const first: string[] = [];
  for (let i = 0; i < running; i++) first.push(await submit(api, floodKey, FLOOD_SCRIPT));
  const rest: string[] = [];
  for (let i = 0; i < queued; i++) rest.push(await submit(api, floodKey, FLOOD_SCRIPT));
  await until(
    async () => {
      for (const id of first) if (!(await logsOf(api, id)).some((l) => l.text === 'started')) return false;
      return true;
    },
    60_000,
    100,
  );
  return { first, rest };
}

/**
 * Submits the victim's execution (after `delayMs`) and waits until it starts, for at most three of the flood's
 * executions' time (enough to show a failure: a fair engine starts it within one). Returns how long it waited,
 * from submission, and the execution.
 */
async function victimWait(api: Api, victimKey: string, delayMs = 0): Promise<{ waitedMs: number; victim: Exec }> {
  await new Promise((r) => setTimeout(r, delayMs));
  const submittedAt = Date.now();
  const id = await submit(api, victimKey, 'echo victim');
  const victim = await until(
    async () => {
      const e = await get(api, id);
      return e.startedAt ? e : null;
    },
    3 * FLOOD_SLEEP_S * 1000,
    50,
  ).catch(() => null);
  assert.ok(victim, `the other user's execution had not started ${3 * FLOOD_SLEEP_S} s (three flood executions' sleep) after it was submitted`);
  return { waitedMs: ms(victim.startedAt) - submittedAt, victim };
}

/** The first flood executions' durations (start to end as the server records them), once they have ended. */
async function floodDurations(api: Api, ids: string[]): Promise<number[]> {
  const rows = await until(
    async () => {
      const all = await Promise.all(ids.map((id) => get(api, id)));
      return all.every((e) => e.finishedAt) && all;
    },
    60_000,
    100,
  );
  return rows.map(duration);
}

describe('fair share: one user cannot lock the others out', { concurrency: false }, () => {
  let s: TestServer;
  before(async () => {
    await requireDocker();
    // The server's own defaults for concurrency and queue length: part of what is under test.
    s = await startTestServer();
  });
  after(async () => s?.stop());

  it('with the default settings, a user running its most at once leaves room: another user starts at once', async () => {
    const settings = (await s.api('GET', '/api/v1/settings')).body;
    const floodKey = await newUser(s.api, 'flood');
    const victimKey = await newUser(s.api, 'victim');
    const { first, rest } = await flood(s.api, floodKey, settings.maxConcurrencyPerUser, 12);
    try {
      const { waitedMs } = await victimWait(s.api, victimKey);
      const durations = await floodDurations(s.api, first);
      console.log(`# defaults: victim waited ${waitedMs} ms; flood executions took ${durations.join(', ')} ms`);
      // Not one flood execution's time: a free slot was there already.
      assert.ok(waitedMs < Math.min(...durations), `victim waited ${waitedMs} ms, a flood execution takes ${Math.min(...durations)} ms`);
      assert.ok(
        settings.maxConcurrencyPerUser < settings.maxConcurrency,
        `the defaults leave room for others: maxConcurrencyPerUser ${settings.maxConcurrencyPerUser} < maxConcurrency ${settings.maxConcurrency}`,
      );
    } finally {
      await cancelAll(s.api, [...first, ...rest]);
    }
  });

  it('with per-user concurrency equal to the server\'s, the next free slot goes to the other user, not to the flood\'s queue', async () => {
    const patch = await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 2, maxConcurrencyPerUser: 2 });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    const floodKey = await newUser(s.api, 'flood');
    const victimKey = await newUser(s.api, 'victim');
    let ids: string[] = [];
    try {
      const { first, rest } = await flood(s.api, floodKey, 2, 8);
      ids = [...first, ...rest];
      const { waitedMs, victim } = await victimWait(s.api, victimKey, MID_RUN_MS);
      const durations = await floodDurations(s.api, first);
      console.log(`# per-user = server: victim waited ${waitedMs} ms; flood executions took ${durations.join(', ')} ms`);
      const queuedBefore = await Promise.all(rest.map((id) => get(s.api, id)));
      for (const e of queuedBefore) {
        assert.ok(!e.startedAt || ms(e.startedAt) >= ms(victim.startedAt), `flood execution ${e.id}, queued before the victim was submitted, started first`);
      }
      // One execution's time: the victim came in the middle of the flood's runs, and waits for the first of them
      // to end and its slot to be handed over (removing a sandbox takes a fraction of the half run left).
      assert.ok(waitedMs <= Math.max(...durations), `victim waited ${waitedMs} ms, a flood execution takes ${Math.max(...durations)} ms`);
    } finally {
      await cancelAll(s.api, ids);
      await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 4, maxConcurrencyPerUser: null });
    }
  });

  it('refuses a user past maxQueuedPerUser with 429 USER_QUEUE_FULL, exactly at the limit, while other users are accepted', async () => {
    const patch = await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 1, maxQueuedPerUser: 3 });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    assert.equal(patch.body.maxQueuedPerUser, 3);
    const ids: string[] = [];
    try {
      ids.push(await submit(s.api, undefined, 'sleep 300'));
      await until(async () => (await get(s.api, ids[0]!)).status === 'running');
      const floodKey = await newUser(s.api, 'flood');
      const otherKey = await newUser(s.api, 'other');
      // Ten at once: the limit must hold under concurrent submissions, not only one after another.
      const answers = await Promise.all(Array.from({ length: 10 }, () => s.api('POST', '/api/v1/executions', { language: 'bash', script: 'true' }, floodKey)));
      ids.push(...answers.filter((r) => r.status === 202).map((r) => r.body.id as string));
      assert.equal(answers.filter((r) => r.status === 202).length, 3, answers.map((r) => r.status).join(','));
      const refused = answers.filter((r) => r.status !== 202);
      assert.equal(refused.length, 7);
      for (const r of refused) {
        assert.equal(r.status, 429);
        assert.equal(r.body.error.code, 'USER_QUEUE_FULL');
        assert.match(r.body.error.message, /maxQueuedPerUser/);
        assert.match(r.body.error.message, /\b3\b/);
      }
      ids.push(await submit(s.api, otherKey, 'true'));
      ids.push(await submit(s.api, undefined, 'true'));
    } finally {
      await cancelAll(s.api, ids);
      await s.api('PATCH', '/api/v1/settings', { maxConcurrency: 4, maxQueuedPerUser: null });
    }
  });

  it('maxQueuedPerUser defaults to a quarter of maxQueue, follows it until set, and may not exceed it', async () => {
    let r = await s.api('PATCH', '/api/v1/settings', { maxQueue: 100, maxQueuedPerUser: null });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.maxQueuedPerUser, 25);
    r = await s.api('PATCH', '/api/v1/settings', { maxQueue: 10 });
    assert.equal(r.body.maxQueuedPerUser, 3, 'a quarter, rounded up');
    r = await s.api('PATCH', '/api/v1/settings', { maxQueuedPerUser: 11 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'maxQueuedPerUser');
    assert.match(r.body.error.message, /maxQueue \(10\)/);
    r = await s.api('PATCH', '/api/v1/settings', { maxQueuedPerUser: 0 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.field, 'maxQueuedPerUser');
    r = await s.api('PATCH', '/api/v1/settings', { maxQueue: 1000 });
    assert.equal(r.body.maxQueuedPerUser, 250);
    assert.equal((await s.api('GET', '/api/v1/settings')).body.maxQueuedPerUser, 250);
  });
});

describe('fair share across two servers on one PostgreSQL', () => {
  const procs: ChildProcess[] = [];
  // A graceful stop removes the servers' sandboxes (warm pool included); SIGKILL only if one hangs.
  after(async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve();
            const kill = setTimeout(() => p.kill('SIGKILL'), 30_000);
            p.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
  });

  it('keeps the per-user limits exact across servers and gives the next free slot to the user with fewest running', async (t) => {
    await requireDocker();
    const cluster = await twoServers(
      t,
      procs,
      { CRONIUM_MAX_CONCURRENCY: '2', CRONIUM_MAX_CONCURRENCY_PER_USER: '2', CRONIUM_MAX_QUEUED_PER_USER: '12' },
      ['fair-a', 'fair-b'],
    );
    if (!cluster) return;
    const { apiA, apiB } = cluster;

    // X holds two of the four slots for the whole test, and is at its per-user limit; Y floods the other two
    // (each run FLOOD_SLEEP_S long) and keeps more queued.
    const floodX = await newUser(apiA, 'flood-x');
    const floodY = await newUser(apiA, 'flood-y');
    const victimKey = await newUser(apiA, 'victim');
    const ids: string[] = [];
    try {
      for (let i = 0; i < 2; i++) ids.push(await submit(apiA, floodX, 'echo started; sleep 600'));
      await until(async () => (await Promise.all(ids.map((id) => logsOf(apiA, id)))).every((l) => l.some((e) => e.text === 'started')), 60_000, 100);
      // The per-user queue limit counts across servers: 20 at once, half through each, 12 accepted.
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? apiA : apiB)('POST', '/api/v1/executions', { language: 'bash', script: 'true' }, floodX)),
      );
      const accepted = answers.filter((r) => r.status === 202).map((r) => r.body.id as string);
      ids.push(...accepted);
      assert.equal(accepted.length, 12, answers.map((r) => r.status).join(','));
      assert.ok(answers.filter((r) => r.status !== 202).every((r) => r.status === 429 && r.body.error.code === 'USER_QUEUE_FULL'));

      const y = await flood(apiB, floodY, 2, 6);
      ids.push(...y.first, ...y.rest);
      const { waitedMs, victim } = await victimWait(apiB, victimKey, MID_RUN_MS);
      ids.push(victim.id);
      const durations = await floodDurations(apiA, y.first);
      console.log(`# two servers: victim waited ${waitedMs} ms; flood executions took ${durations.join(', ')} ms`);
      const queuedBefore = await Promise.all(y.rest.map((id) => get(apiA, id)));
      for (const e of queuedBefore) {
        assert.ok(!e.startedAt || ms(e.startedAt) >= ms(victim.startedAt), `flood execution ${e.id}, queued before the victim was submitted, started first`);
      }
      assert.ok(waitedMs <= Math.max(...durations), `victim waited ${waitedMs} ms, a flood execution takes ${Math.max(...durations)} ms`);

      // Let a few rounds run, then check no user ever had more than 2 running at once across both servers.
      await new Promise((r) => setTimeout(r, 2 * FLOOD_SLEEP_S * 1000));
      await cancelAll(apiA, ids);
      const rows = await Promise.all(ids.map((id) => get(apiA, id)));
      for (const userId of new Set(rows.map((e) => e.userId))) {
        const spans = rows.filter((e) => e.userId === userId && e.startedAt && e.finishedAt).map((e): [number, number] => [ms(e.startedAt), ms(e.finishedAt)]);
        assert.ok(maxOverlap(spans) <= 2, `user ${userId} had ${maxOverlap(spans)} running at once`);
      }
    } finally {
      await cancelAll(apiA, ids).catch(() => {});
    }
  });
});

/** Maximum number of intervals that overlap at any instant. */
function maxOverlap(intervals: [number, number][]): number {
  const points = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  points.sort((p, q) => p[0]! - q[0]! || p[1]! - q[1]!);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (cur += d!));
  return max;
}
