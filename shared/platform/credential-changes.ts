/** Where PostgreSQL announces a change to a session, an API token or a user (triggers of migration 021). */
export const CREDENTIALS_CHANNEL = 'idcflow_credentials';

/** One row changed (`id` of that user, session or token), or `all` when whole tables were replaced (a restore). */
export interface CredentialChange {
  kind: 'user' | 'session' | 'token' | 'all';
  id?: string | number;
}
