import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type AddressCheckInput,
  checkAddress,
  decide,
  DEFAULT_BLOCKED_PORTS,
  isThisMachine,
  matches,
  MAX_PATTERN_LENGTH,
  normalizeHost,
  parseOpening,
  parseOpenings,
  ruleKey,
  validatePattern,
  validatePorts,
  type Rule,
} from '../../src/egress/policy.js';
import { parseAllowEntry } from '../../src/egress/allow-entry.js';

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
    ['10.0.0.0/8', '10.0.0.0/8', 'cidr'],
    ['203.0.113.77/24', '203.0.113.0/24', 'cidr'], // stored as its network
    ['1.2.3.4/32', '1.2.3.4', 'ip'], // a full-length prefix is the address
    ['2001:DB8::/32', '2001:db8::/32', 'cidr'],
    ['[2001:db8::]/48', '2001:db8::/48', 'cidr'],
    ['[2001:db8::/48]', '2001:db8::/48', 'cidr'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8', 'cidr'], // the IPv4-mapped range is the IPv4 range
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
    ['10.0.0.0/7', /at most a \/8/],
    ['0.0.0.0/0', /at most a \/8/],
    ['2000::/3', /at most a \/32/],
    ['10.0.0.0/33', /not a valid CIDR range/],
    ['10.0.0.0/', /not a valid CIDR range/],
    ['10.0.0.0/8:443', /ports list/],
    ['[2001:db8::]/48:443', /ports list/],
    ['example.com/24', /paths/],
    ['x'.repeat(10_000), /too long: at most 300 characters/],
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
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '0xa.1', true], // any notation of an address inside
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.0.0.1', false], // same family only, like IP patterns
    ['10.0.0.0/8', 'ten.example.com', false], // never a host name, whatever it resolves to
    ['2001:db8::/32', '[2001:db8:1::5]', true],
    ['2001:db8::/32', '2001:db9::5', false],
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
      globalRuleId: 'r-github',
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

  test('CIDR rules cover IP literals in their range; exact IP rules win for the ruleId', () => {
    const rs = [rule('net', '203.0.113.0/24', [443]), rule('one', '203.0.113.9', [443])];
    assert.equal(decide({ host: '203.0.113.200', port: 443, rules: rs }).ruleId, 'net');
    assert.equal(decide({ host: '3405803977', port: 443, rules: rs }).ruleId, 'net'); // 203.0.113.201
    assert.equal(decide({ host: '203.0.113.9', port: 443, rules: rs }).ruleId, 'one');
    assert.equal(decide({ host: '203.0.114.1', port: 443, rules: rs }).reason, 'ip_literal_not_allowed');
    assert.equal(decide({ host: '203.0.113.1', port: 80, rules: rs }).reason, 'port_not_allowed');
  });

  test('globalRuleId names a global rule that grants the destination, whichever rule is credited', () => {
    const rs = [rule('mine', 'db.internal', [5432], { userId: 'u1' }), rule('admin', 'db.internal', [5432, 5433])];
    assert.deepEqual(decide({ host: 'db.internal', port: 5432, rules: rs, userId: 'u1' }), {
      allowed: true, reason: 'allowed', ruleId: 'mine', host: 'db.internal', globalRuleId: 'admin',
    });
    assert.equal(decide({ host: 'db.internal', port: 5432, rules: [rs[0]!], userId: 'u1' }).globalRuleId, undefined);
    // A global rule that does not list the port does not count.
    const other = [rs[0]!, rule('admin-443', 'db.internal', [443])];
    assert.equal(decide({ host: 'db.internal', port: 5432, rules: other, userId: 'u1' }).globalRuleId, undefined);
  });

  test('IDN hosts are decided on their ASCII form', () => {
    const rs = [rule('idn', 'xn--bcher-kva.example')];
    assert.equal(decide({ host: 'bücher.example', port: 443, rules: rs }).ruleId, 'idn');
    assert.equal(decide({ host: 'bucher.example', port: 443, rules: rs }).allowed, false);
  });
});

