import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeJob } from '../../src/sandbox/job-wire.js';

describe('job wire encoding (the launcher input)', () => {
  it('writes NUL-terminated header fields, then the script length in bytes and the script', () => {
    const buf = encodeJob({ nonce: 'n1', filename: 'main.py', argv: ['python3', '/work/main.py'], env: { A: '1', B: 'x=y' }, script: 'print("é")' });
    const script = Buffer.from('print("é")');
    assert.equal(script.length, 11, 'é is two bytes');
    const header = 'CRONIUM1\0n1\0main.py\x002\0python3\0/work/main.py\x002\0A=1\0B=x=y\x0011\0';
    assert.deepEqual(buf, Buffer.concat([Buffer.from(header), script]));
  });

  it('keeps newlines and any other byte but NUL in fields and script', () => {
    const buf = encodeJob({ nonce: 'n', filename: 'm.sh', argv: ['bash'], env: { V: 'a\nb' }, script: 'echo 1\r\n\n' });
    assert.ok(buf.includes(Buffer.from('V=a\nb\0')));
    assert.ok(buf.subarray(buf.length - 9).equals(Buffer.from('echo 1\r\n\n')));
  });

  it('refuses a NUL byte anywhere instead of sending a job the launcher would read differently', () => {
    assert.throws(() => encodeJob({ nonce: 'n', filename: 'm.sh', argv: ['bash'], env: {}, script: 'a\0b' }), /NUL/);
    assert.throws(() => encodeJob({ nonce: 'n', filename: 'm.sh', argv: ['bash'], env: { K: '\0' }, script: 'x' }), /NUL/);
    assert.throws(() => encodeJob({ nonce: 'n', filename: 'm.sh', argv: ['ba\0sh'], env: {}, script: 'x' }), /NUL/);
  });
});
