import crypto from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import type { ExecutionRow } from '../executions/repository.js';

export const TOKEN_AUDIENCE = 'cronium-runtime';
export const TOKEN_ISSUER = 'cronium';

export type Scope =
  | 'input:read'
  | 'context:read'
  | 'output:write'
  | 'condition:write'
  | 'variables:read'
  | 'variables:write'
  | 'secrets:read';

export interface ExecutionClaims {
  /** The execution's user. */
  sub: string;
  exe: string;
  scopes: Scope[];
  secrets: string[];
  /** The attempt's token id (`executions.token_id`): a retried execution's older tokens are worth nothing. */
  jti: string;
  exp: number;
}

/**
 * Why a token was refused. `invalid` names nobody (not signed by us, or not for the runtime); the others carry the
 * claims its signature vouches for, so a refusal can be recorded against that execution.
 */
export type TokenRefusal =
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'expired'; claims: ExecutionClaims }
  | { ok: false; reason: 'unknown_execution'; claims: ExecutionClaims }
  | { ok: false; reason: 'earlier_attempt'; claims: ExecutionClaims; row: ExecutionRow }
  | { ok: false; reason: 'ended'; claims: ExecutionClaims; row: ExecutionRow };

export type TokenCheck = { ok: true; claims: ExecutionClaims; row: ExecutionRow } | TokenRefusal;

/**
 * The tokens a sandbox presents to the runtime API and the egress proxy: signed here, each scoped to one execution
 * and good only while that execution runs, in the attempt it was issued for.
 */
export class ExecutionTokens {
  private readonly signer: (payload: ExecutionClaims) => string;
  private readonly verifier: (token: string) => ExecutionClaims;
  private readonly verifierIgnoringExpiry: (token: string) => ExecutionClaims;

  constructor(
    secret: Buffer,
    private readonly executions: { get(id: string): Promise<ExecutionRow | null> },
  ) {
    this.signer = createSigner({ key: secret, algorithm: 'HS256', aud: TOKEN_AUDIENCE, iss: TOKEN_ISSUER });
    const verify = { key: secret, algorithms: ['HS256' as const], allowedAud: TOKEN_AUDIENCE, allowedIss: TOKEN_ISSUER, requiredClaims: ['exe', 'sub', 'jti', 'exp'] };
    this.verifier = createVerifier(verify);
    this.verifierIgnoringExpiry = createVerifier({ ...verify, ignoreExpiration: true });
  }

  /** The execution's token; it expires at `expiresAt` (the runner adds the start allowance and a grace period). */
  sign(row: ExecutionRow, expiresAt: Date): string {
    const scopes: Scope[] = ['input:read', 'context:read', 'output:write', 'condition:write', 'variables:read', 'variables:write'];
    if (row.secrets.length) scopes.push('secrets:read');
    return this.signer({
      sub: row.userId,
      exe: row.id,
      scopes,
      secrets: row.secrets,
      jti: row.tokenId ?? crypto.randomUUID(),
      exp: Math.floor(expiresAt.getTime() / 1000),
    });
  }

  /** Checks the signature and claims, then that the execution it names is still running in the token's attempt. */
  async verify(token: string): Promise<TokenCheck> {
    let claims: ExecutionClaims;
    try {
      claims = this.verifier(token);
    } catch {
      // An expired token still proves which execution it was issued for (its signature is checked).
      try {
        return { ok: false, reason: 'expired', claims: this.verifierIgnoringExpiry(token) };
      } catch {
        return { ok: false, reason: 'invalid' };
      }
    }
    const row = await this.executions.get(claims.exe);
    if (!row || row.userId !== claims.sub) return { ok: false, reason: 'unknown_execution', claims };
    if (row.tokenId !== claims.jti) return { ok: false, reason: 'earlier_attempt', claims, row };
    if (row.status !== 'running') return { ok: false, reason: 'ended', claims, row };
    return { ok: true, claims, row };
  }
}
