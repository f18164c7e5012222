import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains,
  classifyAddress,
  embeddedIPv4,
  looksNumeric,
  parseCidr,
  parseIpLiteral,
} from '../../src/egress/ip.js';

describe('parseIpLiteral: IPv4 in every inet_aton notation', () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'], // decimal
    ['017700000001', '127.0.0.1'], // octal, one part
    ['0177.0.0.1', '127.0.0.1'], // octal first part
    ['0177.0000.0000.0001', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'], // hex + short form
    ['0x7f000001', '127.0.0.1'],
    ['0X7F.0.0.1', '127.0.0.1'],
    ['0x7f.0x0.0x0.0x1', '127.0.0.1'],
    ['127.1', '127.0.0.1'], // a.b: b fills 3 bytes
    ['10.1.2', '10.1.0.2'], // a.b.c: c fills 2 bytes
    ['10.0.258', '10.0.1.2'],
    ['0xa9.0376.43518', '169.254.169.254'], // mixed hex, octal, decimal 16-bit
    ['0xa9fea9fe', '169.254.169.254'],
    ['2852039166', '169.254.169.254'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'], // empty hex is 0 for glibc and WHATWG
    ['0x00000000007f.1', '127.0.0.1'], // leading zeros in hex are fine
    ['4294967295', '255.255.255.255'],
    ['1.2.3.4.', '1.2.3.4'], // one trailing dot tolerated
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => {
      assert.deepEqual(parseIpLiteral(input), { family: 4, address: expected });
    });
  }
});

describe('parseIpLiteral: IPv6', () => {
  const cases: Array<[string, string]> = [
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first longest zero run
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // longest run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['fe80::1', 'fe80::1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'], // IPv4-mapped
    ['::ffff:7f00:1', '::ffff:127.0.0.1'], // IPv4-mapped, hex form
    ['[::ffff:169.254.169.254]', '::ffff:169.254.169.254'],
    ['::127.0.0.1', '::7f00:1'], // IPv4-compatible
    ['64:ff9b::a9fe:a9fe', '64:ff9b::a9fe:a9fe'], // NAT64
    ['64:ff9b::169.254.169.254', '64:ff9b::a9fe:a9fe'],
    ['2002:a9fe:a9fe::', '2002:a9fe:a9fe::'], // 6to4
    ['[2606:4700:4700::1111]', '2606:4700:4700::1111'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => {
      assert.deepEqual(parseIpLiteral(input), { family: 6, address: expected });
    });
  }
});

describe('parseIpLiteral: not IP literals', () => {
  const invalid = [
    '1.2.3.4.5', // too many parts
    '256.0.0.1', // byte overflow
    '1.2.3.256',
    '1.2.65536', // 16-bit overflow in a.b.c
    '1.16777216', // 24-bit overflow in a.b
    '4294967296', // 32-bit overflow
    '08.0.0.1', // invalid octal
    '0x7g.1',
    '1..2.3',
    '.1.2.3',
    ' 127.0.0.1',
    '-1.0.0.0',
    '[127.0.0.1]', // brackets only for IPv6
    'fe80::1%eth0', // zone id
    '[fe80::1%25eth0]',
    ':::1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    '::ffff:127.0.0.01', // leading zero in embedded dotted quad
    '::ffff:1.2.3',
    '1.2.3.4::', // dotted quad must come last
    '[::1',
    '::1]',
    'example.com',
    'localhost',
    'g::1',
    '',
  ];
  for (const input of invalid) {
    test(JSON.stringify(input), () => assert.equal(parseIpLiteral(input), null));
  }
});

describe('looksNumeric', () => {
  const yes = ['1.2.3.4.5', '256.0.0.1', '08.0.0.1', 'example.123', 'foo.0x1f', 'foo.0x', '1.2.3.4.', '::1', 'fe80::1%eth0', '[x]', '2130706433'];
  const no = ['example.com', '1e100.net', '123.example.com', 'localhost', 'xn--bcher-kva.example', '0xg.com', 'a.b.c1'];
  for (const h of yes) test(`${h} looks numeric`, () => assert.equal(looksNumeric(h), true));
  for (const h of no) test(`${h} does not look numeric`, () => assert.equal(looksNumeric(h), false));
});

describe('classifyAddress: refused ranges', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['192.0.0.192', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001::1', 'reserved'], // Teredo
    ['64:ff9b:1::a9fe:a9fe', 'reserved'], // local-use NAT64
    ['4000::1', 'reserved'], // outside global unicast 2000::/3
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    // IPv6 forms embedding a refused IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['[::ffff:169.254.169.254]', 'metadata'],
    ['::ffff:10.1.2.3', 'private'],
    ['::7f00:1', 'loopback'], // IPv4-compatible
    ['::a9fe:a9fe', 'metadata'],
    ['::ffff:0:a00:1', 'private'], // SIIT IPv4-translated
    ['64:ff9b::a9fe:a9fe', 'metadata'], // NAT64
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::c0a8:101', 'private'],
    ['2002:a9fe:a9fe::', 'metadata'], // 6to4
    ['2002:7f00:1::1', 'loopback'],
    ['2002:0a00:0001:1::1', 'private'],
    // numeric notations reach the same verdicts
    ['2130706433', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0xa9fea9fe', 'metadata'],
    // not an address at all
    ['example.com', 'invalid_address'],
    ['1.2.3.4.5', 'invalid_address'],
    ['fe80::1%eth0', 'invalid_address'],
  ];
  for (const [address, reason] of refused) {
    test(`${address} refused (${reason})`, () => {
      assert.deepEqual(classifyAddress(address, [], []), { allowed: false, reason });
    });
  }
});

