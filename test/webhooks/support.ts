import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received { path: string; headers: http.IncomingHttpHeaders; body: string; answered: boolean }

/**
 * A receiver on loopback that keeps every delivery: a path under /fail/ answers 500; one under /redirect/x answers 302
 * to /landed/x; the first request to a path under /hold/ is never answered (it stays in flight until its sender goes
 * away), later ones answer 204 like any other.
 */
export async function startReceiver() {
  const received: Received[] = [];
  const held = new Set<string>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const path = req.url ?? '';
      const entry: Received = { path, headers: req.headers, body, answered: false };
      received.push(entry);
      if (path.startsWith('/hold/') && !held.has(path)) {
        held.add(path);
        return;
      }
      if (path.startsWith('/redirect/')) {
        res.writeHead(302, { location: path.replace(/^\/redirect\//, '/landed/') });
        return res.end(() => { entry.answered = true; });
      }
      res.statusCode = path.startsWith('/fail/') ? 500 : 204;
      res.end(path.startsWith('/fail/') ? 'receiver is down' : undefined, () => { entry.answered = true; });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
