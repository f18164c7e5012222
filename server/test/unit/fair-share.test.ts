import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit, refusal } from '../../src/executions/admission.js';
import { claimOrder, type UserQueue } from '../../src/executions/fair-share.js';
import { defaultConcurrencyPerUser, defaultQueuedPerUser, resolveDerived } from '../../src/settings/derived.js';

const t0 = Date.parse('2025-01-01T00:00:00Z');
/** A user's queue: `running` now, `queued` waiting, the oldest of them submitted `at` seconds after t0. */
const q = (userId: string, running: number, at: number, queued = 1): UserQueue => ({
  userId,
  running,
  queued,
  oldestQueuedAt: new Date(t0 + at * 1000),
});

describe('claimOrder: whose queued execution gets the next free slot', () => {
  const cases: { name: string; queues: UserQueue[]; limit: number; want: string[] }[] = [
    { name: 'nobody queued', queues: [], limit: 4, want: [] },
    { name: 'one user', queues: [q('a', 0, 0)], limit: 4, want: ['a'] },
    {
      name: 'a flood submitted long before does not go ahead of a user with fewer running',
      queues: [q('flood', 3, 0, 1000), q('victim', 0, 500)],
      limit: 4,
      want: ['victim', 'flood'],
    },
    {
      name: 'a user at its limit is not tried at all',
      queues: [q('flood', 4, 0), q('victim', 1, 10)],
      limit: 4,
      want: ['victim'],
    },
    {
      name: 'over the limit (lowered meanwhile) is not tried either',
      queues: [q('a', 6, 0)],
      limit: 2,
      want: [],
    },
    {
      name: "equal running: fewest queued first, so a flood whose runs just ended does not go ahead on its queue's age",
      queues: [q('flood', 0, 0, 800), q('victim', 0, 4, 1)],
      limit: 2,
      want: ['victim', 'flood'],
    },
    {
      name: 'equal running and queued: first come, first served',
      queues: [q('late', 1, 30, 3), q('early', 1, 5, 3)],
      limit: 4,
      want: ['early', 'late'],
    },
    {
      name: 'fewest running first, then the oldest',
      queues: [q('c', 2, 0), q('a', 0, 20), q('b', 0, 10), q('d', 1, 0)],
      limit: 3,
      want: ['b', 'a', 'd', 'c'],
    },
    {
      name: 'a full tie is broken by user id, so every server orders alike',
      queues: [q('u2', 1, 0), q('u1', 1, 0)],
      limit: 2,
      want: ['u1', 'u2'],
    },
    {
      name: 'two flooders alternate: whoever has fewer running goes next',
      queues: [q('x', 1, 0, 500), q('y', 2, 1, 400)],
      limit: 2,
      want: ['x'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(claimOrder(c.queues, c.limit), c.want));
  }

  it('leaves its input as it was', () => {
    const queues = [q('b', 1, 0), q('a', 0, 0)];
    claimOrder(queues, 4);
    assert.deepEqual(
      queues.map((x) => x.userId),
      ['b', 'a'],
    );
  });
});

describe('admit: one more execution in the queue', () => {
  const limits = { maxQueue: 1000, maxQueuedPerUser: 250 };
  const cases: { name: string; all: number; user: number; want: ReturnType<typeof admit> }[] = [
    { name: 'empty queue', all: 0, user: 0, want: { ok: true } },
    { name: 'the user one below its limit', all: 600, user: 249, want: { ok: true } },
    { name: 'the user at its limit', all: 600, user: 250, want: { ok: false, code: 'USER_QUEUE_FULL', limit: 250, waiting: 250 } },
    { name: 'the whole queue full: that is said first', all: 1000, user: 250, want: { ok: false, code: 'QUEUE_FULL', limit: 1000, waiting: 1000 } },
    { name: 'the whole queue full, this user has nothing queued', all: 1000, user: 0, want: { ok: false, code: 'QUEUE_FULL', limit: 1000, waiting: 1000 } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(admit({ all: c.all, user: c.user }, limits), c.want));

  it('answers a user over its share with 429 USER_QUEUE_FULL naming the limit, and a full queue with 503 QUEUE_FULL', () => {
    const user = refusal({ ok: false, code: 'USER_QUEUE_FULL', limit: 250, waiting: 250 });
    assert.equal(user.status, 429);
    assert.equal(user.code, 'USER_QUEUE_FULL');
    assert.match(user.message, /maxQueuedPerUser is 250/);
    const all = refusal({ ok: false, code: 'QUEUE_FULL', limit: 1000, waiting: 1000 });
    assert.equal(all.status, 503);
    assert.equal(all.code, 'QUEUE_FULL');
    assert.match(all.message, /queue is full \(1000 waiting\)/);
  });
});

describe('per-user limits derived from the server-wide ones', () => {
  const concurrency: [number, number][] = [
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 2],
    [5, 2],
    [16, 8],
  ];
  for (const [max, want] of concurrency) {
    it(`maxConcurrency ${max} → maxConcurrencyPerUser ${want}`, () => assert.equal(defaultConcurrencyPerUser(max), want));
  }
  const queue: [number, number][] = [
    [1, 1],
    [3, 1],
    [4, 1],
    [5, 2],
    [10, 3],
    [1000, 250],
  ];
  for (const [max, want] of queue) {
    it(`maxQueue ${max} → maxQueuedPerUser ${want}`, () => assert.equal(defaultQueuedPerUser(max), want));
  }

  it('below the server-wide limit whenever that is above 1: one user always leaves room', () => {
    for (let n = 2; n <= 1000; n++) {
      assert.ok(defaultConcurrencyPerUser(n) < n, `maxConcurrency ${n}`);
      assert.ok(defaultQueuedPerUser(n) < n, `maxQueue ${n}`);
    }
  });

  it('an explicit value is kept as it is; an unset one follows', () => {
    assert.deepEqual(resolveDerived({ maxConcurrency: 8, maxQueue: 100 }), { maxConcurrency: 8, maxQueue: 100, maxConcurrencyPerUser: 4, maxQueuedPerUser: 25 });
    assert.deepEqual(resolveDerived({ maxConcurrency: 8, maxQueue: 100, maxConcurrencyPerUser: 8, maxQueuedPerUser: 100 }), {
      maxConcurrency: 8,
      maxQueue: 100,
      maxConcurrencyPerUser: 8,
      maxQueuedPerUser: 100,
    });
    assert.deepEqual(resolveDerived({ maxConcurrency: 8, maxQueue: 100, maxConcurrencyPerUser: undefined }).maxConcurrencyPerUser, 4);
  });
});
