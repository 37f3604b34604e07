import { useEffect, useState } from 'preact/hooks';
import { html } from '../html';
import { t, type Key } from '../i18n';
import { session } from '../session';
import { useApi, ErrorBox, show } from '../ui';
import { fieldErrors } from '../form';

type Settings = { log_level: string; max_log_size: number; backup_retention: number; session_timeout: number; api_rate_limit: number; registration_enabled: boolean };
type Config = Settings & { app_name: string; app_version: string; debug_mode: boolean; database_pool_size: number | null; sources: Record<string, string>; updated_at: string | null };

/** The editable system settings, each with its label (the API's own validation is the one that decides). */
const FIELDS: Array<{ key: keyof Settings; label: Key }> = [
  { key: 'log_level', label: 'logLevel' }, { key: 'max_log_size', label: 'maxLogSize' }, { key: 'backup_retention', label: 'backupRetention' },
  { key: 'session_timeout', label: 'sessionTimeout' }, { key: 'api_rate_limit', label: 'apiRateLimit' }, { key: 'registration_enabled', label: 'registrationEnabled' },
];
/** Settings shown as a checkbox (kept as 'true' / 'false' in the draft). */
const SWITCHES = new Set<keyof Settings>(['registration_enabled']);
/** PUT /system/config's levels (seed 003's names). */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'SILENT'];

/** System settings (admins): shown, and changed with each refused field's reason beside it. */
export function SettingsPage() {
  const config = useApi<Config>('/api/v1/system/config');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  /** What the form shows: the stored values until edited (a refused save keeps the edits). */
  const [draft, setDraft] = useState<Record<string, string>>({});
  useEffect(() => { if (config.data) setDraft(Object.fromEntries(FIELDS.map(({ key }) => [key, String(config.data![key])]))); }, [config.data]);
  const edit = (e: Event) => { const el = e.target as HTMLInputElement; setDraft((d) => ({ ...d, [el.name]: el.type === 'checkbox' ? String(el.checked) : el.value })); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!config.data) return;
    const changed: Record<string, unknown> = {};
    for (const { key } of FIELDS) {
      const raw = (draft[key] ?? '').trim();
      const value = key === 'log_level' ? raw : SWITCHES.has(key) ? raw === 'true' : raw === '' ? raw : Number(raw);
      if (value !== config.data[key]) changed[key] = value;
    }
    setErrors({}); setFailure(null); setStatus(null);
    if (!Object.keys(changed).length) { setStatus(t('noChanges')); return; }
    try {
      await session.request('PUT', '/api/v1/system/config', changed);
      setStatus(t('saved'));
      config.reload();
    } catch (err) {
      const byField = fieldErrors(err);
      if (Object.keys(byField).length) setErrors(byField); else setFailure(err as Error);
    }
  };
  const c = config.data;
  if (config.error) return html`<section><h1>${t('settings')}</h1><${ErrorBox} error=${config.error} /></section>`;
  if (!c) return html`<section><h1>${t('settings')}</h1><p aria-busy="true">${t('loading')}</p></section>`;
  return html`<section><h1>${t('settings')}</h1>
    <form class="settings" onSubmit=${submit} noValidate aria-label=${t('settings')}>
      ${FIELDS.map(({ key, label }) => {
        const problem = errors[key];
        const common = { id: `setting-${key}`, name: key, 'aria-invalid': problem ? 'true' : undefined, 'aria-describedby': problem ? `setting-${key}-error` : undefined };
        return html`<div class="field">
          <label for=${common.id}>${t(label)} <small class="muted">(${key}, ${t('source')}: ${c.sources[key] ?? '—'})</small></label>
          ${key === 'log_level'
            ? html`<select ...${common} value=${draft[key]} onChange=${edit}>${LEVELS.map((l) => html`<option value=${l}>${l}</option>`)}</select>`
            : SWITCHES.has(key)
              ? html`<input ...${common} type="checkbox" checked=${draft[key] === 'true'} onChange=${edit} />`
              : html`<input ...${common} type="number" inputmode="numeric" value=${draft[key]} onInput=${edit} />`}
          ${problem ? html`<span class="field-error" id=${`setting-${key}-error`} role="alert">${problem}</span>` : null}
        </div>`;
      })}
      <button type="submit">${t('save')}</button>
      ${status ? html`<p role="status">${status}</p>` : null}
      ${failure ? html`<${ErrorBox} error=${failure} />` : null}
    </form>
    <h2>${t('readOnly')}</h2>
    <dl class="facts">${(['app_name', 'app_version', 'debug_mode', 'database_pool_size', 'updated_at'] as const).map((k) => html`<dt>${k}</dt><dd>${show(c[k])}</dd>`)}</dl>
  </section>`;
}
