import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { clientOf } from '../../platform/caller';
import type { AppDeps } from '../../platform/deps';
import { consentPage, loginPage } from './pages';
import { InteractionSignIn } from './sign-in';

const MAX_FORM_BYTES = 16 * 1024;

async function readForm(req: Koa.Request['req']): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > MAX_FORM_BYTES) break;
  }
  return new URLSearchParams(text);
}

/** The provider's login and consent steps: GET shows the page the interaction needs; POST login / confirm / abort. */
export function interactionHandler(deps: AppDeps) {
  const signIn = new InteractionSignIn(deps);

  return async (ctx: Koa.Context, provider: Provider, uid: string, action: string | undefined) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'This sign-in request is not the one in progress');
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    const clientName = client?.clientName ?? clientId;
    const html = (status: number, body: string) => {
      ctx.status = status;
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
      ctx.body = body;
    };
    const finish = async (result: Parameters<Provider['interactionFinished']>[2], merge: boolean) => {
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    };

    if (!action) {
      if (ctx.method !== 'GET') ctx.throw(405);
      if (details.prompt.name === 'login') return html(200, loginPage(uid, clientName));
      const user = await deps.knex('users').where({ id: Number(details.session?.accountId) }).first('username');
      return html(200, consentPage(uid, clientName, user?.username ?? '', String(details.params.scope ?? '').split(' ').filter(Boolean)));
    }
    if (ctx.method !== 'POST') ctx.throw(405);
    const form = await readForm(ctx.req);
    if (action === 'abort') return finish({ error: 'access_denied', error_description: 'The user did not authorize the request' }, false);
    if (action === 'login') {
      if (details.prompt.name !== 'login') ctx.throw(400, 'This request does not need a sign-in');
      const result = await signIn.verify(clientOf(ctx), (form.get('username') ?? '').slice(0, 64), (form.get('password') ?? '').slice(0, 256), (form.get('otp_code') ?? '').trim().slice(0, 32));
      if (!result.ok) {
        if (result.retryAfter) ctx.set('Retry-After', String(result.retryAfter));
        return html(result.status, loginPage(uid, clientName, result.message));
      }
      ctx.append('Set-Cookie', result.deviceCookie);
      return finish({ login: { accountId: String(result.userId) } }, false);
    }
    if (details.prompt.name !== 'consent' || !details.session?.accountId) ctx.throw(400, 'This request does not need a consent');
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined)
      ?? new provider.Grant({ accountId: details.session!.accountId, clientId });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return finish({ consent: { grantId } }, true);
  };
}
