import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AppDeps } from '../platform/deps';
import { createAuthenticator } from '../platform/auth/credentials';
import type { Authenticator } from '../platform/http/route';
import { isNetworkManager } from '../netservices/access';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { hasPermission } from '../../shared/platform/permissions';
import { AppError } from '../../shared/platform/errors';
import { CLOSE, DEFAULT_CHANNELS, LIVE_CHANNELS, MESSAGE_TYPES, NOTIFY_CHANNELS, type LiveChannel } from '../../shared/monitoring/live';
import { announcedEntry, LOG_CHANNEL, type Announced } from '../logs/tail';
import { isOperator } from './access';
import { liveFeeds, wireguardView, type WireguardSnapshot } from './live-feeds';

/** Seed 003's WebSocket routes: the general one (channels chosen by the client) and one per channel. */
const ROUTES: Record<string, LiveChannel[] | null> = {
  '/api/v1/ws/connect': null,
  '/api/v1/ws/system/status': ['system'],
  '/api/v1/ws/wireguard/status': ['wireguard'],
  '/api/v1/ws/bgp/status': ['bgp'],
  '/api/v1/ws/monitoring/alerts': ['monitoring'],
};

/** A socket that has not authenticated within this is closed (4401). */
export const AUTH_SECONDS = 5;
/**
 * Sockets not yet authenticated, per client address and in all: past either, an upgrade is refused with 429 before any
 * WebSocket is made, so unauthenticated sockets cannot pile up (each waits up to AUTH_SECONDS for its token).
 */
export const MAX_PENDING_PER_ADDRESS = 8;
export const MAX_PENDING_TOTAL = 64;
/**
 * Subscribe and unsubscribe cost reads (a snapshot per channel): per socket, a burst of SUBSCRIBE_BURST and then one
 * per SUBSCRIBE_REFILL_MS; past the budget each is answered RATE_LIMIT_EXCEEDED without work, and a socket that
 * keeps sending past it (MAX_REFUSED_MESSAGES refusals) is closed with 4429.
 */
export const SUBSCRIBE_BURST = 5;
export const SUBSCRIBE_REFILL_MS = 1000;
export const MAX_REFUSED_MESSAGES = 50;

