import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dirsOf, encodeJob, encodeJobStream } from '../../src/sandbox/launcher/job-wire.js';
import type { JobInput } from '../../src/sandbox/driver.js';

const tokens = { job: 'j1', end: 'e1', usage: 'u1', artifacts: 'a1' };

describe('job wire encoding (the launcher input)', () => {
  it('writes NUL-terminated header fields (the four mark tokens first), no directories or files, the script length in bytes, the script and an empty stdin', () => {
    const buf = encodeJob({ tokens, filename: 'main.py', argv: ['python3', '/work/main.py'], env: { A: '1', B: 'x=y' }, script: 'print("é")' });
    const script = Buffer.from('print("é")');
    assert.equal(script.length, 11, 'é is two bytes');
    const header = 'CRONIUM3\0j1\0e1\0u1\0a1\0main.py\x002\0python3\0/work/main.py\x002\0A=1\0B=x=y\x000\x000\x0011\0';
    assert.deepEqual(buf, Buffer.concat([Buffer.from(header), script, Buffer.from('0\0')]));
  });

  it('keeps newlines and any other byte but NUL in fields and script', () => {
    const buf = encodeJob({ tokens, filename: 'm.sh', argv: ['bash'], env: { V: 'a\nb' }, script: 'echo 1\r\n\n' });
    assert.ok(buf.includes(Buffer.from('V=a\nb\0')));
    assert.ok(buf.subarray(buf.length - 11).equals(Buffer.from('echo 1\r\n\n0\0')));
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

const input = (path: string, bytes: Buffer, mode = 0o644, size = bytes.length): JobInput => ({
  path,
  mode,
  size,
  open: async () =>
    (async function* () {
      // In two pieces, as a store would stream it.
      yield bytes.subarray(0, 1);
      yield bytes.subarray(1);
    })(),
});
const collect = async (it: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
};

describe('job wire encoding with files and stdin (CRONIUM3)', () => {
  it('streams the directories, each file (path, octal mode, length, bytes), the script, then stdin', async () => {
    const files = [input('data/in/a.csv', Buffer.from('x,y\n1,2\n')), input('bin.dat', Buffer.from([0, 1, 255]), 0o755)];
    const buf = await collect(
      encodeJobStream({ tokens, filename: 'main.sh', argv: ['bash'], env: {}, script: 'cat', files, stdin: input('', Buffer.from('in\0put')) }),
    );
    const expected = Buffer.concat([
      Buffer.from('CRONIUM3\0j1\0e1\0u1\0a1\0main.sh\x001\0bash\x000\x002\0data\0data/in\x002\0'),
      Buffer.from('data/in/a.csv\x00644\x008\0x,y\n1,2\n'),
      Buffer.from('bin.dat\x00755\x003\0'),
      Buffer.from([0, 1, 255]),
      Buffer.from('3\0cat6\0in\0put'),
    ]);
    assert.deepEqual(buf, expected);
  });

  it('refuses a file whose bytes are not its size (every field after it would shift)', async () => {
    const short = input('a', Buffer.from('ab'), 0o644, 3);
    await assert.rejects(collect(encodeJobStream({ tokens, filename: 'm.sh', argv: ['bash'], env: {}, script: 'x', files: [short] })), /2 of its 3 bytes/);
    const long = input('a', Buffer.from('abcd'), 0o644, 3);
    await assert.rejects(collect(encodeJobStream({ tokens, filename: 'm.sh', argv: ['bash'], env: {}, script: 'x', files: [long] })), /more bytes/);
  });

  it('names each directory once, parents first', () => {
    assert.deepEqual(dirsOf([{ path: 'b/c/d' }, { path: 'a' }, { path: 'b/x' }]), ['b', 'b/c']);
  });

  it('will not put a job with files into one buffer', () => {
    assert.throws(() => encodeJob({ tokens, filename: 'm.sh', argv: ['bash'], env: {}, script: 'x', files: [input('a', Buffer.from('1'))] }), /streamed/);
  });
});
