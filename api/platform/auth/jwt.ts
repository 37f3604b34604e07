import crypto, { type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppError } from '../../../shared/platform/errors';

const ALGORITHM = 'HS256' as const;
const ISSUER = 'idcflow';
const AUDIENCE = 'idcflow-api';

// jsonwebtoken turns a Buffer secret into a KeyObject on every call (0.4 ms); keep one per secret instead.
const keys = new WeakMap<Buffer, KeyObject>();
function keyFor(secret: Buffer): KeyObject {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = crypto.createSecretKey(secret)));
  return key;
}

export interface AccessClaims {
  sub: string;
  sid: string;
}

export function signAccessToken(claims: AccessClaims, secret: Buffer, ttlSeconds: number): string {
  return jwt.sign({ sid: claims.sid }, keyFor(secret), { algorithm: ALGORITHM, subject: claims.sub, issuer: ISSUER, audience: AUDIENCE, expiresIn: ttlSeconds });
}

const tokenExpired = () => new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it or sign in again');

/** Tokens whose signature and claims were verified, with their expiry (ms), per secret. */
const verified = new WeakMap<Buffer, Map<string, AccessClaims & { expiresAt: number }>>();
export const VERIFIED_TOKENS_KEPT = 10_000;

/**
 * Verifies with the algorithm pinned, so a token signed with `none` or another algorithm is refused. A token verified
 * once is remembered until it expires (the signature of the same string under the same secret cannot change): a
 * signed-out session is refused by the session check that follows, not here.
 */
export function verifyAccessToken(token: string, secret: Buffer): AccessClaims {
  let kept = verified.get(secret);
  const hit = kept?.get(token);
  if (hit) {
    if (hit.expiresAt > Date.now()) return { sub: hit.sub, sid: hit.sid };
    kept!.delete(token);
    throw tokenExpired();
  }
  let payload: jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyFor(secret), { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE }) as jwt.JwtPayload;
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw tokenExpired();
    throw new AppError('INVALID_CREDENTIALS', 'The access token is not valid');
  }
  if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new AppError('INVALID_CREDENTIALS', 'The access token is not valid');
  // Every token idcflow signs expires; one without `exp` would be kept for ever, so it is verified each time.
  if (typeof payload.exp === 'number') {
    if (!kept) verified.set(secret, (kept = new Map()));
    if (kept.size >= VERIFIED_TOKENS_KEPT) kept.clear();
    kept.set(token, { sub: payload.sub, sid: payload.sid, expiresAt: payload.exp * 1000 });
  }
  return { sub: payload.sub, sid: payload.sid };
}

export const looksLikeJwt = (token: string) => token.split('.').length === 3;
