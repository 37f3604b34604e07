import { useEffect, useState, useCallback } from 'preact/hooks';
import { html } from './html';
import { t, type Key } from './i18n';
import { session } from './session';

/** Loads `path` from the API; `reload` fetches it again. */
export function useApi<T>(path: string | null, deps: unknown[] = []) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const load = useCallback(() => {
    if (!path) return;
    setState((s) => ({ ...s, loading: true }));
    session.get<T>(path).then((data) => setState({ data, loading: false }), (error: Error) => setState({ error, loading: false }));
  }, [path, ...deps]);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

export function ErrorBox({ error }: { error: Error & { code?: string } }) {
  return html`<div class="error" role="alert"><strong>${t('error')}</strong>: ${error.code ? `${error.code} — ` : ''}${error.message}</div>`;
}

export interface Column<R> { key: string; label: Key | string; render?: (row: R) => unknown }

/** A table with a caption, loading, empty and error states. */
export function Table<R extends Record<string, unknown>>({ caption, rows, columns, error, loading }: { caption: string; rows?: R[]; columns: Column<R>[]; error?: Error; loading?: boolean }) {
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading && !rows) return html`<p aria-busy="true">${t('loading')}</p>`;
  if (!rows?.length) return html`<p class="empty">${t('empty')}</p>`;
  return html`<div class="table-wrap"><table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${label(c.label)}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${c.render ? c.render(r) : show(r[c.key])}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

/** A dictionary word when `l` is one, else `l` itself. */
export const label = (l: string) => { try { return t(l as Key) ?? l; } catch { return l; } };

export function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return new Date(v).toLocaleString();
  return String(v);
}

/** Saves `blob` as a file named `name` (the browser's download). */
export function saveFile(name: string, blob: Blob) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

export interface Pagination { page: number; pages: number; total: number }

/** Previous/next over an API list's pages (the API answers at most 100 rows a page, so a long list never freezes). */
export function Pager({ pagination, onPage }: { pagination?: Pagination; onPage: (page: number) => void }) {
  if (!pagination || pagination.pages <= 1) return null;
  const { page, pages, total } = pagination;
  return html`<nav class="pager" aria-label="pages">
    <button type="button" disabled=${page <= 1} onClick=${() => onPage(page - 1)}>‹</button>
    <span>${page} / ${pages} (${total})</span>
    <button type="button" disabled=${page >= pages} onClick=${() => onPage(page + 1)}>›</button>
  </nav>`;
}