describe('parseOpening (CRONIUM_EGRESS_ALLOW_CIDRS)', () => {
  const ok: Array<[string, number, number, number]> = [
    // entry, from, to, prefix
    ['127.0.0.1/32:18999', 18999, 18999, 32],
    [' 10.0.0.0/8:5432-5433 ', 5432, 5433, 8],
    ['192.168.1.10:8080', 8080, 8080, 32], // a bare address is a host route
    ['[fd00::/8]:443', 443, 443, 8],
    ['[fd00::1]:1-65535', 1, 65535, 128],
  ];
  for (const [entry, from, to, prefix] of ok) {
    test(`${entry.trim()} opens ${from}-${to}`, () => {
      const r = parseOpening(entry);
      assert.ok(r.ok, JSON.stringify(r.ok ? '' : r.message));
      assert.deepEqual([r.opening.from, r.opening.to, r.opening.cidr.prefix, r.opening.text], [from, to, prefix, entry.trim()]);
    });
  }
  const bad: Array<[string, RegExp]> = [
    ['127.0.0.1/32', /"127\.0\.0\.1\/32" names no port: an opening opens the ports it names, like 127\.0\.0\.1\/32:5432/],
    ['127.0.0.1/32:', /names no port/],
    ['[fd00::/8]', /names no port/],
    ['fd00::/8:443', /IPv6 range in brackets, like \[fd00::\/8\]:443/],
    ['localhost:8080', /not an opening: a CIDR range and its ports/],
    ['10.0.0.0/33:80', /not an opening/],
    ['10.0.0.1:0', /invalid ports/],
    ['10.0.0.1:65536', /invalid ports/],
    ['10.0.0.1:90-80', /invalid ports/],
    ['10.0.0.1:80,443', /invalid ports/],
    ['10.0.0.1:http', /invalid ports/],
  ];
  for (const [entry, message] of bad) {
    test(`refuses ${JSON.stringify(entry)}`, () => {
      const r = parseOpening(entry);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.message, message);
    });
  }
  test('parseOpenings names every bad entry', () => {
    const r = parseOpenings(['127.0.0.1/32:1', '10.0.0.0/8', 'x']);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.problems.length, 2);
    assert.equal(parseOpenings([]).ok, true);
  });
});

describe('checkAddress: openings, global rules, the server\'s own ports', () => {
  const opening = (text: string) => {
    const r = parseOpening(text);
    assert.ok(r.ok, text);
    return r.opening;
  };
  const openings = [opening('127.0.0.1/32:18999'), opening('10.0.0.0/8:5432-5433'), opening('169.254.169.254/32:80'), opening('[fd00::/8]:443')];
  const base: Omit<AddressCheckInput, 'address' | 'port' | 'globalRule'> = {
    openings,
    deniedCidrs: ['10.213.77.0/24'], // the sandbox network
    serverPorts: [8080, 8081, 8082, 3000],
    localAddresses: ['10.213.77.1', '192.168.5.20', '8.8.8.8'],
  };
  const cases: Array<[string, string, number, boolean, ReturnType<typeof checkAddress>, Partial<AddressCheckInput>?]> = [
    // name, address, port, a global rule allows it, verdict, overrides
    ['public address, any rule', '93.184.216.34', 443, false, { allowed: true, opened: false }],
    ['opened address and port, global rule', '127.0.0.1', 18999, true, { allowed: true, opened: true }],
    ['opened address and port, user or execution rule', '127.0.0.1', 18999, false, { allowed: false, reason: 'global_rule_required' }],
    ['opened address, another port', '127.0.0.1', 18998, true, { allowed: false, reason: 'port_not_opened' }],
    ['opened address, the dashboard port', '127.0.0.1', 3000, true, { allowed: false, reason: 'cronium_server' }],
    ['another loopback address', '127.0.0.2', 18999, true, { allowed: false, reason: 'loopback' }],
    ['IPv4-mapped form of the opened address', '::ffff:127.0.0.1', 18999, true, { allowed: true, opened: true }],
    ['NAT64 form of the opened address is another endpoint', '64:ff9b::7f00:1', 18999, true, { allowed: false, reason: 'loopback' }],
    ['opened port range', '10.20.30.40', 5433, true, { allowed: true, opened: true }],
    ['past the opened range', '10.20.30.40', 5434, true, { allowed: false, reason: 'port_not_opened' }],
    ['the sandbox network is never opened', '10.213.77.9', 5432, true, { allowed: false, reason: 'private' }],
    ['the gateway: runtime API port', '10.213.77.1', 8081, true, { allowed: false, reason: 'cronium_server' }],
    ['metadata opened explicitly', '169.254.169.254', 80, true, { allowed: true, opened: true }],
    ['metadata, another port', '169.254.169.254', 81, true, { allowed: false, reason: 'port_not_opened' }],
    ['IPv6 opening', 'fd00::5', 443, true, { allowed: true, opened: true }],
    ['IPv6 opening, user rule', 'fd00::5', 443, false, { allowed: false, reason: 'global_rule_required' }],
    ['not an address', 'example.com', 443, true, { allowed: false, reason: 'invalid_address' }],
    // The server's own ports, whatever the openings say.
    ['public API on loopback, opening of every port', '127.0.0.1', 8080, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('0.0.0.0/0:1-65535')] }],
    ['public API on 127.0.0.53', '127.0.0.53', 8080, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('127.0.0.0/8:1-65535')] }],
    ['0.0.0.0 reaches this machine', '0.0.0.0', 8080, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('0.0.0.0/0:1-65535')] }],
    ['::1', '::1', 8082, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('[::1]:1-65535')] }],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1', 8080, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('127.0.0.0/8:1-65535')] }],
    ['a LAN address of this machine', '192.168.5.20', 8080, true, { allowed: false, reason: 'cronium_server' }, { openings: [opening('192.168.0.0/16:1-65535')] }],
    ['a public address of this machine', '8.8.8.8', 8080, true, { allowed: false, reason: 'cronium_server' }],
    ['a public address of this machine, another port', '8.8.8.8', 8443, true, { allowed: true, opened: false }],
    ['the same port on another machine', '93.184.216.34', 8080, false, { allowed: true, opened: false }],
  ];
  for (const [name, address, port, globalRule, verdict, overrides] of cases) {
    test(`${name}: ${address}:${port} -> ${verdict.allowed ? 'allowed' : verdict.reason}`, () => {
      assert.deepEqual(checkAddress({ ...base, address, port, globalRule, ...overrides }), verdict);
    });
  }
  test('without openings nothing private passes, global rule or not', () => {
    assert.deepEqual(checkAddress({ address: '127.0.0.1', port: 18999, globalRule: true }), { allowed: false, reason: 'loopback' });
    assert.deepEqual(checkAddress({ address: '10.1.1.1', port: 5432, globalRule: true }), { allowed: false, reason: 'private' });
  });
  test('isThisMachine: loopback, unspecified and the given addresses', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1', '192.168.5.20']) assert.ok(isThisMachine(a, ['192.168.5.20']), a);
    for (const a of ['192.168.5.21', '10.0.0.1', '8.8.8.8', 'fe80::1']) assert.ok(!isThisMachine(a, ['192.168.5.20']), a);
  });
});

