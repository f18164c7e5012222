/** What the claim knows of one user that has executions queued. */
export interface UserQueue {
  userId: string;
  /** This user's executions running now, on every server. */
  running: number;
  /** This user's executions queued now. */
  queued: number;
  /** When this user's oldest queued execution was submitted. */
  oldestQueuedAt: Date;
}

/**
 * The order in which a free slot tries users' queues: only users under their concurrency limit; fewest running
 * first; among those running as many, fewest queued; then the user whose oldest execution has waited longest;
 * then by id, so that the order is total.
 *
 * Fewest running first is what keeps a flood from locking others out: however many a user has queued, and
 * however long ago, a user with fewer executions running gets the slot. Fewest queued decides a tie, as when a
 * flood's runs have just ended together and its user and another both have none running: the one asking for less
 * goes first instead of the flood's older queue. Whoever wins a tie then runs one more, so users with work
 * queued take turns and two floods share the slots evenly. Counts are across servers (the database's), so the
 * order is the same whichever server has the free slot.
 */
export function claimOrder(queues: readonly UserQueue[], perUserLimit: number): string[] {
  return queues
    .filter((q) => q.running < perUserLimit)
    .sort(
      (a, b) =>
        a.running - b.running ||
        a.queued - b.queued ||
        a.oldestQueuedAt.getTime() - b.oldestQueuedAt.getTime() ||
        (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0),
    )
    .map((q) => q.userId);
}