describe('classifyAddress: allowed public addresses', () => {
  const allowed = [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1', // just outside 172.16/12
    '100.128.0.1', // just outside 100.64/10
    '198.20.0.1', // just outside 198.18/15
    '169.255.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8', // IPv4-mapped public
    '64:ff9b::808:808', // NAT64 of a public address
    '2002:808:808::1', // 6to4 of a public address
  ];
  for (const address of allowed) {
    test(`${address} allowed`, () => assert.deepEqual(classifyAddress(address, [], []), { allowed: true }));
  }

  test('deprecated IPv4-compatible form is refused even for a public address', () => {
    assert.deepEqual(classifyAddress('::8.8.8.8', [], []), { allowed: false, reason: 'reserved' });
  });
});

describe('classifyAddress: extra denied and allowed CIDRs', () => {
  test('extraDenied refuses public addresses with denied_cidr', () => {
    assert.deepEqual(classifyAddress('8.8.8.8', ['8.8.8.0/24'], []), { allowed: false, reason: 'denied_cidr' });
    assert.deepEqual(classifyAddress('8.8.4.4', ['8.8.8.0/24'], []), { allowed: true });
    assert.deepEqual(classifyAddress('2606:4700::1', ['2606:4700::/32'], []), { allowed: false, reason: 'denied_cidr' });
  });

  test('extraDenied applies to IPv4 embedded in NAT64 / 6to4 / mapped forms', () => {
    assert.deepEqual(classifyAddress('64:ff9b::808:808', ['8.8.8.8/32'], []), { allowed: false, reason: 'denied_cidr' });
    assert.deepEqual(classifyAddress('2002:808:808::1', ['8.8.8.8/32'], []), { allowed: false, reason: 'denied_cidr' });
    assert.deepEqual(classifyAddress('::ffff:8.8.8.8', ['8.8.8.8/32'], []), { allowed: false, reason: 'denied_cidr' });
  });

  test('allowCidrs opens refused ranges, and nothing outside them', () => {
    assert.deepEqual(classifyAddress('127.0.0.1', [], ['127.0.0.1/32']), { allowed: true });
    assert.deepEqual(classifyAddress('127.0.0.2', [], ['127.0.0.1/32']), { allowed: false, reason: 'loopback' });
    assert.deepEqual(classifyAddress('169.254.169.254', [], ['169.254.169.254/32']), { allowed: true });
    assert.deepEqual(classifyAddress('10.20.30.40', ['10.0.0.0/8'], ['10.20.0.0/16']), { allowed: true });
    assert.deepEqual(classifyAddress('fd00::5', [], ['fd00::/64']), { allowed: true });
  });

  test('allowCidrs covers the IPv4-mapped form of the same endpoint but not NAT64/6to4', () => {
    assert.deepEqual(classifyAddress('::ffff:127.0.0.1', [], ['127.0.0.1/32']), { allowed: true });
    assert.deepEqual(classifyAddress('64:ff9b::7f00:1', [], ['127.0.0.1/32']), { allowed: false, reason: 'loopback' });
    assert.deepEqual(classifyAddress('2002:7f00:1::', [], ['127.0.0.1/32']), { allowed: false, reason: 'loopback' });
  });

  test('invalid configured CIDRs throw', () => {
    assert.throws(() => classifyAddress('8.8.8.8', ['nope'], []), TypeError);
    assert.throws(() => classifyAddress('8.8.8.8', [], ['10.0.0.0/33']), TypeError);
  });
});

describe('CIDR helpers', () => {
  test('parseCidr normalises and validates', () => {
    assert.deepEqual(parseCidr('10.1.2.3/8'), { family: 4, network: 0x0a000000n, prefix: 8 });
    assert.deepEqual(parseCidr('192.168.1.1'), { family: 4, network: 0xc0a80101n, prefix: 32 });
    assert.deepEqual(parseCidr('::/0'), { family: 6, network: 0n, prefix: 0 });
    assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { family: 4, network: 0x0a000000n, prefix: 8 });
    for (const bad of ['', '10.0.0.0/', '10.0.0.0/33', '::/129', '10.0.0.0/-1', 'a/8', '10.0.0.0/8/8', '10.0.0.0/ 8']) {
      assert.equal(parseCidr(bad), null, bad);
    }
  });

  test('cidrContains handles boundaries and families', () => {
    assert.equal(cidrContains('172.16.0.0/12', '172.31.255.255'), true);
    assert.equal(cidrContains('172.16.0.0/12', '172.32.0.0'), false);
    assert.equal(cidrContains('0.0.0.0/0', '1.2.3.4'), true);
    assert.equal(cidrContains('0.0.0.0/0', '::1'), false);
    assert.equal(cidrContains('fe80::/10', 'febf::1'), true);
    assert.equal(cidrContains('fe80::/10', 'fec0::1'), false);
    assert.equal(cidrContains('10.0.0.0/8', '::ffff:10.9.9.9'), true);
  });

  test('embeddedIPv4 extracts the IPv4 address of each embedding form', () => {
    assert.equal(embeddedIPv4('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(embeddedIPv4('64:ff9b::a9fe:a9fe'), '169.254.169.254');
    assert.equal(embeddedIPv4('2002:a9fe:a9fe::'), '169.254.169.254');
    assert.equal(embeddedIPv4('::a9fe:a9fe'), '169.254.169.254');
    assert.equal(embeddedIPv4('2606:4700::1'), null);
    assert.equal(embeddedIPv4('8.8.8.8'), null);
  });
});