/** A token bucket: `take()` is false when the budget is spent. */
function bucket(capacity: number, refillMs: number) {
  let tokens = capacity;
  let at = Date.now();
  return {
    take(): boolean {
      const now = Date.now();
      tokens = Math.min(capacity, tokens + (now - at) / refillMs);
      at = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** Who may subscribe to a channel (a user's wireguard_status holds only their own clients; the log center is admins'). */
function allowed(p: Principal, channel: LiveChannel): boolean {
  if (!hasPermission(p.permissions, 'view')) return false;
  if (channel === 'wireguard') return true;
  if (channel === 'logs') return isAdmin(p);
  if (channel === 'bgp') return isNetworkManager(p);
  return isOperator(p);
}

class Refused extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

interface Client { ws: WebSocket; principal: Principal; token: string; channels: Set<LiveChannel> }

const message = (type: string, data: unknown, timestamp = new Date().toISOString()) => JSON.stringify({ type, data, timestamp });

/**
 * The live channels on the API's own HTTP server (upgrade requests to the paths above). Authenticated at connect: a
 * token in `?token=`, an `Authorization: Bearer` header, or the first message `{"token", "channels"}` within 10 s;
 * refused with close code 4401 (no or bad token), 4403 (a channel the caller may not see) or 4400 (bad message or
 * unknown channel). Fed by PostgreSQL NOTIFY, so a client of any replica gets what any process raised.
 */
export async function attachLiveChannels(server: http.Server, deps: AppDeps) {
  const authenticate = createAuthenticator(deps);
  const feeds = liveFeeds(deps);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const clients = new Set<Client>();

  const principalOf = async (token: string): Promise<Principal> => {
    const ctx = { get: (h: string) => (h.toLowerCase() === 'authorization' ? `Bearer ${token}` : ''), request: {} } as unknown as Parameters<Authenticator>[0];
    try {
      const p = await authenticate(ctx, 'header');
      if (!p) throw new Refused(CLOSE.unauthenticated, 'Authentication required');
      return p;
    } catch (err) {
      if (err instanceof AppError) throw new Refused(CLOSE.unauthenticated, err.message);
      throw err;
    }
  };

  const subscribable = (p: Principal, requested: unknown): LiveChannel[] => {
    if (requested === undefined) return DEFAULT_CHANNELS.filter((c) => allowed(p, c));
    if (!Array.isArray(requested) || requested.length === 0 || requested.length > LIVE_CHANNELS.length) throw new Refused(CLOSE.badRequest, `channels must be a list of ${LIVE_CHANNELS.join(', ')}`);
    for (const c of requested) {
      if (!(LIVE_CHANNELS as readonly unknown[]).includes(c)) throw new Refused(CLOSE.badRequest, `Unknown channel ${String(c).slice(0, 40)}`);
      if (!allowed(p, c as LiveChannel)) throw new Refused(CLOSE.forbidden, `You may not see the ${c} channel`);
    }
    return [...new Set(requested as LiveChannel[])];
  };

  let wireguard: WireguardSnapshot | null = null;
  async function snapshot(client: Client, channels: LiveChannel[]) {
    for (const c of channels) {
      if (c === 'system') for (const s of await feeds.system()) client.ws.send(message(MESSAGE_TYPES.system, s.data, s.timestamp));
      if (c === 'bgp') client.ws.send(message(MESSAGE_TYPES.bgp, await feeds.bgp()));
      if (c === 'wireguard') client.ws.send(message(MESSAGE_TYPES.wireguard, wireguardView(wireguard ?? await feeds.wireguard(), client.principal)));
    }
  }

  function admit(ws: WebSocket, principal: Principal, token: string, channels: LiveChannel[]) {
    const client: Client = { ws, principal, token, channels: new Set(channels) };
    clients.add(client);
    const budget = bucket(SUBSCRIBE_BURST, SUBSCRIBE_REFILL_MS);
    let refused = 0;
    ws.send(message('connected', { user: { id: principal.userId, username: principal.username, role: principal.role }, channels }));
    snapshot(client, channels).catch((err) => deps.logger.warn({ err: (err as Error).message }, 'live channel snapshot failed'));
    ws.on('message', (raw: RawData) => {
      let m: { type?: unknown; channels?: unknown };
      try {
        m = JSON.parse(raw.toString());
      } catch {
        return ws.send(message('error', { code: 'BAD_REQUEST', message: 'Messages are JSON' }));
      }
      if (m?.type === 'ping') return ws.send(message('pong', {}));
      if (m?.type === 'subscribe' || m?.type === 'unsubscribe') {
        if (!budget.take()) {
          if (++refused >= MAX_REFUSED_MESSAGES) return ws.close(CLOSE.tooManyMessages, 'Too many subscribe messages');
          return ws.send(message('error', { code: 'RATE_LIMIT_EXCEEDED', message: `At most ${SUBSCRIBE_BURST} subscribe or unsubscribe messages at once, then one a second` }));
        }
        try {
          const list = subscribable(principal, m.channels);
          for (const c of list) {
            if (m.type === 'subscribe') client.channels.add(c);
            else client.channels.delete(c);
          }
          ws.send(message(m.type === 'subscribe' ? 'subscribed' : 'unsubscribed', { channels: [...client.channels] }));
          if (m.type === 'subscribe') void snapshot(client, list).catch(() => undefined);
        } catch (err) {
          ws.send(message('error', { code: err instanceof Refused && err.code === CLOSE.forbidden ? 'INSUFFICIENT_PERMISSIONS' : 'BAD_REQUEST', message: (err as Error).message }));
        }
        return;
      }
      ws.send(message('error', { code: 'BAD_REQUEST', message: 'Known messages: ping, subscribe, unsubscribe' }));
    });
    // Keep-alive, and the credential checked again: a revoked session or a deactivated user is disconnected.
    let alive = true;
    ws.on('pong', () => { alive = true; });
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
      principalOf(token).catch((err) => { if (err instanceof Refused) ws.close(err.code, err.message.slice(0, 120)); });
    }, deps.config.monitoring.livePingSeconds * 1000);
    ws.on('close', () => { clearInterval(ping); clients.delete(client); });
  }

  /** Sockets upgraded but not yet admitted, by client address. */
  const pending = new Map<string, number>();
  let pendingTotal = 0;
  const addressOf = (req: http.IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
  /** Counts a socket as pending until `release` (admitted, refused or closed), once. */
  function holdPending(address: string): () => void {
    pending.set(address, (pending.get(address) ?? 0) + 1);
    pendingTotal++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      pendingTotal--;
      const n = (pending.get(address) ?? 1) - 1;
      if (n > 0) pending.set(address, n);
      else pending.delete(address);
    };
  }

  function session(ws: WebSocket, req: http.IncomingMessage, fixed: LiveChannel[] | null, release: () => void) {
    const url = new URL(req.url ?? '/', 'http://live');
    const header = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const queryToken = url.searchParams.get('token') ?? header ?? null;
    const queryChannels = url.searchParams.get('channels')?.split(',').filter(Boolean);
    let settled = false;
    ws.on('close', release);
    const refuse = (err: unknown) => {
      settled = true;
      release();
      if (err instanceof Refused) return ws.close(err.code, err.message.slice(0, 120));
      deps.logger.error({ err }, 'live channel admission failed');
      ws.close(1011, 'Internal error');
    };
    const start = (token: unknown, requested: unknown) => {
      settled = true;
      clearTimeout(timer);
      (async () => {
        if (typeof token !== 'string' || !token) throw new Refused(CLOSE.unauthenticated, 'Send a token: ?token= or the first message {"token": …}');
        const principal = await principalOf(token);
        if (fixed && requested !== undefined && (!Array.isArray(requested) || requested.some((c) => !fixed.includes(c)))) {
          throw new Refused(CLOSE.badRequest, `This route carries only the ${fixed[0]} channel`);
        }
        const channels = subscribable(principal, fixed ?? requested);
        release();
        if (ws.readyState !== ws.OPEN) return;
        admit(ws, principal, token, channels);
      })().catch(refuse);
    };
    const timer = setTimeout(() => { if (!settled) refuse(new Refused(CLOSE.unauthenticated, `No token within ${AUTH_SECONDS} seconds`)); }, AUTH_SECONDS * 1000);
    if (queryToken) return start(queryToken, queryChannels);
    ws.once('message', (raw: RawData) => {
      if (settled) return;
      let first: { token?: unknown; channels?: unknown };
      try {
        first = JSON.parse(raw.toString());
      } catch {
        clearTimeout(timer);
        return refuse(new Refused(CLOSE.badRequest, 'The first message must be JSON {"token": …, "channels": […]}'));
      }
      start(first?.token, first?.channels ?? queryChannels);
    });
    ws.on('close', () => clearTimeout(timer));
  }

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer) {
    const path = new URL(req.url ?? '/', 'http://live').pathname.replace(/\/+$/, '');
    if (!(path in ROUTES)) {
      const body = JSON.stringify({ success: false, error: { code: 'RESOURCE_NOT_FOUND', message: `No WebSocket route ${path.slice(0, 100)}` }, timestamp: new Date().toISOString() });
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const address = addressOf(req);
    if ((pending.get(address) ?? 0) >= MAX_PENDING_PER_ADDRESS || pendingTotal >= MAX_PENDING_TOTAL) {
      const body = JSON.stringify({ success: false, error: { code: 'RATE_LIMIT_EXCEEDED', message: 'Too many WebSockets waiting to authenticate; authenticate the open ones or try again shortly' }, timestamp: new Date().toISOString() });
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nretry-after: ${AUTH_SECONDS}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const release = holdPending(address);
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => session(ws, req, ROUTES[path], release));
  }
  server.on('upgrade', onUpgrade);

  const broadcast = (channel: LiveChannel, text: string) => {
    for (const c of clients) if (c.channels.has(channel) && c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  };
  const subscribers = (channel: LiveChannel) => [...clients].filter((c) => c.channels.has(channel));

  // WireGuard and BGP changes arrive as "read again" notices from the agents: at most one read per second.
  let refreshing: NodeJS.Timeout | null = null;
  const refreshNetservices = () => {
    if (refreshing || (subscribers('wireguard').length === 0 && subscribers('bgp').length === 0)) return;
    refreshing = setTimeout(() => {
      (async () => {
        if (subscribers('bgp').length) broadcast('bgp', message(MESSAGE_TYPES.bgp, await feeds.bgp()));
        const wg = subscribers('wireguard');
        if (wg.length) {
          wireguard = await feeds.wireguard();
          for (const c of wg) c.ws.send(message(MESSAGE_TYPES.wireguard, wireguardView(wireguard, c.principal)));
        }
      })().catch((err) => deps.logger.warn({ err: (err as Error).message }, 'live netservices refresh failed')).finally(() => { refreshing = null; wireguard = null; });
    }, 1000);
  };

  const unsubscribe = [
    await deps.notifications.subscribe(NOTIFY_CHANNELS.monitoring, (payload) => {
      const p = payload as { event?: string; data?: unknown; at?: string; alert?: unknown };
      if (p?.event === 'sample') broadcast('system', message(MESSAGE_TYPES.system, p.data, p.at));
      if (p?.event === 'alert') broadcast('monitoring', message(MESSAGE_TYPES.monitoring, p.alert));
    }),
    await deps.notifications.subscribe(NOTIFY_CHANNELS.netservices, refreshNetservices),
    // Every entry of the log center, announced by the store's trigger (the same channel as the SSE tail).
    await deps.notifications.subscribe(LOG_CHANNEL, (payload) => {
      const e = payload as Announced;
      if (e && typeof e.id === 'number' && subscribers('logs').length) broadcast('logs', message(MESSAGE_TYPES.logs, announcedEntry(e)));
    }),
  ];

  return {
    get clients() { return clients.size; },
    async close() {
      server.off('upgrade', onUpgrade);
      for (const u of unsubscribe) u();
      if (refreshing) clearTimeout(refreshing);
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
