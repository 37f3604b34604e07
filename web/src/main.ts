import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html';
import { lang, t, toggleLanguage } from './i18n';
import { session } from './session';
import { ErrorBox } from './ui';
import { Dashboard } from './pages/dashboard';
import { Hosts, Instances } from './pages/compute';
import { Operations } from './pages/operations';
import { RESOURCES, ResourcePage } from './pages/resources';
import { Rentals, WireguardClients } from './pages/customer';

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
  const visible = RESOURCES.filter((r) => !r.admin || session.isAdmin);
  const core = [['dashboard', t('dashboard')], ...(session.isAdmin ? [['hosts', t('hosts')]] : []), ['instances', t('instances')], ['operations', t('operations')]];
  const resource = visible.find((r) => r.id === page);
  const body = page === 'hosts' && session.isAdmin ? html`<${Hosts} />`
    : page === 'instances' ? html`<${Instances} />`
      : page === 'operations' ? html`<${Operations} />`
        : page === 'rentals' ? html`<${Rentals} />`
          : page === 'wireguard-clients' ? html`<${WireguardClients} />`
            : resource ? html`<${ResourcePage} key=${resource.id} resource=${resource} />`
          : html`<${Dashboard} />`;
  return html`<a class="skip" href="#main" onClick=${(e: Event) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>${t('skip')}</a>
    <header><strong>${t('title')}</strong>
      <span class="who">${t('signedInAs')} ${session.user?.username} (${session.user?.role})</span>
      <button type="button" class="link" onClick=${toggleLanguage}>${t('language')}</button>
      <button type="button" onClick=${() => session.logout().then(() => setSignedIn(false))}>${t('signOut')}</button>
    </header>
    <div class="layout">
      <nav aria-label="main"><ul>
        ${core.map(([id, name]) => html`<li><a href=${`#/${id}`} aria-current=${page === id ? 'page' : undefined}>${name}</a></li>`)}
        ${visible.map((r) => html`<li><a href=${`#/${r.id}`} aria-current=${page === r.id ? 'page' : undefined}>${lang.value === 'zh' ? r.zh : r.en}</a></li>`)}
      </ul></nav>
      <main id="main" tabindex="-1">${body}</main>
    </div>`;
}

document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';
render(html`<${App} />`, document.getElementById('app')!);
