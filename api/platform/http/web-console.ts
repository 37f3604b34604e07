import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type Koa from 'koa';
import type Router from '@koa/router';
import { AppError } from '../../../shared/platform/errors';
import { pageHeaders } from './middleware';

/** web/ beside the sources, or two levels up from dist/api/platform/http when built. */
const WEB_DIR = [path.join(__dirname, '..', '..', '..', 'web'), path.join(__dirname, '..', '..', '..', '..', 'web')].find((d) => fs.existsSync(path.join(d, 'src', 'main.ts'))) ?? 'web';

const indexPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>idcflow</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/app.css"></head>
<body><div id="app"></div><noscript>The idcflow console needs JavaScript; the API is at /api/v1 and its documentation at /docs.</noscript>
<script type="module" src="/ui/app.js"></script></body></html>`;

interface Asset { type: string; raw: Buffer; gzip: Buffer; brotli: Buffer }

/** The console's bundle, made once per process by esbuild from web/src (a fraction of a second), kept compressed. */
let bundle: Promise<Record<string, Asset>> | null = null;
async function build(): Promise<Record<string, Asset>> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(WEB_DIR, 'src', 'main.ts')], bundle: true, minify: true, format: 'esm', target: 'es2022', write: false,
    outfile: 'app.js', legalComments: 'none', logLevel: 'silent',
  });
  const asset = (type: string, raw: Buffer): Asset => ({
    type, raw, gzip: zlib.gzipSync(raw, { level: 9 }), brotli: zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }),
  });
  return {
    'app.js': asset('application/javascript; charset=utf-8', Buffer.from(result.outputFiles[0].contents)),
    'app.css': asset('text/css; charset=utf-8', Buffer.concat([fs.readFileSync(require.resolve('uplot/dist/uPlot.min.css')), fs.readFileSync(path.join(WEB_DIR, 'style.css'))])),
  };
}

export function webAssets(): Promise<Record<string, Asset>> {
  bundle ??= build().catch((err) => { bundle = null; throw err; });
  return bundle;
}

function send(ctx: Koa.Context, asset: Asset) {
  const accepted = ctx.acceptsEncodings('br', 'gzip', 'identity');
  ctx.type = asset.type;
  ctx.vary('Accept-Encoding');
  ctx.set('Cache-Control', 'no-cache');
  if (accepted === 'br') { ctx.set('Content-Encoding', 'br'); ctx.body = asset.brotli; } else if (accepted === 'gzip') { ctx.set('Content-Encoding', 'gzip'); ctx.body = asset.gzip; } else ctx.body = asset.raw;
}

/** The web console at `/`: one page, its script and styles from this origin only, talking to /api/v1 with the user's login. */
export function mountWebConsole(router: Router) {
  router.get('/', (ctx) => {
    pageHeaders(ctx, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'");
    ctx.type = 'html';
    ctx.body = indexPage;
  });
  router.get('/ui/:file', async (ctx) => {
    const assets = await webAssets();
    const asset = Object.hasOwn(assets, ctx.params.file) ? assets[ctx.params.file] : undefined;
    if (!asset) throw new AppError('RESOURCE_NOT_FOUND', `No console asset ${ctx.params.file}`);
    send(ctx, asset);
  });
}
