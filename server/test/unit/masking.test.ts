import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../../src/executions/events.js';
import { LogSink } from '../../src/executions/log-sink.js';
import { MASK, Masker, maskedTexts } from '../../src/executions/masking.js';
import { maskAuditEntry } from '../../src/egress/service.js';
import { printable } from '../../src/egress/policy.js';
import { recordedPath } from '../../src/runtime/app.js';
import { executionMaskers } from '../../src/executions/maskers.js';
import type { ExecutionRow } from '../../src/executions/repository.js';

function sink(secrets: string[], maxBytes = 10_000) {
  const stored: LogEntry[] = [];
  const published: LogEntry[] = [];
  let truncated = false;
  const s = new LogSink({
    maxBytes,
    masker: new Masker(secrets),
    persist: async (e) => void stored.push(...e),
    publish: (e) => published.push(...e),
    onTruncated: () => (truncated = true),
    partialLineMs: 20,
    flushMs: 5,
  });
  return { s, stored, published, truncated: () => truncated };
}

describe('Masker', () => {
  it('masks every occurrence, longest value first', () => {
    const m = new Masker(['secret', 'secret-long']);
    assert.equal(m.mask('a secret-long and a secret'), 'a *** and a ***');
  });
  it('ignores values too short to mask meaningfully', () => {
    assert.equal(new Masker(['ab']).mask('abc'), 'abc');
  });
  it('masks inside JSON values and keys', () => {
    assert.deepEqual(new Masker(['hunter2']).maskJson({ a: ['x hunter2'], hunter2: 1, n: 5 }), { a: ['x ***'], '***': 1, n: 5 });
  });
  it('reports how much of a tail could still become a secret', () => {
    const m = new Masker(['topsecret']);
    assert.equal(m.unsafeTail('hello tops'), 4);
    assert.equal(m.unsafeTail('hello'), 0);
  });
});

/** A PEM-like key: header lines, base64 lines (with + / =), an alphanumeric line that fits a host name or a variable key. */
const PEM = [
  '-----BEGIN TEST PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7+/x9Zq3Lm0pR',
  'Xk4TfQ2sV8bN1cW7yH3jLmP0aZrE9uD6gKoIhB5nY2tA',
  'qRsT==',
  '-----END TEST PRIVATE KEY-----',
].join('\n');
const LINES = PEM.split('\n');

