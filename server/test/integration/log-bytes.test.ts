import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { unescapeLogText } from '../../src/executions/log-text.js';
import { driverEnv, freshPostgres, requireDocker, run, startTestServer, testDrivers, type TestServer } from '../helpers.js';

/**
 * Defect 2 of issue 16 (logs): every byte a script writes is stored, losslessly and reversibly, on PostgreSQL
 * (which refuses NUL in text): `escaped` entries give the bytes back, the lines around them are kept.
 */
interface Entry {
  seq: number;
  stream: string;
  text: string;
  continued: boolean;
  escaped: boolean;
}

/** The bytes of one stream as a client rebuilds them from the entries: lines joined by newlines, continuations appended. */
function bytesOf(entries: Entry[], stream: string): Buffer {
  const parts: Buffer[] = [];
  for (const [i, e] of entries.filter((x) => x.stream === stream).entries()) {
    if (i > 0 && !e.continued) parts.push(Buffer.from('\n'));
    parts.push(unescapeLogText(e.text, e.escaped));
  }
  return Buffer.concat(parts);
}

/** Every `log` event of the execution's event stream (replayed from storage: the execution has ended). */
async function streamedEntries(s: TestServer, id: string): Promise<Entry[]> {
  const res = await fetch(`${s.url}/api/v1/executions/${id}/logs`, { headers: { authorization: `Bearer ${s.adminKey}`, accept: 'text/event-stream' } });
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('event: log\n'))
    .map((b) => JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as Entry);
}

for (const driver of testDrivers(['docker', 'crun'])) {
  describe(`log bytes the database cannot hold as text (${driver} driver, PostgreSQL)`, { concurrency: false }, () => {
    let s: TestServer;
    before(async () => {
      await requireDocker();
      const url = await freshPostgres();
      s = await startTestServer({ ...driverEnv(driver), DATABASE_URL: url!, CRONIUM_POOL_SIZE: '0' });
    });
    after(async () => s?.stop());

    const logs = async (id: string) => {
      const r = await s.api('GET', `/api/v1/executions/${id}/logs`);
      assert.equal(r.status, 200);
      return r.body as { entries: Entry[]; truncated: boolean };
    };

    it('keeps a line with a NUL byte and the lines around it, and gives the bytes back', async () => {
      const e = await run(s.api, { language: 'bash', script: "echo before; printf 'a\\0b\\n'; echo after; printf 'x\\0y\\n' >&2" });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      const { entries, truncated } = await logs(e.id);
      assert.equal(truncated, false);
      const out = entries.filter((x) => x.stream === 'stdout');
      assert.deepEqual(
        out.map((x) => [x.text, x.escaped, x.continued]),
        [
          ['before', false, false],
          ['a\\x00b', true, false],
          ['after', false, false],
        ],
      );
      assert.deepEqual(bytesOf(entries, 'stdout'), Buffer.from('before\na\0b\nafter'));
      assert.deepEqual(bytesOf(entries, 'stderr'), Buffer.from('x\0y'));
      assert.equal(entries.filter((x) => x.stream === 'system').length, 0, JSON.stringify(entries));
      // The event stream shows the same entries, flags included.
      assert.deepEqual(
        (await streamedEntries(s, e.id)).map((x) => [x.seq, x.stream, x.text, x.escaped, x.continued]),
        entries.map((x) => [x.seq, x.stream, x.text, x.escaped, x.continued]),
      );
    });

    it('keeps bytes that are not UTF-8 (no U+FFFD), backslashes and a character split across writes', async () => {
      const script = [
        "printf '\\xff\\xfe\\n'",
        "printf 'back\\\\slash \\x80\\xc3\\x28 end\\n'",
        "printf 'plain back\\\\slash\\n'",
        // a Euro sign in two writes with a pause longer than the partial-line pause between them
        "printf '\\xe2\\x82'; sleep 0.4; printf '\\xac\\n'",
      ].join('\n');
      const e = await run(s.api, { language: 'bash', script });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      const { entries } = await logs(e.id);
      const out = entries.filter((x) => x.stream === 'stdout');
      assert.deepEqual(
        out.map((x) => [x.text, x.escaped]),
        [
          ['\\xff\\xfe', true],
          ['back\\\\slash \\x80\\xc3( end', true],
          ['plain back\\slash', false],
          ['€', false],
        ],
      );
      assert.ok(!entries.some((x) => x.text.includes('\ufffd')));
      assert.deepEqual(
        bytesOf(entries, 'stdout'),
        Buffer.concat([
          Buffer.from([0xff, 0xfe, 0x0a]),
          Buffer.from('back\\slash '),
          Buffer.from([0x80, 0xc3, 0x28]),
          Buffer.from(' end\nplain back\\slash\n€'),
        ]),
      );
    });

    it('stores every byte of 64 KiB of random binary output', async () => {
      const e = await run(s.api, {
        language: 'bash',
        script: 'head -c 65536 /dev/urandom > /tmp/r; cat /tmp/r; echo; sha256sum < /tmp/r >&2',
      });
      assert.equal(e.status, 'succeeded', JSON.stringify(e));
      const { entries } = await logs(e.id);
      const out = bytesOf(entries, 'stdout');
      const sum = bytesOf(entries, 'stderr').toString().split(' ')[0];
      const { createHash } = await import('node:crypto');
      assert.equal(createHash('sha256').update(out).digest('hex'), sum, 'the stored bytes differ from what the script wrote');
    });
  });
}
