import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const pool = (env: Record<string, string>) => loadConfig(env).sandbox.pool;
const refused = (env: Record<string, string>, problem: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => problem.test(p)),
    `${JSON.stringify(env)} is refused with ${problem}`,
  );

describe('warm pool: configuration', () => {
  it('defaults: sized by demand between 1 and 8 per language, 512 MiB, 10 min idle, refill at the claim', () => {
    assert.deepEqual(pool({}), { min: 1, max: 8, memoryMb: 512, idleMs: 600_000, refillAt: 'claim' });
  });

  it('CRONIUM_POOL_SIZE=0 turns it off; a positive size fixes it (min = max)', () => {
    assert.equal(pool({ CRONIUM_POOL_SIZE: '0' }), null);
    assert.deepEqual(pool({ CRONIUM_POOL_SIZE: '3' }), { min: 3, max: 3, memoryMb: 512, idleMs: 600_000, refillAt: 'claim' });
    assert.equal(pool({ CRONIUM_POOL_SIZE: '0', CRONIUM_POOL_MIN: '2' }), null, 'off whatever else is set');
  });

  it('takes a minimum, maximum, budget and refill moment', () => {
    assert.deepEqual(pool({ CRONIUM_POOL_MIN: '0', CRONIUM_POOL_MAX: '4', CRONIUM_POOL_MEMORY_MB: '128', CRONIUM_POOL_REFILL: 'end', CRONIUM_POOL_IDLE_MS: '0' }), {
      min: 0,
      max: 4,
      memoryMb: 128,
      idleMs: 0,
      refillAt: 'end',
    });
    assert.deepEqual(pool({ CRONIUM_POOL_MIN: '10' }), { min: 10, max: 10, memoryMb: 512, idleMs: 600_000, refillAt: 'claim' }, 'a minimum above the default maximum raises it');
  });

  it('refuses bad values, naming the variable', () => {
    refused({ CRONIUM_POOL_MIN: '5', CRONIUM_POOL_MAX: '2' }, /CRONIUM_POOL_MIN \(5\) exceeds CRONIUM_POOL_MAX \(2\)/);
    refused({ CRONIUM_POOL_SIZE: '2', CRONIUM_POOL_MAX: '4' }, /CRONIUM_POOL_SIZE fixes the pool.*CRONIUM_POOL_MAX/);
    refused({ CRONIUM_POOL_SIZE: '2', CRONIUM_POOL_MIN: '1', CRONIUM_POOL_MAX: '4' }, /CRONIUM_POOL_MIN and CRONIUM_POOL_MAX/);
    refused({ CRONIUM_POOL_MAX: '0' }, /^CRONIUM_POOL_MAX:/);
    refused({ CRONIUM_POOL_MIN: '-1' }, /^CRONIUM_POOL_MIN:/);
    refused({ CRONIUM_POOL_SIZE: '1.5' }, /^CRONIUM_POOL_SIZE:/);
    refused({ CRONIUM_POOL_MEMORY_MB: 'lots' }, /^CRONIUM_POOL_MEMORY_MB:/);
    refused({ CRONIUM_POOL_REFILL: 'later' }, /^CRONIUM_POOL_REFILL:/);
  });
});
