import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import { AppError } from '../../shared/platform/errors';
import { pageHeaders } from '../platform/http/middleware';

/**
 * A browser terminal for instance consoles (xterm.js): `/console#<ws url>` — the URL with its ticket stays in the
 * fragment, so it never reaches this server's logs, and the page drops it from the address bar once connected.
 */
const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>idcflow console</title>
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
  if (!/^wss?:\\/\\//.test(url)) { status.textContent = 'No console address: open the web_url the console endpoint gave you'; return; }
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
if (!/^wss?:\\/\\//.test(url)) { status.textContent = 'No console address: open the web_url the console endpoint gave you'; }
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
const vncPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>idcflow VM console</title>
<style>html,body{margin:0;height:100%;background:#000}#screen{height:100%}#status{position:fixed;right:8px;top:4px;color:#aaa;font:12px sans-serif;z-index:1}</style></head>
<body><div id="status">connecting…</div><div id="screen"></div>
<script type="module" src="/console/assets/vnc.js"></script></body></html>`;

const novncRoot = path.dirname(path.dirname(require.resolve('@novnc/novnc')));

export function mountConsolePage(router: Router) {
  router.get('/console/vnc', (ctx) => {
    pageHeaders(ctx, "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:");
    ctx.type = 'html';
    ctx.body = vncPage;
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
  router.get('/console', (ctx) => {
    // xterm.js styles its cells inline; the terminal's WebSocket may be on the console proxy's own address.
    pageHeaders(ctx, "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self' ws: wss:");
    ctx.type = 'html';
    ctx.body = page;
  });
  router.get('/console/assets/:file', (ctx) => {
    const asset = assets[ctx.params.file];
    if (!asset || !Object.hasOwn(assets, ctx.params.file)) throw new AppError('RESOURCE_NOT_FOUND', `No asset ${ctx.params.file}`);
    ctx.type = asset.type;
    ctx.body = asset.body ?? fs.createReadStream(asset.file!);
  });
}
