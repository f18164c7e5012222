import assert from 'node:assert/strict';
import { test } from 'node:test';
import { egressRefusalLine, followEgressRefusals, MAX_NOTICES } from '../../src/executions/egress-notice.js';
import { ExecutionEvents, type EgressRefusal } from '../../src/executions/events.js';

const r = (o: Partial<EgressRefusal>): EgressRefusal => ({ method: 'CONNECT', host: 'api.example.com', port: 443, reason: 'no_matching_rule', status: 403, ...o });

test('each refusal reason gets a line that says what to do', () => {
  const cases: [Partial<EgressRefusal>, string][] = [
    [{}, '[cronium] egress refused api.example.com:443: no_matching_rule — allow it in Egress'],
    [{ reason: 'port_not_allowed', port: 8443 }, '[cronium] egress refused api.example.com:8443: port_not_allowed — a rule allows this host on other ports only: add port 8443 in Egress'],
    [{ reason: 'blocked_port', port: 25 }, '[cronium] egress refused api.example.com:25: blocked_port — port 25 is refused whatever the rules say (CRONIUM_EGRESS_BLOCKED_PORTS)'],
    [{ reason: 'ip_literal_not_allowed', host: '169.254.169.254', port: 80 }, '[cronium] egress refused 169.254.169.254:80: ip_literal_not_allowed — use the host name, or add a rule naming this address in Egress'],
    [{ reason: 'private', address: '10.0.0.5' }, '[cronium] egress refused api.example.com:443: private — it resolves to 10.0.0.5 (private), which sandboxes may not reach'],
    [{ reason: 'metadata', host: '169.254.169.254', address: '169.254.169.254', port: 80 }, '[cronium] egress refused 169.254.169.254:80: metadata — sandboxes may not reach metadata addresses'],
    [{ reason: 'loopback', host: '::1', address: '::1' }, '[cronium] egress refused [::1]:443: loopback — sandboxes may not reach loopback addresses'],
    [{ reason: 'dns_error', status: 502, error: 'ENOTFOUND' }, '[cronium] egress refused api.example.com:443: dns_error — the name did not resolve (ENOTFOUND)'],
    [{ reason: 'policy_unavailable', status: 503 }, '[cronium] egress refused api.example.com:443: policy_unavailable — the egress rules could not be read; try again'],
    [{ reason: 'unsupported_scheme', status: 400, host: 'ftp://x', port: 0 }, '[cronium] egress refused ftp://x: unsupported_scheme — the proxy takes http:// requests and CONNECT tunnels only'],
    [{ reason: 'global_rule_required', host: '127.0.0.1', port: 18999 }, "[cronium] egress refused 127.0.0.1:18999: global_rule_required — this private destination is opened for admins' global rules only, not for user or per-execution rules"],
    [{ reason: 'port_not_opened', host: '127.0.0.1', port: 22 }, '[cronium] egress refused 127.0.0.1:22: port_not_opened — the opening for this address (CRONIUM_EGRESS_ALLOW_CIDRS) does not name port 22'],
    [{ reason: 'cronium_server', host: '127.0.0.1', port: 8080 }, "[cronium] egress refused 127.0.0.1:8080: cronium_server — the Cronium server's own ports are never reachable from a sandbox"],
    [{ reason: 'execution_not_running', status: 407 }, '[cronium] egress refused api.example.com:443: execution_not_running — the execution this request belongs to has ended'],
    [{ reason: 'invalid_http', status: 400, host: '', port: 0 }, '[cronium] egress refused : invalid_http — the proxy takes http:// requests and CONNECT tunnels only'],
    [{ reason: 'something_new', status: 403 }, '[cronium] egress refused api.example.com:443: something_new'],
  ];
  for (const [input, line] of cases) assert.equal(egressRefusalLine(r(input)), line);
});

test('a destination is told once per reason, at most MAX_NOTICES of them, then where the rest are', () => {
  const events = new ExecutionEvents();
  const lines: string[] = [];
  const stop = followEgressRefusals(events, 'e1', (l) => lines.push(l));
  events.emitEgressRefused('e1', r({}));
  events.emitEgressRefused('e1', r({}));
  events.emitEgressRefused('e2', r({ host: 'other.example' }));
  assert.deepEqual(lines, ['[cronium] egress refused api.example.com:443: no_matching_rule — allow it in Egress']);
  for (let i = 0; i < MAX_NOTICES + 5; i++) events.emitEgressRefused('e1', r({ host: `h${i}.example` }));
  assert.equal(lines.length, MAX_NOTICES + 1);
  assert.match(lines.at(-1)!, /^\[cronium\] further egress refusals are not shown here; GET \/api\/v1\/executions\/e1\/egress lists every one$/);
  stop();
  events.emitEgressRefused('e1', r({ host: 'late.example' }));
  assert.equal(lines.length, MAX_NOTICES + 1, 'nothing after unsubscribing');
});
