import pino from 'pino';

/** Paths never written to logs in clear text. */
export const REDACT_PATHS = [
  'password', '*.password', 'new_password', '*.new_password', 'token', '*.token', 'api_token', '*.api_token',
  'server_token', '*.server_token', 'refresh_token', '*.refresh_token', 'access_token', '*.access_token',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'secret', '*.secret', 'client_secret', '*.client_secret', 'private_key', '*.private_key',
];

export function createLogger(level: string, name = 'idcflow') {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export type Logger = pino.Logger;
