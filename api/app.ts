import path from 'node:path';
import fs from 'node:fs';
import Koa from 'koa';
import Router from '@koa/router';
import cors from '@koa/cors';
import { bodyParser } from '@koa/bodyparser';
import client from 'prom-client';
import type { AppDeps } from './platform/deps';
import { createAuthenticator } from './platform/auth/credentials';
import { requirePermission } from './platform/auth/principal';
import { mount } from './platform/http/route';
import { errorHandler, metrics, pageHeaders, requestContext, securityHeaders } from './platform/http/middleware';
import { AppError } from '../shared/platform/errors';
import { createRegistry, docsInitScript, docsPage, openApiDocument } from './platform/http/openapi';
import { mountConsolePage } from './compute/console-page';
import { mountWebConsole } from './platform/http/web-console';
import { VERSION } from '../shared/platform/version';
import { DOMAINS } from './domains';
import { withMaintenance } from './userdata/settings/enforce';
import { oauthMiddleware } from './oauth/provider/routes';
import { restoreMaintenance } from './availability/maintenance';
import { ApiRateLimit, countingRefusals } from './system/rate-limit';
import { AgentIdentityService } from './compute/agent-identity';

/** `metricsRegistry`: prom-client's registry for /metrics (given, the caller reads it too: the monitoring sampler). */
export function createApp(deps: AppDeps, metricsRegistry = new client.Registry()): Koa {
  // IDCFLOW_TRUST_PROXY hops: ctx.ip is the X-Forwarded-For entry that many places from the right (what the nearest
  // trusted proxy saw), never an entry the client wrote further left.
  const app = new Koa({ proxy: deps.config.trustProxy > 0, maxIpsCount: deps.config.trustProxy });
  // A client that leaves a streamed answer (a download, a log tail) before its end is not the server's error.
  app.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
    deps.logger.error({ err }, 'unhandled error in a response');
  });
  client.collectDefaultMetrics({ register: metricsRegistry });
  const registry = createRegistry();
  const rateLimit = new ApiRateLimit(deps.system.settings);
  // A request with a bad credential counts against its address's rate limit before it is refused.
  const authenticate = countingRefusals(withMaintenance(createAuthenticator(deps), deps), rateLimit);
  const allowedOrigins = new Set(deps.config.corsOrigins);
  const admit = (ctx: Koa.Context, principal: Parameters<ApiRateLimit['admit']>[0]) => rateLimit.admit(principal, ctx.ip || null);
  // Host agents sign their requests (/agent/*); a refused signature costs the address's allowance too.
  const agents = new AgentIdentityService(deps);
  const authenticateAgent = async (ctx: Koa.Context) => {
    try {
      return await agents.authenticate({
        authorization: ctx.get('authorization'), method: ctx.method, url: ctx.originalUrl, rawBody: (ctx.request as { rawBody?: string }).rawBody ?? '',
      });
    } catch (err) {
      if (err instanceof AppError && (err.code === 'INVALID_CREDENTIALS' || err.code === 'TOKEN_EXPIRED')) await rateLimit.admit(null, ctx.ip || null);
      throw err;
    }
  };

  app.use(requestContext(deps.logger));
  app.use(securityHeaders());
  // The OAuth 2.0 / OpenID Connect provider answers /oauth in its own formats (RFC 6749 errors), before the API's middleware.
  app.use(oauthMiddleware(deps));
  app.use(errorHandler());
  app.use(metrics(metricsRegistry));
  app.use(cors({
    // Only listed origins get CORS headers, and never `*` together with credentials.
    origin: (ctx) => (allowedOrigins.has(ctx.get('origin')) ? ctx.get('origin') : ''),
    credentials: true,
    exposeHeaders: ['Location', 'X-Request-Id', 'Retry-After'],
  }));
  // Seed 004 sends its credentials in the body of GET and DELETE requests too.
  app.use(bodyParser({ parsedMethods: ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'], enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }));
  app.use(restoreMaintenance(deps.knex));

  const native = new Router({ prefix: '/api/v1' });
  mount(native, DOMAINS.flatMap((d) => d.native(deps)), { prefix: '/api/v1', authenticate, registry, admit, authenticateAgent });
  const compat = new Router();
  mount(compat, DOMAINS.flatMap((d) => d.compat(deps)), { prefix: '', authenticate, registry, admit });

  const doc = openApiDocument(registry, VERSION);
  const plain = new Router();
  plain.get('/api/v1/openapi.json', (ctx) => { ctx.body = doc; });
  plain.get('/docs', (ctx) => {
    // Swagger UI: its own scripts and styles (it sets inline styles), and calls to this API only.
    pageHeaders(ctx, "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'");
    ctx.type = 'html';
    ctx.body = docsPage('/api/v1/openapi.json');
  });
  plain.get('/docs/assets/init.js', (ctx) => { ctx.type = 'application/javascript'; ctx.body = docsInitScript; });
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  plain.get('/docs/assets/:file', (ctx) => {
    const file = ctx.params.file;
    if (!['swagger-ui.css', 'swagger-ui-bundle.js'].includes(file)) throw new AppError('RESOURCE_NOT_FOUND', `No asset ${file}`);
    ctx.type = path.extname(file);
    ctx.body = fs.createReadStream(path.join(swaggerDir, file));
  });
  mountConsolePage(plain, deps);
  mountWebConsole(plain);
  plain.get('/metrics', async (ctx) => {
    const principal = await authenticate(ctx, 'header');
    if (!principal) throw new AppError('INVALID_CREDENTIALS', 'Authentication required: send a valid token');
    requirePermission(principal, 'admin');
    ctx.type = metricsRegistry.contentType;
    ctx.body = await metricsRegistry.metrics();
  });

  // allowedMethods answers 405/501 with an Allow header; errorHandler() puts those answers in the envelope.
  for (const router of [native, compat, plain]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}
