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

/** Verifies with the algorithm pinned, so a token signed with `none` or another algorithm is refused. */
export function verifyAccessToken(token: string, secret: Buffer): AccessClaims {
  try {
    const payload = jwt.verify(token, keyFor(secret), { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE }) as jwt.JwtPayload;
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new Error('claims missing');
    return { sub: payload.sub, sid: payload.sid };
  } catch (err) {
    if (err instanceof jwt.TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it or sign in again');
    throw new AppError('INVALID_CREDENTIALS', 'The access token is not valid');
  }
}

export const looksLikeJwt = (token: string) => token.split('.').length === 3;
