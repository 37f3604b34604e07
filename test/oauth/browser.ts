/**
 * Drives the provider's sign-in and consent pages the way a browser does: a cookie jar, redirects followed by hand,
 * forms posted; stops at the client's redirect URI and says which pages it went through.
 */
export class Browser {
  private jar = new Map<string, string>();
  readonly pages: string[] = [];

  private cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { cookie: this.cookieHeader() };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.keep(res);
    return res;
  }

  /** Follows the authorization request to the redirect URI, signing in and answering the consent page on the way. */
  async authorize(start: URL, redirectUri: string, opts: { username: string; password: string; otp_code?: string; consent?: 'allow' | 'deny' }): Promise<URL> {
    let url = start.href;
    let form: Record<string, string> | undefined;
    let action: string | undefined;
    for (let hop = 0; hop < 15; hop++) {
      const res = await this.request(url, { form, method: form ? 'POST' : 'GET' });
      form = undefined;
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, url);
        if (next.href.startsWith(redirectUri)) return next;
        url = next.href;
        continue;
      }
      const html = await res.text();
      if (res.status >= 400 && !html.includes('<form')) throw new Error(`authorization stopped at ${res.status}: ${html.slice(0, 300)}`);
      const login = /action="([^"]+\/login)"/.exec(html);
      const confirm = /action="([^"]+\/confirm)"/.exec(html);
      const abort = /action="([^"]+\/abort)"/.exec(html);
      if (login && res.status === 401) throw new Error('sign-in refused');
      if (login) {
        this.pages.push('login');
        action = login[1];
        form = { username: opts.username, password: opts.password, ...(opts.otp_code ? { otp_code: opts.otp_code } : {}) };
      } else if (confirm) {
        this.pages.push('consent');
        action = (opts.consent ?? 'allow') === 'allow' ? confirm[1] : abort![1];
        form = {};
      } else {
        throw new Error(`unexpected page ${res.status}: ${html.slice(0, 300)}`);
      }
      url = new URL(action.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))), url).href;
    }
    throw new Error('too many hops');
  }
}
