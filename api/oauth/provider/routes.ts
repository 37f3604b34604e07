import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { AppDeps } from '../../platform/deps';
import { interactionHandler } from '../interaction/routes';
import { OAUTH_PREFIX, createOAuthProvider } from './index';

const INTERACTION = /^\/oauth\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort))?$/;

/** How often a process checks whether another one rotated the signing key. */
const KEY_CHECK_MS = 5000;

/** The provider's reach into the app: built on first use, rebuilt after a key rotation (here or in another process). */
export class OAuthProviderHost {
  private ready?: Promise<{ provider: Provider; handle: ReturnType<Provider['callback']>; kid?: string }>;
  private checkedAt = 0;
  constructor(private readonly deps: AppDeps) {}

  private signingKid(): Promise<string | undefined> {
    return this.deps.knex('oauth_keys').whereNull('retired_at').first('kid').then((r) => r?.kid);
  }

  async get() {
    if (this.ready && Date.now() - this.checkedAt > KEY_CHECK_MS) {
      this.checkedAt = Date.now();
      const [current, built] = await Promise.all([this.signingKid(), this.ready.catch(() => undefined)]);
      if (current && built && current !== built.kid) this.ready = undefined;
    }
    if (!this.ready) {
      this.checkedAt = Date.now();
      this.ready = createOAuthProvider(this.deps).then(async (provider) => ({ provider, handle: provider.callback(), kid: await this.signingKid() }));
      this.ready.catch(() => { this.ready = undefined; });
    }
    return this.ready;
  }

  reset() {
    this.ready = undefined;
  }
}

const hosts = new WeakMap<AppDeps, OAuthProviderHost>();

/** One provider per API process (per set of dependencies). */
export function providerHostFor(deps: AppDeps): OAuthProviderHost {
  let host = hosts.get(deps);
  if (!host) hosts.set(deps, (host = new OAuthProviderHost(deps)));
  return host;
}

/** Serves /oauth: idcflow's sign-in and consent pages, and everything else by oidc-provider itself. */
export function oauthMiddleware(deps: AppDeps): Koa.Middleware {
  const host = providerHostFor(deps);
  const interaction = interactionHandler(deps);
  return async (ctx, next) => {
    if (ctx.path !== OAUTH_PREFIX && !ctx.path.startsWith(`${OAUTH_PREFIX}/`)) return next();
    let ready: Awaited<ReturnType<OAuthProviderHost['get']>>;
    try {
      ready = await host.get();
    } catch (err) {
      ctx.state.log?.error({ err: { message: (err as Error).message } }, 'the OAuth provider could not start');
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'The authorization server is starting or its database is unreachable' };
      return;
    }
    const { provider, handle } = ready;
    const match = INTERACTION.exec(ctx.path);
    if (match) {
      try {
        await interaction(ctx, provider, match[1], match[2]);
      } catch (err) {
        const e = err as { status?: number; statusCode?: number; error_description?: string; message?: string };
        const status = e.status ?? e.statusCode ?? 500;
        ctx.status = status >= 400 && status < 500 ? status : 500;
        ctx.type = 'text';
        ctx.body = status < 500 ? (e.error_description ?? e.message ?? 'Bad request') : 'Internal error';
        if (status >= 500) ctx.state.log?.error({ err: { message: e.message } }, 'oauth interaction failed');
      }
      return;
    }
    ctx.respond = false;
    const req = ctx.req as typeof ctx.req & { originalUrl?: string };
    req.originalUrl = req.url;
    req.url = req.url!.slice(OAUTH_PREFIX.length) || '/';
    await handle(req, ctx.res);
  };
}
