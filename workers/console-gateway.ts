import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Knex } from 'knex';
import { consoleGatewayUrl, type Config } from '../shared/platform/config';
import type { Logger } from '../shared/platform/logger';
import { sha256 } from '../shared/platform/crypto';
import type { ErrorCode } from '../shared/platform/errors';
import { driverFor, type HostRow } from '../activities/compute/engines';
import { announceGateway, GATEWAY_ANNOUNCE_SECONDS, withdrawGateway } from '../db/queries/compute/console-gateways';
import type { TerminalSession } from '../activities/compute/engines/types';

/** The hosts whose engines this process reaches: the main worker's (hosts without an agent) and/or agent hosts by name. */
export interface ServedHosts {
  mainQueue: boolean;
  agentHosts: string[];
}

interface SessionRow {
  id: string;
  user_id: number | null;
  instance_id: number;
  host_id: number;
  engine_ref: string;
}

class Refusal extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message: string) {
    super(message);
  }
}

const PING_SECONDS = 30;

/** A VM's VNC port (loopback on the host) as a terminal-like session: RFB bytes both ways, no resize, closing hangs up. */
function vncSession(endpoint: { host: string; port: number }): Promise<TerminalSession> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(endpoint.port, endpoint.host);
    socket.setTimeout(10_000, () => socket.destroy(new Error('VNC connect timed out')));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', reject);
      socket.pause();
      resolve({ id: `vnc:${endpoint.port}`, stream: socket, resize: async () => undefined, close: async () => { socket.destroy(); } });
    });
  });
}

/**
 * The console gateway: a WebSocket endpoint on a worker or host agent that opens a terminal in an instance, or relays
 * a VM's VNC port (loopback on the host) as raw RFB bytes both ways (engines with vncEndpoint). A client
 * connects to the URL `GET /api/v1/instances/:id/console` gave it (`?ticket=` good once, for a short time). Binary
 * frames are keystrokes; text frames are JSON controls (`{"type":"resize","cols":120,"rows":40}`, or
 * `{"type":"input","data":"ls\n"}`); the shell's output comes back as binary frames.
 */
