import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeJob } from '../../src/sandbox/launcher/job-wire.js';

const tokens = { job: 'j1', end: 'e1', usage: 'u1' };

describe('job wire encoding (the launcher input)', () => {
  it('writes NUL-terminated header fields (the three mark tokens first), then the script length in bytes and the script', () => {
    const buf = encodeJob({ tokens, filename: 'main.py', argv: ['python3', '/work/main.py'], env: { A: '1', B: 'x=y' }, script: 'print("é")' });
    const script = Buffer.from('print("é")');
    assert.equal(script.length, 11, 'é is two bytes');
    const header = 'CRONIUM2\0j1\0e1\0u1\0main.py\x002\0python3\0/work/main.py\x002\0A=1\0B=x=y\x0011\0';
    assert.deepEqual(buf, Buffer.concat([Buffer.from(header), script]));
  });

  it('keeps newlines and any other byte but NUL in fields and script', () => {
    const buf = encodeJob({ tokens, filename: 'm.sh', argv: ['bash'], env: { V: 'a\nb' }, script: 'echo 1\r\n\n' });
    assert.ok(buf.includes(Buffer.from('V=a\nb\0')));
    assert.ok(buf.subarray(buf.length - 9).equals(Buffer.from('echo 1\r\n\n')));
  });

  it('refuses a NUL byte anywhere instead of sending a job the launcher would read differently', () => {
    assert.throws(() => encodeJob({ tokens, filename: 'm.sh', argv: ['bash'], env: {}, script: 'a\0b' }), /NUL/);
    assert.throws(() => encodeJob({ tokens, filename: 'm.sh', argv: ['bash'], env: { K: '\0' }, script: 'x' }), /NUL/);
    assert.throws(() => encodeJob({ tokens, filename: 'm.sh', argv: ['ba\0sh'], env: {}, script: 'x' }), /NUL/);
  });

  it('refuses a token the launcher would refuse (it must fit the marks)', () => {
    for (const bad of ['', 'a_b', 'x'.repeat(129), 'é']) {
      assert.throws(() => encodeJob({ tokens: { ...tokens, usage: bad }, filename: 'm.sh', argv: ['bash'], env: {}, script: 'x' }), /token/);
    }
  });
});
