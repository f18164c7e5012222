/**
 * Per-user limits that, unless set, follow the server-wide limit they share: changing maxConcurrency or maxQueue
 * then keeps room for other users instead of leaving a per-user limit as large as the whole.
 */

/** Half the server's slots, so one user's long runs always leave the other half to everyone else. */
export const defaultConcurrencyPerUser = (maxConcurrency: number): number => Math.max(1, Math.floor(maxConcurrency / 2));

/** A quarter of the queue, rounded up: one user flooding it leaves three quarters to the others. */
export const defaultQueuedPerUser = (maxQueue: number): number => Math.max(1, Math.ceil(maxQueue / 4));

export const DERIVED_KEYS = ['maxConcurrencyPerUser', 'maxQueuedPerUser'] as const;
export type DerivedKey = (typeof DERIVED_KEYS)[number];

interface Sources {
  maxConcurrency: number;
  maxQueue: number;
  maxConcurrencyPerUser?: number | undefined;
  maxQueuedPerUser?: number | undefined;
}

/** The values in force: an explicit one (configured or set by an admin) as it is, else derived. */
export function resolveDerived<T extends Sources>(s: T): T & Record<DerivedKey, number> {
  return {
    ...s,
    maxConcurrencyPerUser: s.maxConcurrencyPerUser ?? defaultConcurrencyPerUser(s.maxConcurrency),
    maxQueuedPerUser: s.maxQueuedPerUser ?? defaultQueuedPerUser(s.maxQueue),
  };
}
