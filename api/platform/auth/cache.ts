import type { Notifications } from '../../../db/notifications';
import type { Logger } from '../../../shared/platform/logger';
import { CREDENTIALS_CHANNEL, type CredentialChange } from '../../../shared/platform/credential-changes';


/** What a check found, and what its row belongs to (so a change to that user, session or token drops it). */
export interface Checked<T> {
  value: T;
  userId: number;
  sessionId?: string;
  tokenId?: number;
}

interface Entry<T> extends Checked<T> {
  until: number;
}

const MAX_ENTRIES = 10_000;

/**
 * Session and API token checks kept in this process for at most `ttlSeconds`. Every replica drops an entry as soon as
 * PostgreSQL announces a change to its user, session or token; while the LISTEN connection is down (notifications
 * could be missed) nothing is served from here, and everything kept before is dropped when it comes back.
 */
export class CredentialCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  // Bumped on every change: a check that read the database before a change is not kept after it.
  private generation = 0;

  constructor(private readonly notifications: Notifications, private readonly ttlSeconds: number, logger: Logger) {
    if (ttlSeconds <= 0) return;
    notifications.onReconnect(() => this.flush());
    notifications.subscribe(CREDENTIALS_CHANNEL, (payload) => this.changed(payload as CredentialChange))
      .catch((err) => logger.warn({ err: (err as Error).message }, 'credential checks are not cached: LISTEN failed'));
  }

  /** The kept answer for `key`, or the one `check` gives (kept when nothing changed meanwhile). */
  async get(key: string, check: () => Promise<Checked<T>>): Promise<T> {
    const usable = this.ttlSeconds > 0 && this.notifications.listening;
    if (usable) {
      const hit = this.entries.get(key);
      if (hit && hit.until > Date.now()) return hit.value;
      if (hit) this.entries.delete(key);
    }
    const generation = this.generation;
    const found = await check();
    if (usable && generation === this.generation && this.notifications.listening) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, { ...found, until: Date.now() + this.ttlSeconds * 1000 });
    }
    return found.value;
  }

  flush(): void {
    this.generation += 1;
    this.entries.clear();
  }

  private changed(change: CredentialChange) {
    this.generation += 1;
    const id = String(change?.id);
    for (const [key, e] of this.entries) {
      const hit = change?.kind === 'user' ? String(e.userId) === id
        : change?.kind === 'session' ? e.sessionId === id
          : change?.kind === 'token' ? String(e.tokenId) === id
            : true;
      if (hit) this.entries.delete(key);
    }
  }
}
