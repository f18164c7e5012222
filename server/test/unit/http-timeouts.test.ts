import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { httpTimeoutOptions } from '../../src/http-timeouts.js';

describe('HTTP timeouts: configuration', () => {
  it('defaults: headers 10 s, whole request 30 s, idle 60 s, between requests 5 s', () => {
    assert.deepEqual(loadConfig({}).http, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 72_000 });
  });

  it('refuses a headers timeout longer than the request timeout (Node would throw at start)', () => {
    assert.throws(
      () => loadConfig({ CRONIUM_HTTP_HEADERS_TIMEOUT_MS: '5000', CRONIUM_HTTP_REQUEST_TIMEOUT_MS: '4000' }),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => /CRONIUM_HTTP_HEADERS_TIMEOUT_MS exceeds CRONIUM_HTTP_REQUEST_TIMEOUT_MS/.test(p)),
    );
    assert.throws(() => loadConfig({ CRONIUM_HTTP_IDLE_TIMEOUT_MS: '0' }), ConfigError);
  });

  it('Node checks the deadlines at least every second, and at most 4 times per headers timeout', () => {
    const at = (headersTimeoutMs: number) =>
      httpTimeoutOptions({ headersTimeoutMs, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 }).http.connectionsCheckingInterval;
    assert.equal(at(10_000), 1000);
    assert.equal(at(500), 125);
    assert.equal(at(100), 50);
  });

  it('gives Node and Fastify the same request timeout', () => {
    const o = httpTimeoutOptions({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 3000, keepAliveTimeoutMs: 4000 });
    assert.deepEqual(
      { requestTimeout: o.requestTimeout, http: o.http.requestTimeout, headers: o.http.headersTimeout, idle: o.connectionTimeout, keepAlive: o.keepAliveTimeout },
      { requestTimeout: 2000, http: 2000, headers: 1000, idle: 3000, keepAlive: 4000 },
    );
  });
});