describe('Masker: multi-line secrets', () => {
  it('masks every line of a multi-line secret on its own, headers included', () => {
    const m = new Masker([PEM]);
    for (const line of LINES) assert.equal(m.mask(`echo: ${line}`), `echo: ${MASK}`, line);
  });

  it('masks the whole value where it appears whole (output, variables)', () => {
    const m = new Masker([PEM]);
    assert.equal(m.mask(`key=${PEM};`), `key=${MASK};`);
    assert.deepEqual(m.maskJson({ pem: PEM, lines: LINES, [LINES[2]!]: 1 }), { pem: MASK, lines: LINES.map(() => MASK), [MASK]: 1 });
  });

  it('finds lines whatever the line ends and indentation of the secret or of the output', () => {
    const crlf = new Masker([`  ${LINES[1]}\r\n\t${LINES[2]}\r\n`]);
    assert.equal(crlf.mask(LINES[1]!), MASK);
    assert.equal(crlf.mask(`    ${LINES[2]}`), `    ${MASK}`);
    assert.equal(new Masker(['hunter2\n']).mask('pw=hunter2'), `pw=${MASK}`, 'a secret saved with its trailing newline');
  });

  it('leaves lines that say nothing about the secret: punctuation only, or shorter than the minimum', () => {
    const json = '{\n  "user": "svc",\n  "key": "abc123def456"\n},\n-----\nok\n});';
    const texts = maskedTexts([json]);
    assert.ok(texts.includes('"key": "abc123def456"'));
    assert.ok(texts.includes('"user": "svc",'));
    for (const trivial of ['{', '},', '-----', 'ok', '});']) assert.ok(!texts.includes(trivial), trivial);
    const m = new Masker([json]);
    assert.equal(m.mask('}, ----- ok });'), '}, ----- ok });');
  });

  it('waits for the rest of a line of a multi-line secret at the end of a partial line', () => {
    const m = new Masker([PEM]);
    assert.equal(m.unsafeTail(`out: ${LINES[1]!.slice(0, 10)}`), 10);
    assert.equal(m.unsafeTail('out: nothing'), 0);
  });

  it('unites several maskers, and follows a transformation', () => {
    const u = Masker.union([new Masker(['first-secret']), new Masker([PEM])]);
    assert.equal(u.mask(`first-secret ${LINES[2]}`), `${MASK} ${MASK}`);
    const quoted = new Masker(['a"b\\c-secret']).through((v) => printable(v, Infinity));
    assert.equal(quoted.mask('x a?b?c-secret y'), `x ${MASK} y`);
  });

  it('masks ignoring case, and a cut-off start of a secret', () => {
    const m = new Masker([LINES[2]!]);
    assert.equal(m.maskIgnoringCase(`${LINES[2]!.toLowerCase()}.example.test`), `${MASK}.example.test`);
    assert.equal(m.maskCut(`aaaa.${LINES[2]!.slice(0, 12)}`), `aaaa.${MASK}`);
    assert.equal(m.maskCut(`aaaa.${LINES[2]!.slice(0, 12).toUpperCase()}`, { ignoreCase: true }), `aaaa.${MASK}`);
    assert.equal(m.maskCut('aaaa.Xk'), 'aaaa.Xk', 'a tail shorter than the minimum says nothing');
  });
});

describe('what the runtime API and the egress log record', () => {
  const m = new Masker([PEM]);
  it('masks a secret in a runtime call path, sent as is or percent-encoded', () => {
    assert.equal(recordedPath(`/runtime/v1/variables/${LINES[2]}?x=1`, m), `/runtime/v1/variables/${MASK}`);
    const encoded = `/runtime/v1/secrets/${encodeURIComponent(LINES[1]!)}`;
    assert.notEqual(encoded, `/runtime/v1/secrets/${LINES[1]}`, 'the line has characters that get encoded');
    assert.equal(recordedPath(encoded, m), `/runtime/v1/secrets/${MASK}`);
    assert.equal(recordedPath(`/runtime/v1/x/${encodeURIComponent(LINES[1]!)}%00`, m), `/runtime/v1/x/${MASK}%00`);
    assert.equal(recordedPath('/runtime/v1/variables/a%2Fb', m), '/runtime/v1/variables/a%2Fb', 'left as sent when it holds no secret');
    assert.equal(recordedPath('/runtime/v1/%E0%A4%A', m), '/runtime/v1/%E0%A4%A', 'an undecodable path is kept as sent');
  });

  it('masks egress hosts: lowercased, escaped and cut-off forms', () => {
    const entry = (host: string) => maskAuditEntry({ host, address: undefined as string | undefined }, m).host;
    assert.equal(entry(`${LINES[2]!.toLowerCase()}.example.test`), `${MASK}.example.test`);
    assert.equal(entry(`${LINES[1]}:443`), `${MASK}:443`);
    const cut = printable(`${'a'.repeat(180)}${LINES[1]}`);
    assert.ok(cut.endsWith('…') && cut.includes(LINES[1]!.slice(0, 20)));
    assert.equal(entry(cut), `${'a'.repeat(180)}${MASK}…`);
    const jsonSecret = new Masker(['{"client_secret": "s3cr3t-value-1234"}']);
    assert.equal(maskAuditEntry({ host: printable('/{"client_secret": "s3cr3t-value-1234"}'), address: undefined }, jsonSecret).host, `/${MASK}`);
    assert.deepEqual(maskAuditEntry({ host: 'example.com', address: '1.2.3.4' }, new Masker([])), { host: 'example.com', address: '1.2.3.4' });
  });
});