describe('ruleKey: what makes two rules the same', () => {
  const k = (pattern: string, ports: number[] | null, scope: 'global' | 'user' = 'user', userId: string | null = 'u1') => ruleKey({ pattern, ports, scope, userId });
  test('same scope, owner, pattern and allowed ports', () => {
    assert.equal(k('api.github.com', [443, 80]), k('api.github.com', [80, 443, 443]));
    assert.equal(k('api.github.com', null), k('api.github.com', [80, 443]), 'no ports allow 80 and 443');
    assert.equal(k('x.com', [1], 'global', null), k('x.com', [1], 'global', 'ignored'));
  });
  test('different pattern, ports, scope or owner', () => {
    const keys = [k('api.github.com', null), k('api.github.com', [443]), k('*.github.com', null), k('api.github.com', null, 'user', 'u2'), k('api.github.com', null, 'global', null)];
    assert.equal(new Set(keys).size, keys.length);
  });
  test('the pattern limit is the one validatePattern applies', () => {
    assert.equal(validatePattern('a'.repeat(MAX_PATTERN_LENGTH + 1)).ok, false);
  });
});

describe('parseAllowEntry (an execution\'s egress.allow)', () => {
  const ok: Array<[string, string, number[] | null]> = [
    ['api.github.com', 'api.github.com', null],
    ['host.example:8443', 'host.example:8443', [8443]],
    ['203.0.113.0/24:443', '203.0.113.0/24:443', [443]],
    ['203.0.113.5/24', '203.0.113.0/24', null],
    ['[2001:db8::/32]:443', '[2001:db8::/32]:443', [443]],
    ['[2001:db8::1]:443', '[2001:db8::1]:443', [443]],
  ];
  for (const [entry, canonical, ports] of ok) {
    test(`${entry} -> ${canonical}`, () => {
      const r = parseAllowEntry(entry);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual([r.canonical, r.ports], [canonical, ports]);
      const again = parseAllowEntry(r.canonical); // what is stored is parsed again by the proxy
      assert.ok(again.ok && again.canonical === canonical && again.pattern === r.pattern, JSON.stringify(again));
    });
  }
  test('a 10,000-character entry is too long, and says so', () => {
    const r = parseAllowEntry(`${'a'.repeat(10_000)}.example`);
    assert.deepEqual(r, { ok: false, message: 'pattern is too long: at most 300 characters' });
  });
  test('a range wider than /8 and a port out of range are refused', () => {
    assert.match((parseAllowEntry('0.0.0.0/0:443') as { message: string }).message, /at most a \/8/);
    assert.match((parseAllowEntry('host.example:70000') as { message: string }).message, /not a port/);
  });
});
