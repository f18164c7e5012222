import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { ExecutionTokens, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../../src/auth/execution-tokens.js';
import type { ExecutionRow } from '../../src/executions/repository.js';

const secret = crypto.randomBytes(48);
const row = (over: Partial<ExecutionRow> = {}) =>
  ({ id: crypto.randomUUID(), userId: 'u1', status: 'running', tokenId: crypto.randomUUID(), secrets: [], ...over }) as ExecutionRow;

function tokensOver(rows: ExecutionRow[]) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return new ExecutionTokens(secret, { get: async (id) => byId.get(id) ?? null });
}

const inAMinute = () => new Date(Date.now() + 60_000);
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));

describe('ExecutionTokens', () => {
  it('signs a token scoped to its execution and accepts it while that execution runs', async () => {
    const r = row({ secrets: ['API_KEY'] });
    const tokens = tokensOver([r]);
    const token = tokens.sign(r, inAMinute());
    const p = payloadOf(token);
    assert.deepEqual([p.aud, p.iss, p.sub, p.exe, p.jti], [TOKEN_AUDIENCE, TOKEN_ISSUER, 'u1', r.id, r.tokenId]);
    assert.ok(p.scopes.includes('secrets:read'), 'a token with granted secrets may read them');
    assert.ok(!payloadOf(tokens.sign({ ...r, secrets: [] }, inAMinute())).scopes.includes('secrets:read'));
    const check = await tokens.verify(token);
    assert.equal(check.ok, true);
    assert.equal(check.ok && check.row.id, r.id);
  });

  it('refuses a token once its execution has ended, or for an earlier attempt', async () => {
    const r = row();
    const token = tokensOver([r]).sign(r, inAMinute());
    const ended = await tokensOver([{ ...r, status: 'succeeded' }]).verify(token);
    assert.equal(!ended.ok && ended.reason, 'ended');
    const retried = await tokensOver([{ ...r, tokenId: crypto.randomUUID() }]).verify(token);
    assert.equal(!retried.ok && retried.reason, 'earlier_attempt');
    const gone = await tokensOver([]).verify(token);
    assert.equal(!gone.ok && gone.reason, 'unknown_execution');
    const otherUser = await tokensOver([{ ...r, userId: 'u2' }]).verify(token);
    assert.equal(!otherUser.ok && otherUser.reason, 'unknown_execution');
  });

  it('names the execution of an expired token, and nobody for a forged one', async () => {
    const r = row();
    const tokens = tokensOver([r]);
    const expired = await tokens.verify(tokens.sign(r, new Date(Date.now() - 60_000)));
    assert.equal(!expired.ok && expired.reason, 'expired');
    assert.equal(!expired.ok && expired.reason === 'expired' && expired.claims.exe, r.id);

    const [h, , s] = tokens.sign(r, inAMinute()).split('.');
    const forged = Buffer.from(JSON.stringify({ ...payloadOf(tokens.sign(r, inAMinute())), sub: 'u2' })).toString('base64url');
    assert.deepEqual(await tokens.verify(`${h}.${forged}.${s}`), { ok: false, reason: 'invalid' });
    const foreign = new ExecutionTokens(crypto.randomBytes(48), { get: async () => r }).sign(r, inAMinute());
    assert.deepEqual(await tokens.verify(foreign), { ok: false, reason: 'invalid' });
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(payloadOf(foreign))).toString('base64url')}.`;
    assert.deepEqual(await tokens.verify(none), { ok: false, reason: 'invalid' });
    assert.deepEqual(await tokens.verify('not a token'), { ok: false, reason: 'invalid' });
  });
});
