import { AppError } from '../errors.js';

export interface QueueLimits {
  maxQueue: number;
  maxQueuedPerUser: number;
}

/** Executions waiting now: in the whole queue, and of the user who submits. */
export interface Waiting {
  all: number;
  user: number;
}

export type Admission =
  | { ok: true }
  | { ok: false; code: 'QUEUE_FULL'; limit: number; waiting: number }
  | { ok: false; code: 'USER_QUEUE_FULL'; limit: number; waiting: number }
  | { ok: false; code: 'USER_DISABLED' };

/**
 * Whether one more execution may join the queue. The whole queue is checked first: when it is full nobody gets in,
 * and saying so is the truer answer. Then the submitter's share of it, so that one user cannot fill it alone.
 */
export function admit(waiting: Waiting, limits: QueueLimits): Admission {
  if (waiting.all >= limits.maxQueue) return { ok: false, code: 'QUEUE_FULL', limit: limits.maxQueue, waiting: waiting.all };
  if (waiting.user >= limits.maxQueuedPerUser) return { ok: false, code: 'USER_QUEUE_FULL', limit: limits.maxQueuedPerUser, waiting: waiting.user };
  return { ok: true };
}

/** The API's answer to a refused submission. */
export function refusal(a: Exclude<Admission, { ok: true }>): AppError {
  if (a.code === 'USER_DISABLED') return new AppError('USER_DISABLED', 403, 'this user was disabled or deleted; the execution was not queued');
  if (a.code === 'QUEUE_FULL') return new AppError('QUEUE_FULL', 503, `the execution queue is full (${a.limit} waiting); try again later`);
  return new AppError(
    'USER_QUEUE_FULL',
    429,
    `you have ${a.waiting} executions waiting, the most one user may have queued (maxQueuedPerUser is ${a.limit}); submit more once some have started`,
  );
}
