import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queueStanding } from '../../src/executions/queue-standing.js';

describe('queueStanding: why a queued execution waits', () => {
  const cases = [
    { name: 'user at its limit', c: { userRunning: 2, userAhead: 0, queuedTotal: 5 }, limit: 2, reason: 'user_concurrency', position: 1, says: /the user runs 2 of the 2 allowed.*its user's next execution to start/ },
    { name: 'user over its limit (limit lowered)', c: { userRunning: 3, userAhead: 1, queuedTotal: 5 }, limit: 2, reason: 'user_concurrency', position: 2, says: /1 of its user's executions are ahead/ },
    { name: 'user under its limit: every slot taken', c: { userRunning: 1, userAhead: 0, queuedTotal: 7 }, limit: 2, reason: 'server_concurrency', position: 1, says: /free slot.*7 queued in all/ },
    { name: 'nothing running at all (just submitted)', c: { userRunning: 0, userAhead: 3, queuedTotal: 4 }, limit: 1, reason: 'server_concurrency', position: 4, says: /3 of its user's executions are ahead/ },
  ] as const;
  for (const t of cases) {
    it(t.name, () => {
      const s = queueStanding(t.c, t.limit);
      assert.equal(s.reason, t.reason);
      assert.equal(s.position, t.position);
      assert.equal(s.queuedTotal, t.c.queuedTotal);
      assert.equal(s.userLimit, t.limit);
      assert.equal(s.userRunning, t.c.userRunning);
      assert.match(s.message, t.says);
    });
  }
});
