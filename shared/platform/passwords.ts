import argon2 from 'argon2';

/** Every stored password hash: argon2id, 64 MiB, 3 passes, 4 lanes (RFC 9106's second recommended option, smaller memory). */
export const PASSWORD_HASH = { type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 4 } as const;

export const hashPassword = (plain: string) => argon2.hash(plain, PASSWORD_HASH);