describe('executionMaskers', () => {
  const row = { id: 'e1', userId: 'u1', secrets: ['PEM'] } as ExecutionRow;
  const reveal = async (userId: string, names: string[]) => {
    assert.deepEqual([userId, names], ['u1', ['PEM']]);
    return new Map([['PEM', PEM]]);
  };

  it("uses the local runner's masker", async () => {
    const local = new Masker(['local-secret']);
    const m = executionMaskers({ live: { of: () => local, all: () => [local] }, secrets: { reveal } });
    assert.equal(await m.of(row, 'token-xyz'), local);
    assert.equal(m.running().mask('local-secret'), MASK);
  });

  it('makes one from the grants and the token when another server runs the execution', async () => {
    const m = executionMaskers({ live: { of: () => undefined, all: () => [] }, secrets: { reveal } });
    const made = await m.of(row, 'token-xyz');
    assert.equal(made.mask(`${LINES[2]} token-xyz`), `${MASK} ${MASK}`);
    assert.equal(m.running().active, false);
  });
});

describe('LogSink', () => {
  it('masks every line of a multi-line secret echoed whole, line by line, and in pieces', async () => {
    const { s, stored, published } = sink([PEM]);
    s.write('stdout', `${PEM}\n`);
    for (const line of LINES) s.write('stdout', `line: ${line}\n`);
    s.write('stdout', LINES[1]!.slice(0, 20));
    await new Promise((r) => setTimeout(r, 60));
    s.write('stdout', `${LINES[1]!.slice(20)}\n`);
    s.write('stderr', PEM.replaceAll('\n', '\r\n'));
    await s.close();
    for (const entries of [stored, published]) {
      const all = entries.map((e) => e.text).join('\n');
      for (const line of LINES) assert.ok(!all.includes(line), `${line} in ${all}`);
      assert.ok(!all.includes(LINES[1]!.slice(20)), 'not even the second part of a split write');
      const out = entries.filter((e) => e.stream === 'stdout').map((e) => e.text);
      assert.deepEqual(out, [...LINES.map(() => MASK), ...LINES.map(() => `line: ${MASK}`), MASK]);
      const err = entries.filter((e) => e.stream === 'stderr').map((e) => e.text);
      assert.deepEqual(err, [...LINES.slice(0, -1).map(() => `${MASK}\r`), MASK]);
    }
  });

  it('stores one entry per line and masks secrets', async () => {
    const { s, stored, published } = sink(['hunter2']);
    s.write('stdout', 'pw=hunter2\nsecond line\n');
    await s.close();
    assert.deepEqual(stored.map((e) => e.text), ['pw=***', 'second line']);
    assert.deepEqual(published.map((e) => e.text), ['pw=***', 'second line']);
    assert.deepEqual(stored.map((e) => e.seq), [0, 1]);
  });

  it('masks a secret printed in two separate writes, even across a pause', async () => {
    const { s, stored } = sink(['hunter2']);
    s.write('stdout', 'pw=hun');
    await new Promise((r) => setTimeout(r, 60)); // longer than the partial-line pause
    s.write('stdout', 'ter2 done\n');
    await s.close();
    const all = stored.map((e) => e.text).join('');
    assert.doesNotMatch(all, /hunter2/);
    assert.doesNotMatch(all, /hun$/m);
    assert.match(all, /\*\*\*/);
  });

  it('lets a partial line out after a pause', async () => {
    const { s, published } = sink([]);
    s.write('stdout', 'progress...');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(published.map((e) => e.text), ['progress...']);
    await s.close();
  });

  it('caps the stored size and says so in the log', async () => {
    const { s, stored, truncated } = sink([], 100);
    for (let i = 0; i < 50; i++) s.write('stdout', `line ${i}\n`);
    await s.close();
    const last = stored[stored.length - 1]!;
    assert.equal(last.stream, 'system');
    assert.match(last.text, /log truncated/);
    assert.ok(truncated());
    assert.ok(stored.length < 20);
  });
});
