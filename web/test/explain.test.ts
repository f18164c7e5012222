import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { egressReasonText, explain, missingModule, queueNote, ruleLink } from '../app/lib/explain';
import type { EgressLogEntry, LogEntry } from '../app/lib/types';

type Ex = Parameters<typeof explain>[0];
const base: Ex = { status: 'failed', error: 'exited with code 1', exitCode: 1, limits: { timeoutMs: 30_000, memoryMb: 256, cpus: 1, pids: 256 }, usage: null };
const line = (text: string, stream: LogEntry['stream'] = 'stderr'): LogEntry => ({ seq: 0, ts: '', stream, text });
const denied = (host: string, port: number, reason: string, address: string | null = null): EgressLogEntry => ({
  ts: '',
  executionId: 'x',
  userId: 'u',
  method: 'CONNECT',
  host,
  port,
  allowed: false,
  reason,
  ruleId: null,
  address,
});
const kinds = (xs: ReturnType<typeof explain>) => xs.map((x) => `${x.kind}:${x.tone}`);

describe('missingModule', () => {
  const cases: [string, string | null][] = [
    ["ModuleNotFoundError: No module named 'requests'", 'requests'],
    ["ModuleNotFoundError: No module named 'google.cloud'", 'google'],
    ["Error: Cannot find module 'lodash'", 'lodash'],
    ["Error: Cannot find module 'lodash/fp'", 'lodash'],
    ["Error [ERR_MODULE_NOT_FOUND]: Cannot find package '@aws-sdk/client-s3' imported from /work/main.mjs", '@aws-sdk/client-s3'],
    ["Error: Cannot find module './helpers'", null],
    ["Error: Cannot find module '/work/x.js'", null],
    ['Traceback (most recent call last):', null],
  ];
  for (const [text, name] of cases) it(text, () => assert.equal(missingModule(text), name));
});

describe('explain', () => {
  it('a time-out says its limit in words', () => {
    const [x] = explain({ ...base, status: 'timed_out', error: 'timed out after 30000 ms' }, [], []);
    assert.equal(x!.kind, 'timeout');
    assert.match(x!.title, /time-out of 30\.0 s/);
  });
  it('an OOM kill says the memory limit and the peak', () => {
    const [x] = explain({ ...base, status: 'oom_killed', usage: { memoryPeakBytes: 268_000_000 } }, [], []);
    assert.equal(x!.kind, 'oom');
    assert.match(x!.title, /256 MiB/);
    assert.match(x!.detail!, /peak 256 MiB/);
  });
  it('a cancel is information, not an error', () => {
    assert.deepEqual(kinds(explain({ ...base, status: 'cancelled', error: 'cancelled while running', exitCode: null }, [], [])), ['cancelled:info']);
    assert.match(explain({ ...base, status: 'cancelled', error: 'cancelled before it started' }, [], [])[0]!.title, /before it started/);
  });
  it('a missing package, once per package, only when the run failed', () => {
    const logs = [line("ModuleNotFoundError: No module named 'requests'"), line("ModuleNotFoundError: No module named 'requests'")];
    const xs = explain(base, logs, []);
    assert.deepEqual(kinds(xs), ['module:error']);
    assert.match(xs[0]!.title, /“requests” is not installed in the runtime image/);
    assert.deepEqual(explain({ ...base, status: 'succeeded', exitCode: 0, error: null }, logs, []), []);
    assert.deepEqual(kinds(explain(base, [line("ModuleNotFoundError: No module named 'x'", 'stdout')], [])), ['exit:error'], 'stdout is the script’s own');
  });
  it('a refused request names the host and links to a pre-filled rule when a rule would help', () => {
    const xs = explain(base, [], [denied('api.example.com', 443, 'no_matching_rule'), denied('api.example.com', 443, 'no_matching_rule'), denied('db.example.com', 5432, 'port_not_allowed')]);
    assert.deepEqual(kinds(xs), ['egress:error', 'egress:error']);
    assert.equal(xs[0]!.title, 'Blocked: api.example.com:443 — no rule allows it.');
    assert.deepEqual(xs[0]!.action, { label: 'Allow api.example.com', to: '/egress?pattern=api.example.com#add-rule' });
    assert.deepEqual(xs[1]!.action, { label: 'Allow db.example.com on port 5432', to: '/egress?pattern=db.example.com&ports=5432#add-rule' });
  });
  it('no link where a rule cannot help (private addresses, blocked ports)', () => {
    const xs = explain(base, [], [denied('intranet.example.com', 443, 'private', '10.0.0.5'), denied('smtp.example.com', 25, 'blocked_port')]);
    assert.equal(xs[0]!.title, 'Blocked: intranet.example.com:443 — it resolves to a private address (10.0.0.5), which sandboxes may not reach.');
    assert.equal(xs[0]!.action, undefined);
    assert.equal(xs[1]!.title, 'Blocked: smtp.example.com:25 — port 25 is refused whatever the rules say.');
    assert.equal(xs[1]!.action, undefined);
  });
  it('reads the runner’s system line for a refusal too, and warns (not fails) when the run succeeded', () => {
    const logs = [line('[cronium] egress refused api.example.com:443: no_matching_rule — allow it in Egress', 'system'), line('[cronium] egress refused [2001:db8::1]:8443: ip_literal_not_allowed — x', 'system')];
    const xs = explain({ ...base, status: 'succeeded', exitCode: 0, error: null }, logs, [denied('api.example.com', 443, 'no_matching_rule')]);
    assert.deepEqual(kinds(xs), ['egress:warning', 'egress:warning']);
    assert.equal(xs[1]!.action!.to, '/egress?pattern=2001%3Adb8%3A%3A1&ports=8443#add-rule');
  });
  it('a plain failure says its exit code; an error says its message', () => {
    assert.deepEqual(kinds(explain(base, [], [])), ['exit:error']);
    assert.match(explain(base, [], [])[0]!.title, /exited with code 1/);
    assert.equal(explain({ ...base, status: 'error', error: 'the server shut down while this execution was running' }, [], [])[0]!.title, 'The server shut down while this execution was running.');
  });
  it('reason words', () => {
    assert.equal(egressReasonText('ip_literal_not_allowed'), 'a request to an IP address needs a rule naming that address');
    assert.equal(egressReasonText('something_new'), 'something new');
    assert.equal(egressReasonText('port_not_opened', 5432), 'the administrator’s opening for this address does not include port 5432');
    assert.equal(egressReasonText('cronium_server'), 'the Cronium server’s own ports are never reachable from a sandbox');
    assert.equal(ruleLink('[::1]', 80), '/egress?pattern=%3A%3A1#add-rule');
  });
});

describe('queueNote', () => {
  it('names the limit reached when the settings are known', () => {
    const limits = { maxConcurrency: 4, maxConcurrencyPerUser: 2 };
    assert.match(queueNote({ running: 2, queued: 3, userRunning: 2, limits, everyone: true }), /its user already has 2 running, the most one user may run at once \(2\); 3 waiting in all/);
    assert.match(queueNote({ running: 4, queued: 1, userRunning: 1, limits, everyone: true }), /the server runs at most 4 at once, and 4 are running/);
    assert.match(queueNote({ running: 1, queued: 1, userRunning: 0, limits, everyone: true }), /Waiting to be picked up: 1 of 4 slots/);
  });
  it('says what a user may know without the settings', () => {
    assert.equal(
      queueNote({ running: 1, queued: 2, userRunning: 1, everyone: false }),
      'Waiting for a free slot: 1 of your executions is running and you have 2 waiting; an administrator sets how many may run at once.',
    );
  });
});
