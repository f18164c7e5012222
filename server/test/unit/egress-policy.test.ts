import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  DEFAULT_BLOCKED_PORTS,
  matches,
  normalizeHost,
  validatePattern,
  validatePorts,
  type Rule,
} from '../../src/egress/policy.js';

const rule = (id: string, pattern: string, ports: number[] | null = null, scope: Rule['scope'] = 'global'): Rule => ({
  id,
  pattern,
  ports,
  scope,
});

describe('normalizeHost', () => {
  const ok: Array<[string, string]> = [
    ['api.github.com', 'api.github.com'],
    ['API.GitHub.COM', 'api.github.com'],
    ['example.com.', 'example.com'], // one trailing dot stripped
    ['bücher.example', 'xn--bcher-kva.example'], // IDN to punycode
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['ｅｘａｍｐｌｅ.com', 'example.com'], // UTS #46 fullwidth mapping
    ['a\u3002example.com', 'a.example.com'], // ideographic full stop
    ['my_host.example.com', 'my_host.example.com'],
    ['localhost', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7f.1.', '127.0.0.1'],
    ['１２７.０.０.１', '127.0.0.1'], // fullwidth digits are still an IP literal
    ['[::1]', '::1'],
    ['[::FFFF:7f00:1]', '::ffff:127.0.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
  ];
  for (const [input, expected] of ok) {
    test(`${input} -> ${expected}`, () => {
      const r = normalizeHost(input);
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.host, expected);
    });
  }

  test('IP literals are reported as such', () => {
    const r = normalizeHost('017700000001');
    assert.ok(r.ok);
    assert.deepEqual(r.ip, { family: 4, address: '127.0.0.1' });
    const h = normalizeHost('example.com');
    assert.ok(h.ok);
    assert.equal(h.ip, null);
  });

  const bad = [
    '',
    '.',
    'example.com..', // only ONE trailing dot is stripped
    '.example.com',
    'a..b.com',
    'exa mple.com',
    'example.com/path',
    'user@example.com',
    'example.com:443',
    'a%41.com', // percent-encoding is not decoded into a host
    '*.example.com',
    '1.2.3.4.5',
    '256.0.0.1',
    '08.1.1.1',
    'example.123',
    'fe80::1%eth0',
    '[127.0.0.1]',
    'xn--zz.com', // invalid punycode
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(127)}com`, // > 253 characters
    'exa\u0000mple.com',
  ];
  for (const input of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      const r = normalizeHost(input);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'INVALID_HOST');
        assert.ok(r.error.message.length > 0);
      }
    });
  }
});

describe('validatePattern', () => {
  const ok: Array<[string, string, string]> = [
    ['api.github.com', 'api.github.com', 'host'],
    ['  API.GitHub.com.  ', 'api.github.com', 'host'],
    ['*.example.com', '*.example.com', 'wildcard'],
    ['*.EXAMPLE.com.', '*.example.com', 'wildcard'],
    ['*.co.uk', '*.co.uk', 'wildcard'],
    ['*.bücher.example', '*.xn--bcher-kva.example', 'wildcard'],
    ['1.2.3.4', '1.2.3.4', 'ip'],
    ['2130706433', '127.0.0.1', 'ip'], // stored canonical
    ['[2001:DB8::1]', '2001:db8::1', 'ip'],
  ];
  for (const [input, pattern, kind] of ok) {
    test(`${input} -> ${pattern} (${kind})`, () => {
      assert.deepEqual(validatePattern(input), { ok: true, pattern, kind });
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['*', /first label/],
    ['*example.com', /first label, like \*\.example\.com/],
    ['a.*.example.com', /first label/],
    ['*.*.example.com', /first label/],
    ['**.example.com', /first label/],
    ['api.*', /first label/],
    ['*.com', /at least two labels/],
    ['*.1.2.3.4', /IP address/],
    ['https://api.github.com', /not a URL/],
    ['api.github.com/repos', /paths/],
    ['10.0.0.0/8', /CIDR/],
    ['api.github.com:443', /ports list/],
    ['[::1]:443', /ports list/],
    ['user@example.com', /credentials/],
    ['1.2.3.4.5', /not a valid one/],
    ['exa mple.com', /not allowed/],
  ];
  for (const [input, message] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      const r = validatePattern(input);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'INVALID_PATTERN');
        assert.match(r.error.message, message);
      }
    });
  }
});

describe('validatePorts', () => {
  test('null is the default, lists are de-duplicated and sorted', () => {
    assert.deepEqual(validatePorts(null), { ok: true, ports: null });
    assert.deepEqual(validatePorts([443, 80, 443]), { ok: true, ports: [80, 443] });
  });
  test('rejects empty lists and non-ports', () => {
    for (const bad of [[], [0], [65536], [1.5], [-1], [Number.NaN]]) {
      const r = validatePorts(bad);
      assert.equal(r.ok, false, JSON.stringify(bad));
    }
  });
});

describe('matches', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'A.Example.COM.', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*.example.com', 'a.badexample.com', false],
    ['*.example.com', 'example.com.evil.com', false],
    ['*.example.com', 'a.example.com.evil', false],
    ['api.github.com', 'api.github.com', true],
    ['api.github.com', 'API.GITHUB.COM.', true],
    ['api.github.com', 'x.api.github.com', false],
    ['api.github.com', 'github.com', false],
    ['api.github.com', 'api.github.com..', false],
    ['bücher.example', 'xn--bcher-kva.example', true],
    ['xn--bcher-kva.example', 'bücher.example', true],
    ['*.bücher.example', 'shop.xn--bcher-kva.example', true],
    ['127.0.0.1', '2130706433', true], // canonical compare
    ['127.0.0.1', '0x7f.1', true],
    ['127.0.0.1', '017700000001', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['127.0.0.1', '::ffff:127.0.0.1', false], // exact address only
    ['::1', '[0:0:0:0:0:0:0:1]', true],
    ['api.github.com', '1.2.3.4', false],
    ['*.example.com', '1.2.3.4', false],
    ['invalid pattern', 'invalid pattern', false],
    ['example.com', '', false],
  ];
  for (const [pattern, host, expected] of cases) {
    test(`${pattern} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(host)}`, () => {
      assert.equal(matches(pattern, host), expected);
    });
  }
});

describe('decide', () => {
  const rules = [
    rule('r-github', 'api.github.com'),
    rule('r-wild', '*.example.com', [443, 8443]),
    rule('r-ip', '1.2.3.4', [443]),
    rule('r-smtp', 'smtp.example.org', [25, 587, 2525]),
    rule('r-loop', '127.0.0.1', [8080]),
    rule('r-bad', '*bad*.com'),
    rule('r-user', 'private.example.net', null, { userId: 'u1' }),
  ];

  test('deny by default', () => {
    assert.deepEqual(decide({ host: 'evil.com', port: 443, rules }), {
      allowed: false,
      reason: 'no_matching_rule',
      host: 'evil.com',
    });
    assert.equal(decide({ host: 'api.github.com', port: 443, rules: [] }).reason, 'no_matching_rule');
  });

  test('allows a matching host on the default ports 80 and 443 only', () => {
    assert.deepEqual(decide({ host: 'api.github.com', port: 443, rules }), {
      allowed: true,
      reason: 'allowed',
      ruleId: 'r-github',
      host: 'api.github.com',
    });
    assert.equal(decide({ host: 'API.github.com.', port: 80, rules }).allowed, true);
    assert.deepEqual(decide({ host: 'api.github.com', port: 8080, rules }), {
      allowed: false,
      reason: 'port_not_allowed',
      host: 'api.github.com',
    });
  });

  test('explicit ports replace the defaults', () => {
    assert.equal(decide({ host: 'a.example.com', port: 8443, rules }).ruleId, 'r-wild');
    assert.equal(decide({ host: 'a.example.com', port: 80, rules }).reason, 'port_not_allowed');
    assert.equal(decide({ host: 'example.com', port: 443, rules }).reason, 'no_matching_rule');
  });

  test('blocked ports are refused whatever the rules say', () => {
    assert.deepEqual([...DEFAULT_BLOCKED_PORTS], [25, 465, 587]);
    assert.equal(decide({ host: 'smtp.example.org', port: 25, rules }).reason, 'blocked_port');
    assert.equal(decide({ host: 'smtp.example.org', port: 587, rules }).reason, 'blocked_port');
    assert.equal(decide({ host: 'smtp.example.org', port: 2525, rules }).allowed, true);
    assert.equal(decide({ host: 'smtp.example.org', port: 2525, rules, blockedPorts: [2525] }).reason, 'blocked_port');
    assert.equal(decide({ host: 'smtp.example.org', port: 25, rules, blockedPorts: [] }).allowed, true);
  });

  test('IP literals need a rule naming exactly that address', () => {
    assert.deepEqual(decide({ host: '8.8.8.8', port: 443, rules }), {
      allowed: false,
      reason: 'ip_literal_not_allowed',
      host: '8.8.8.8',
    });
    assert.equal(decide({ host: '1.2.3.4', port: 443, rules }).ruleId, 'r-ip');
    assert.equal(decide({ host: '0x01020304', port: 443, rules }).ruleId, 'r-ip');
    assert.equal(decide({ host: '16909060', port: 443, rules }).ruleId, 'r-ip');
    assert.equal(decide({ host: '1.2.3.4', port: 80, rules }).reason, 'port_not_allowed');
    assert.equal(decide({ host: '2130706433', port: 8080, rules }).ruleId, 'r-loop');
    assert.equal(decide({ host: '2130706433', port: 443, rules: [rule('x', 'api.github.com')] }).reason, 'ip_literal_not_allowed');
    assert.equal(decide({ host: '[::ffff:1.2.3.4]', port: 443, rules }).reason, 'ip_literal_not_allowed');
  });

  test('invalid hosts and ports', () => {
    for (const host of ['1.2.3.4.5', '256.0.0.1', '', 'a b', 'fe80::1%eth0', '*.example.com']) {
      assert.deepEqual(decide({ host, port: 443, rules }), { allowed: false, reason: 'invalid_host' }, host);
    }
    for (const port of [0, 65536, 1.5, Number.NaN]) {
      assert.equal(decide({ host: 'api.github.com', port, rules }).reason, 'invalid_port', String(port));
    }
  });

  test('invalid rule patterns are ignored', () => {
    assert.equal(decide({ host: 'xbadx.com', port: 443, rules }).reason, 'no_matching_rule');
  });

  test('exact rules win over wildcards for the ruleId; any matching rule may grant the port', () => {
    const rs = [rule('wild', '*.github.com', [443, 9000]), rule('exact', 'api.github.com', [443])];
    assert.equal(decide({ host: 'api.github.com', port: 443, rules: rs }).ruleId, 'exact');
    assert.equal(decide({ host: 'api.github.com', port: 9000, rules: rs }).ruleId, 'wild');
  });

  test('user-scoped rules only apply to their user when userId is given', () => {
    assert.equal(decide({ host: 'private.example.net', port: 443, rules, userId: 'u1' }).ruleId, 'r-user');
    assert.equal(decide({ host: 'private.example.net', port: 443, rules, userId: 'u2' }).reason, 'no_matching_rule');
    assert.equal(decide({ host: 'api.github.com', port: 443, rules, userId: 'u2' }).allowed, true);
  });

  test('IDN hosts are decided on their ASCII form', () => {
    const rs = [rule('idn', 'xn--bcher-kva.example')];
    assert.equal(decide({ host: 'bücher.example', port: 443, rules: rs }).ruleId, 'idn');
    assert.equal(decide({ host: 'bucher.example', port: 443, rules: rs }).allowed, false);
  });
});
