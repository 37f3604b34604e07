import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html';
import { lang, t, toggleLanguage, type Key } from './i18n';
import { session } from './session';
import { ErrorBox } from './ui';
import { Dashboard } from './pages/dashboard';
import { Hosts, Instances } from './pages/compute';
import { Operations } from './pages/operations';
import { RESOURCES, ResourcePage } from './pages/resources';
import { Rentals, WireguardClients } from './pages/customer';
import { Backups } from './pages/backups';
import { SettingsPage } from './pages/settings';
import { Logs } from './pages/logs';
import { Tokens } from './pages/tokens';
import { UserData } from './pages/user-data';
import { OAuthClients } from './pages/oauth-clients';
import { Users } from './pages/users';
import { DbInstances, SyncSessions } from './pages/databases';
import { BgpSessions, Ipv6Pools } from './pages/netservices';
import { Webhooks } from './pages/webhooks';
import { SerialBatches } from './pages/serials';
import { WireguardServers } from './pages/wireguard-servers';

/**
 * The pages with their own view: those with `nav` (its label) lead the navigation in this order, the others are
 * reached from the list of domains below them. Admin pages are offered to admins only (and the API refuses them anyway).
 */
const PAGES: Array<{ id: string; view: () => unknown; nav?: Key; admin?: boolean; manager?: boolean }> = [
  { id: 'dashboard', view: Dashboard, nav: 'dashboard' }, { id: 'hosts', view: Hosts, nav: 'hosts', admin: true },
  { id: 'instances', view: Instances, nav: 'instances' }, { id: 'operations', view: Operations, nav: 'operations' },
  { id: 'backups', view: Backups, nav: 'backups', admin: true }, { id: 'logs', view: Logs, nav: 'logs', admin: true },
  { id: 'settings', view: SettingsPage, nav: 'settings', admin: true },
  { id: 'rentals', view: Rentals }, { id: 'wireguard-clients', view: WireguardClients },
  { id: 'tokens', view: Tokens }, { id: 'user-data', view: UserData }, { id: 'oauth-clients', view: OAuthClients },
  { id: 'webhooks', view: Webhooks }, { id: 'serial-batches', view: SerialBatches, admin: true },
  { id: 'users', view: Users, admin: true }, { id: 'db-instances', view: DbInstances, admin: true }, { id: 'db-sessions', view: SyncSessions, admin: true },
  { id: 'bgp-sessions', view: BgpSessions, manager: true }, { id: 'ipv6-pools', view: Ipv6Pools, manager: true },
  { id: 'wireguard-servers', view: WireguardServers, manager: true },
];

const route = () => location.hash.replace(/^#\/?/, '') || 'dashboard';

function Login({ onIn }: { onIn: () => void }) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    try {
      await session.login(String(form.get('username')), String(form.get('password')));
      onIn();
    } catch (err) { setError(err as Error); } finally { setBusy(false); }
  };
  return html`<main id="main" class="login"><h1>${t('title')}</h1>
    <form onSubmit=${submit} aria-label=${t('signIn')}>
      <label>${t('username')} <input name="username" autocomplete="username" required /></label>
      <label>${t('password')} <input name="password" type="password" autocomplete="current-password" required /></label>
      <button type="submit" disabled=${busy}>${t('signIn')}</button>
      ${error ? html`<${ErrorBox} error=${error} />` : null}
    </form>
    <button type="button" class="link" onClick=${toggleLanguage}>${t('language')}</button>
  </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(false);
  const [page, setPage] = useState(route());
  useEffect(() => {
    const on = () => setPage(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  void lang.value; // re-render on a language change
  if (!signedIn) return html`<${Login} onIn=${() => setSignedIn(true)} />`;
  const allowed = (p: { admin?: boolean; manager?: boolean }) => (!p.admin || session.isAdmin) && (!p.manager || session.isManager);
  const visible = RESOURCES.filter(allowed);
  const own = PAGES.filter(allowed);
  const resource = visible.find((r) => r.id === page);
  const View = own.find((p) => p.id === page)?.view;
  const body = View ? html`<${View} />` : resource ? html`<${ResourcePage} key=${resource.id} resource=${resource} />` : html`<${Dashboard} />`;
  return html`<a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>${t('skip')}</a>
    <header><strong>${t('title')}</strong>
      <span class="who">${t('signedInAs')} ${session.user?.username} (${session.user?.role})</span>
      <button type="button" class="link" onClick=${toggleLanguage}>${t('language')}</button>
      <button type="button" onClick=${() => session.logout().then(() => setSignedIn(false))}>${t('signOut')}</button>
    </header>
    <div class="layout">
      <nav aria-label="main"><ul>
        ${own.filter((p) => p.nav).map((p) => html`<li><a href=${`#/${p.id}`} aria-current=${page === p.id ? 'page' : undefined}>${t(p.nav!)}</a></li>`)}
        ${visible.map((r) => html`<li><a href=${`#/${r.id}`} aria-current=${page === r.id ? 'page' : undefined}>${lang.value === 'zh' ? r.zh : r.en}</a></li>`)}
      </ul></nav>
      <main id="main" tabindex="-1">${body}</main>
    </div>`;
}

document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';
render(html`<${App} />`, document.getElementById('app')!);
