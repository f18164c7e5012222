import type { QueueStanding } from './response.js';

/** What the database says about a queued execution's surroundings (counts across every server). */
export interface QueueCounts {
  /** The owner's executions running now. */
  userRunning: number;
  /** The owner's queued executions submitted before this one: a user's own executions start in submission order. */
  userAhead: number;
  /** Every queued execution, of every user. */
  queuedTotal: number;
}

/** Why a queued execution waits, as the API shows it (`queue` on a queued execution): response.ts. */
export type { QueueStanding };

/**
 * A user at the per-user limit waits for one of their own executions to end; otherwise every slot is taken (or
 * about to be taken) and the execution waits for a free one, its turn decided fairly across users (fair-share.ts).
 */
export function queueStanding(c: QueueCounts, userLimit: number): QueueStanding {
  const position = c.userAhead + 1;
  const place = position === 1 ? "it is its user's next execution to start" : `${c.userAhead} of its user's executions are ahead of it`;
  if (c.userRunning >= userLimit) {
    return {
      reason: 'user_concurrency',
      position,
      queuedTotal: c.queuedTotal,
      userRunning: c.userRunning,
      userLimit,
      message: `waiting for one of its user's running executions to end: the user runs ${c.userRunning} of the ${userLimit} allowed at once; ${place}`,
    };
  }
  return {
    reason: 'server_concurrency',
    position,
    queuedTotal: c.queuedTotal,
    userRunning: c.userRunning,
    userLimit,
    message: `waiting for a free slot: every server runs as many executions as it may at once (${c.queuedTotal} queued in all, taken fairly across users); ${place}`,
  };
}
