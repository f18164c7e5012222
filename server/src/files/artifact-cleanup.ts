import type { FastifyBaseLogger } from 'fastify';
import type { ExecutionArtifacts } from './artifacts.js';
import { EXPIRED_BATCH } from './repository.js';

/**
 * Removes expired artifacts (the artifactRetentionDays setting) now and every `everyMs`; returns the stop. Any
 * server may do it: removing the same execution's artifacts twice is harmless.
 */
export function startArtifactCleanup(opts: { artifacts: Pick<ExecutionArtifacts, 'removeExpired'>; log: FastifyBaseLogger; everyMs: number }): () => Promise<void> {
  let running: Promise<void> | null = null;
  const sweep = () => {
    running ??= (async () => {
      try {
        for (;;) {
          const ids = await opts.artifacts.removeExpired(new Date());
          if (ids.length) opts.log.info({ executions: ids.length }, 'removed expired artifacts');
          // removeExpired takes a bounded batch; go on while there is more.
          if (ids.length < EXPIRED_BATCH) break;
        }
      } catch (err) {
        opts.log.warn({ err }, 'could not remove expired artifacts; trying again later');
      } finally {
        running = null;
      }
    })();
  };
  sweep();
  const timer = setInterval(sweep, opts.everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
