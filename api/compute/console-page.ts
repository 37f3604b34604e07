import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { Knex } from 'knex';
import { AppError } from '../../shared/platform/errors';
import { consoleGatewayUrl, type Config } from '../../shared/platform/config';
import { pageHeaders } from '../platform/http/middleware';
import { gatewayUrls } from '../../db/queries/compute/console-gateways';

/**
 * A browser terminal for instance consoles (xterm.js): `/console#<ws url>` — the URL with its ticket stays in the
 * fragment, so it never reaches this server's logs, and the page drops it from the address bar once connected.
 */
const page = (gateways: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>idcflow console</title>
<meta name="idcflow-console-gateways" content="${gateways}">
<link rel="stylesheet" href="/console/assets/xterm.css">
<style>html,body{margin:0;height:100%;background:#000}#term{height:100%}#status{position:fixed;right:8px;top:4px;color:#aaa;font:12px sans-serif}</style></head>
<body><div id="status">connecting…</div><div id="term"></div>
<script src="/console/assets/xterm.js"></script>
<script src="/console/assets/addon-fit.js"></script>
<script src="/console/assets/console.js"></script>
</body></html>`;

const script = `(() => {
  const status = document.getElementById('status');
  const url = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, '', location.pathname);
  const gateways = JSON.parse(document.querySelector('meta[name=idcflow-console-gateways]').content);
  const ownGateway = (u) => { try { const p = new URL(u); return (p.protocol === 'ws:' || p.protocol === 'wss:') && gateways.includes(p.origin + p.pathname); } catch { return false; } };
  if (!ownGateway(url)) { status.textContent = 'No console address of this platform: open the web_url the console endpoint gave you'; return; }
  const term = new Terminal({ cursorBlink: true, convertEol: false });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('term'));
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const resize = () => { fit.fit(); if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows })); };
  const encoder = new TextEncoder();
  ws.onopen = () => { status.textContent = ''; resize(); term.focus(); };
  ws.onmessage = (e) => term.write(new Uint8Array(e.data));
  ws.onclose = (e) => { status.textContent = 'disconnected' + (e.reason ? ': ' + e.reason : ''); };
  term.onData((d) => { if (ws.readyState === 1) ws.send(encoder.encode(d)); });
  window.addEventListener('resize', resize);
})();`;

/** The VNC page's module: noVNC's RFB on the WebSocket named in the fragment (the ticket travels in it). */
const vncScript = `import RFB from '/console/novnc/core/rfb.js';
const status = document.getElementById('status');
const url = decodeURIComponent(location.hash.slice(1));
history.replaceState(null, '', location.pathname);
const gateways = JSON.parse(document.querySelector('meta[name=idcflow-console-gateways]').content);
const ownGateway = (u) => { try { const p = new URL(u); return (p.protocol === 'ws:' || p.protocol === 'wss:') && gateways.includes(p.origin + p.pathname); } catch { return false; } };
if (!ownGateway(url)) { status.textContent = 'No console address of this platform: open the web_url the console endpoint gave you'; }
else {
  const rfb = new RFB(document.getElementById('screen'), url);
  rfb.scaleViewport = true;
  rfb.addEventListener('connect', () => { status.textContent = ''; rfb.focus(); });
  rfb.addEventListener('disconnect', (e) => { status.textContent = e.detail.clean ? 'disconnected' : 'connection lost'; });
}
`;

const assets: Record<string, { file?: string; type: string; body?: string }> = {
  'xterm.js': { file: path.join(path.dirname(require.resolve('@xterm/xterm/package.json')), 'lib/xterm.js'), type: 'application/javascript' },
  'xterm.css': { file: path.join(path.dirname(require.resolve('@xterm/xterm/package.json')), 'css/xterm.css'), type: 'text/css' },
  'addon-fit.js': { file: path.join(path.dirname(require.resolve('@xterm/addon-fit/package.json')), 'lib/addon-fit.js'), type: 'application/javascript' },
  'console.js': { body: script, type: 'application/javascript' },
  'vnc.js': { body: vncScript, type: 'application/javascript' },
};

/** The VNC screen of a VM (noVNC, as ES modules from @novnc/novnc): `/console/vnc#<ws url>`, the ticket in the fragment too. */
const vncPage = (gateways: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>idcflow VM console</title>
<meta name="idcflow-console-gateways" content="${gateways}">
<style>html,body{margin:0;height:100%;background:#000}#screen{height:100%}#status{position:fixed;right:8px;top:4px;color:#aaa;font:12px sans-serif;z-index:1}</style></head>
<body><div id="status">connecting…</div><div id="screen"></div>
<script type="module" src="/console/assets/vnc.js"></script></body></html>`;

const novncRoot = path.dirname(path.dirname(require.resolve('@novnc/novnc')));

/** A gateway's address as CSP and the page compare it: ws(s) origin and path, in characters that need no escaping in either. */
function gatewayAddress(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return null;
    const address = u.origin + u.pathname;
    return /^wss?:\/\/[A-Za-z0-9.:[\]_-]+\/[A-Za-z0-9._~/-]*$/.test(address) ? address : null;
  } catch {
    return null;
  }
}

/**
 * The console gateways of this platform (those that said in PostgreSQL they run, and this process's own): the only
 * addresses the console pages connect to. A URL in the fragment naming any other is refused by the page's script, and
 * the browser refuses it by the page's CSP connect-src anyway, so a crafted console link cannot send the terminal
 * (keystrokes, a password typed into it) to someone else's server.
 */
async function platformGateways(knex: Knex, config: Config): Promise<string[]> {
  const urls = [...await gatewayUrls(knex), consoleGatewayUrl(config)].filter((u): u is string => Boolean(u));
  return [...new Set(urls.map(gatewayAddress).filter((a): a is string => Boolean(a)))].sort();
}

const metaJson = (gateways: string[]) => JSON.stringify(gateways).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function mountConsolePage(router: Router, deps: { knex: Knex; config: Config }) {
  router.get('/console/vnc', async (ctx) => {
    const gateways = await platformGateways(deps.knex, deps.config);
    pageHeaders(ctx, `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'${gateways.map((g) => ` ${g}`).join('')}`);
    ctx.type = 'html';
    ctx.body = vncPage(metaJson(gateways));
  });
  router.get('/console/novnc/*path', (ctx) => {
    const param = (ctx.params as Record<string, string | string[]>).path;
    const rel = path.posix.normalize(Array.isArray(param) ? param.join('/') : String(param));
    if (!/^(core|vendor)\/[A-Za-z0-9_./-]+\.js$/.test(rel) || rel.includes('..')) throw new AppError('RESOURCE_NOT_FOUND', `No noVNC module ${rel}`);
    const file = path.join(novncRoot, rel);
    if (!fs.existsSync(file)) throw new AppError('RESOURCE_NOT_FOUND', `No noVNC module ${rel}`);
    ctx.type = 'application/javascript';
    ctx.body = fs.createReadStream(file);
  });
  router.get('/console', async (ctx) => {
    // xterm.js styles its cells inline; the terminal's WebSocket is on one of the platform's console gateways.
    const gateways = await platformGateways(deps.knex, deps.config);
    pageHeaders(ctx, `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'${gateways.map((g) => ` ${g}`).join('')}`);
    ctx.type = 'html';
    ctx.body = page(metaJson(gateways));
  });
  router.get('/console/assets/:file', (ctx) => {
    const asset = assets[ctx.params.file];
    if (!asset || !Object.hasOwn(assets, ctx.params.file)) throw new AppError('RESOURCE_NOT_FOUND', `No asset ${ctx.params.file}`);
    ctx.type = asset.type;
    ctx.body = asset.body ?? fs.createReadStream(asset.file!);
  });
}
