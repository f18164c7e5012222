import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST, MAX_TRAIL, pageLinks, readCursor, readList, readTrail } from '../app/lib/pagination';
import { executionsQuery, logQuery } from '../app/lib/queries';

const q = (s: string) => new URLSearchParams(s);
const params = (link: string | null) => Object.fromEntries(new URLSearchParams((link ?? '').slice(1)));

describe('cursor pagination', () => {
  it('first page: no newer link, an older link that remembers the first page', () => {
    const l = pageLinks(q('status=failed'), 'CUR1');
    assert.equal(l.newer, null);
    assert.equal(l.first, null);
    assert.equal(l.page, 1);
    assert.deepEqual(params(l.older), { status: 'failed', cursor: 'CUR1', trail: FIRST });
  });
  it('walks forward and back through the trail, keeping the filters', () => {
    const p2 = pageLinks(q(`status=failed&cursor=CUR1&trail=${FIRST}`), 'CUR2');
    assert.equal(p2.page, 2);
    assert.deepEqual(params(p2.newer), { status: 'failed' });
    assert.deepEqual(params(p2.older), { status: 'failed', cursor: 'CUR2', trail: `${FIRST}.CUR1` });
    const p3 = pageLinks(q(p2.older!.slice(1)), null);
    assert.equal(p3.page, 3);
    assert.equal(p3.older, null, 'last page');
    assert.deepEqual(params(p3.newer), { status: 'failed', cursor: 'CUR1', trail: FIRST });
    assert.deepEqual(params(p3.first), { status: 'failed' });
  });
  it('drops malformed cursors and trail entries and bounds the trail', () => {
    assert.equal(readCursor(q('cursor=a%20b')), undefined);
    assert.equal(readCursor(q('cursor=abc_-9')), 'abc_-9');
    assert.deepEqual(readTrail(q('trail=~.ok.bad!.x')), ['~', 'ok', 'x']);
    const long = Array.from({ length: MAX_TRAIL + 10 }, (_, i) => `c${i}`).join('.');
    assert.equal(readTrail(q(`trail=${long}`)).length, MAX_TRAIL);
    const l = pageLinks(q(`cursor=cX&trail=${long}`), 'cY');
    assert.equal(params(l.older).trail!.split('.').length, MAX_TRAIL);
    assert.equal(pageLinks(q('cursor=x'), 'bad cursor!').older, null);
  });
  it('reads repeated or comma-separated filters, known values only', () => {
    assert.deepEqual(readList(q('status=failed&status=running,bogus&status=failed'), 'status', ['failed', 'running', 'queued']), ['failed', 'running']);
  });
});

describe('API queries', () => {
  it('executions: filters, cursor and page size; userId only for admins', () => {
    const s = q('status=failed&status=timed_out&language=python&user=u-1&cursor=CUR&trail=~');
    assert.deepEqual(Object.fromEntries(q(executionsQuery(s, true))), {
      limit: '25',
      status: 'failed,timed_out',
      language: 'python',
      userId: 'u-1',
      cursor: 'CUR',
    });
    assert.equal(q(executionsQuery(s, false)).get('userId'), null);
    assert.deepEqual(Object.fromEntries(q(executionsQuery(q('language=ruby&status=nope'), false))), { limit: '25' });
  });
  it('egress log: decision filter', () => {
    assert.equal(logQuery(q('decision=denied')), 'limit=100&decision=denied');
    assert.equal(logQuery(q('decision=maybe')), 'limit=100');
  });
});
