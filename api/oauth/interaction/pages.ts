/** The sign-in and consent pages of the OAuth provider: plain HTML forms, every value escaped. */
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}input,button{display:block;width:100%;margin:.5rem 0;padding:.5rem;font-size:1rem}.error{color:#b00020}ul{padding-left:1.2rem}</style>
</head><body>${body}</body></html>`;

export function loginPage(uid: string, clientName: string, error?: string) {
  return page('Sign in', `<h1>Sign in</h1><p>to continue to <strong>${esc(clientName)}</strong></p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/oauth/interaction/${esc(uid)}/login" autocomplete="on">
<label>Username <input name="username" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="256"></label>
<label>Authentication code (if two-factor authentication is on) <input name="otp_code" autocomplete="one-time-code" inputmode="numeric" maxlength="32"></label>
<button type="submit">Sign in</button></form>
<form method="post" action="/oauth/interaction/${esc(uid)}/abort"><button type="submit">Cancel</button></form>`);
}

export function consentPage(uid: string, clientName: string, username: string, scopes: string[]) {
  return page('Authorize', `<h1>Authorize ${esc(clientName)}</h1>
<p>Signed in as <strong>${esc(username)}</strong>. <strong>${esc(clientName)}</strong> asks for:</p>
<ul>${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
<form method="post" action="/oauth/interaction/${esc(uid)}/confirm"><button type="submit" name="decision" value="allow">Allow</button></form>
<form method="post" action="/oauth/interaction/${esc(uid)}/abort"><button type="submit" name="decision" value="deny">Deny</button></form>`);
}

/** The provider's error page (a bad authorization request that cannot be sent back to the client). */
export function errorPage(out: Record<string, unknown>) {
  return page('Sign-in error', `<h1>This sign-in request cannot go on</h1>${Object.entries(out).map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('')}`);
}