export async function startConsoleGateway(config: Config, knex: Knex, logger: Logger, served: ServedHosts): Promise<{ url: string; close(): Promise<void> }> {
  const port = config.console.port;
  const publicUrl = consoleGatewayUrl(config);
  if (!port || !publicUrl) throw new Error('The console gateway needs IDCFLOW_CONSOLE_PORT');
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const server = http.createServer((_req, res) => {
    const body = JSON.stringify({ success: false, error: { code: 'BAD_REQUEST', message: 'This is the console gateway: connect with a WebSocket to the URL the console endpoint gave you' } });
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' }).end(body);
  });

  const serves = (host: { name: string; use_agent: boolean }) => (host.use_agent ? served.agentHosts.includes(host.name) : served.mainQueue);

  /** Shells left by this gateway's previous life (it crashed with consoles open) are hung up, and their sessions closed. */
  async function reapOrphans() {
    const orphans = await knex('console_sessions as c').join('hosts as h', 'h.id', 'c.host_id')
      .where('c.gateway', publicUrl).whereNotNull('c.opened_at').whereNull('c.closed_at')
      .select('h.*', 'c.id as session_id', 'c.engine_ref', 'c.terminal_id') as Array<HostRow & { use_agent: boolean; session_id: string; engine_ref: string; terminal_id: string | null }>;
    for (const row of orphans) {
      if (!serves(row)) continue;
      if (row.terminal_id) await driverFor(row, config.masterKey).hangUpTerminal?.(row.engine_ref, row.terminal_id);
      await close(row.session_id, 'gateway restarted');
      logger.warn({ console_session: row.session_id, host: row.name }, 'hung up a console left open by a gateway that stopped unexpectedly');
    }
  }

  /** Takes the ticket (once), and checks that the instance, its host and the user are still what it was issued for. */
  async function admit(req: http.IncomingMessage): Promise<{ session: SessionRow; terminal: TerminalSession }> {
    const url = new URL(req.url ?? '/', 'ws://gateway');
    if (url.pathname !== '/console') throw new Refusal(404, 'RESOURCE_NOT_FOUND', 'Unknown path: the console is at /console');
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !req.headers['sec-websocket-key']) throw new Refusal(400, 'BAD_REQUEST', 'Not a WebSocket handshake');
    const ticket = url.searchParams.get('ticket');
    if (!ticket) throw new Refusal(401, 'INVALID_CREDENTIALS', 'A console ticket is required (?ticket=)');
    const [session] = await knex('console_sessions')
      .where({ ticket_hash: sha256(ticket) }).whereNull('opened_at').where('expires_at', '>', knex.fn.now())
      .update({ opened_at: knex.fn.now(), remote_addr: req.socket.remoteAddress ?? null }, ['id', 'user_id', 'instance_id', 'host_id', 'engine_ref']) as SessionRow[];
    if (!session) throw new Refusal(401, 'INVALID_CREDENTIALS', 'The console ticket is unknown, used or expired: ask the console endpoint for a new one');
    try {
      // The three checks at once: a console's opening waits on them.
      const [host, instance, user] = await Promise.all([
        knex('hosts').where({ id: session.host_id }).whereNull('deleted_at').first() as Promise<(HostRow & { use_agent: boolean }) | undefined>,
        knex('instances').where({ id: session.instance_id, engine_ref: session.engine_ref }).whereNull('deleted_at').first('id'),
        session.user_id === null ? { id: null } : knex('users').where({ id: session.user_id, is_active: true }).whereNull('deleted_at').first('id'),
      ]);
      if (!host) throw new Refusal(404, 'RESOURCE_NOT_FOUND', 'The instance\'s host is gone');
      if (!serves(host)) {
        throw new Refusal(421, 'BAD_REQUEST', `This gateway does not serve host ${host.name}`);
      }
      if (!instance) throw new Refusal(404, 'RESOURCE_NOT_FOUND', 'The instance is gone');
      if (!user) throw new Refusal(403, 'INSUFFICIENT_PERMISSIONS', 'The account the ticket was issued to is no longer active');
      const driver = driverFor(host, config.masterKey);
      if (!driver.terminal && !driver.vncEndpoint) throw new Refusal(400, 'BAD_REQUEST', `The ${driver.type} engine has no console to relay`);
      const engineRefusal = (err: Error & { type?: string }) => {
        throw err.type === 'CONFLICT' ? new Refusal(409, 'CONFLICT', err.message) : new Refusal(503, 'SERVICE_UNAVAILABLE', err.message);
      };
      const terminal = driver.vncEndpoint
        ? await driver.vncEndpoint(session.engine_ref).then(vncSession).catch(engineRefusal)
        : await driver.terminal!(session.engine_ref).catch(engineRefusal);
      await knex('console_sessions').where({ id: session.id }).update({ terminal_id: terminal.id });
      return { session, terminal };
    } catch (err) {
      await close(session.id, err instanceof Refusal ? `refused: ${err.message}` : 'refused: gateway error');
      throw err;
    }
  }

  async function close(id: string, reason: string, bytes = { in: 0, out: 0 }) {
    await knex('console_sessions').where({ id }).update({ closed_at: knex.fn.now(), close_reason: reason.slice(0, 200), bytes_in: bytes.in, bytes_out: bytes.out });
  }

  function relay(ws: WebSocket, session: SessionRow, terminal: TerminalSession) {
    const { stream, resize, close: hangUp } = terminal;
    const bytes = { in: 0, out: 0 };
    let alive = true;
    let reason = 'client closed';
    const ping = setInterval(() => {
      if (!alive) { reason = 'client stopped answering pings'; ws.terminate(); return; }
      alive = false;
      ws.ping();
    }, PING_SECONDS * 1000);
    ws.on('pong', () => { alive = true; });
    const input = (data: Buffer | string) => {
      bytes.in += Buffer.byteLength(data);
      stream.write(data);
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary || terminal.id.startsWith('vnc:')) return input(buf);
      let control: { type?: unknown; cols?: unknown; rows?: unknown; data?: unknown };
      try {
        control = JSON.parse(buf.toString('utf8'));
      } catch {
        return input(buf);
      }
      if (control.type === 'input' && typeof control.data === 'string') return input(control.data);
      if (control.type === 'resize' && Number.isInteger(control.cols) && Number.isInteger(control.rows)) {
        const [cols, rows] = [control.cols as number, control.rows as number];
        if (cols > 0 && cols <= 1000 && rows > 0 && rows <= 1000) resize(cols, rows).catch((err: Error) => logger.debug({ err: err.message }, 'console resize failed'));
        return;
      }
      return input(buf);
    });
    stream.on('data', (chunk: Buffer) => {
      bytes.out += chunk.length;
      ws.send(chunk, { binary: true });
    });
    stream.resume();
    const shellEnded = () => { reason = 'shell exited'; ws.close(1000, 'shell exited'); };
    stream.on('end', shellEnded);
    stream.on('close', shellEnded);
    stream.on('error', (err: Error) => { reason = `engine stream error: ${err.message}`; ws.close(1011, 'engine stream error'); });
    ws.on('close', () => {
      clearInterval(ping);
      hangUp().catch((err: Error) => logger.warn({ err: err.message }, 'ending the console shell failed'));
      logger.info({ console_session: session.id, instance_id: session.instance_id, bytes_in: bytes.in, bytes_out: bytes.out, reason }, 'console closed');
      close(session.id, reason, bytes).catch((err: Error) => logger.warn({ err: err.message }, 'recording the console close failed'));
    });
    logger.info({ console_session: session.id, instance_id: session.instance_id, user_id: session.user_id }, 'console opened');
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    admit(req).then(
      ({ session, terminal }) => wss.handleUpgrade(req, socket, head, (ws) => relay(ws, session, terminal)),
      (err: unknown) => {
        const refusal = err instanceof Refusal ? err : new Refusal(500, 'INTERNAL_ERROR', 'The console gateway failed');
        if (!(err instanceof Refusal)) logger.error({ err }, 'console gateway error');
        const body = JSON.stringify({ success: false, error: { code: refusal.code, message: refusal.message } });
        socket.end(`HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      },
    );
  });

  await reapOrphans().catch((err: Error) => logger.warn({ err: err.message }, 'hanging up orphaned consoles failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.host, () => resolve());
  });
  logger.info({ port, url: publicUrl }, 'console gateway listening');
  // Said in PostgreSQL, so the API hands out tickets for this gateway without asking a worker where consoles are served.
  const announce = () => announceGateway(knex, { url: publicUrl, taskQueue: served.mainQueue ? config.taskQueue : null, agentHosts: served.agentHosts })
    .catch((err: Error) => logger.warn({ err: err.message }, 'announcing the console gateway failed'));
  await announce();
  const announcing = setInterval(announce, GATEWAY_ANNOUNCE_SECONDS * 1000).unref();
  return {
    url: publicUrl,
    async close() {
      clearInterval(announcing);
      await withdrawGateway(knex, publicUrl).catch((err: Error) => logger.warn({ err: err.message }, 'withdrawing the console gateway failed'));
      for (const ws of wss.clients) ws.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
