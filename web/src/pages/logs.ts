import { useEffect, useRef, useState } from 'preact/hooks';
import { unwrap } from '../../../client';
import { LOG_LEVELS, levelsFrom, type LogLevel } from '../../../shared/logs/levels';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox, Pager, show, type Pagination } from '../ui';

interface Entry { id: number; timestamp: string; level: string; source: string; module: string; action: string | null; message: string; username: string | null }
interface Detail extends Entry { details: Record<string, unknown>; stack_trace: string | null; request_id: string | null; ip_address: string | null; process: string | null }
interface Search { search?: string; level?: string; start_time?: string; end_time?: string }

const query = (s: Search & { page?: number; size?: number }) => new URLSearchParams(Object.entries(s).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)])).toString();
/** A `datetime-local` value (the browser's zone) as the API's ISO time. */
const isoOf = (local: FormDataEntryValue | null) => (local ? new Date(String(local)).toISOString() : undefined);

const COLUMNS = [
  { key: 'timestamp', label: 'time', render: (e: Entry) => show(e.timestamp) },
  { key: 'level', label: 'level', render: (e: Entry) => html`<span class="badge level-${e.level.toLowerCase()}">${e.level}</span>` },
  { key: 'module', label: 'module' }, { key: 'action', label: 'action' },
  { key: 'message', label: 'message', render: (e: Entry) => html`<span class="message">${e.message}</span>` }, { key: 'username', label: 'user' },
];

/**
 * Reads the log center's server-sent events (GET /logs/tail through the typed client: the access token goes in the
 * header, which EventSource cannot send) and calls `onEntry` for each, until `signal` aborts.
 */
async function readTail(filter: { level?: string; since_id: number }, signal: AbortSignal, onEntry: (e: Entry) => void) {
  const answer = await session.client.api.GET('/api/v1/logs/tail', { params: { query: filter }, parseAs: 'stream', signal });
  if (!answer.response.ok) unwrap(answer); // throws the envelope's error
  if (!answer.data) throw new Error('the tail answered no stream');
  const reader = (answer.data as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, end).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      buffer = buffer.slice(end + 2);
      if (data) onEntry((JSON.parse(data) as { data: Entry }).data);
    }
  }
}

/** The live tail: off, following, or paused (a resume asks for what came meanwhile with `since_id`, so nothing is missed). */
function useTail(level: string | undefined) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [mode, setMode] = useState<'off' | 'live' | 'paused'>('off');
  const [error, setError] = useState<Error | null>(null);
  const lastId = useRef(0);
  const stream = useRef<AbortController | null>(null);
  useEffect(() => {
    if (mode !== 'live') return;
    const stop = new AbortController();
    stream.current = stop;
    const onEntry = (e: Entry) => {
      if (stop.signal.aborted) return; // arrived after a pause: a resume asks for it again by since_id
      lastId.current = Math.max(lastId.current, e.id);
      setEntries((list) => [e, ...list].slice(0, 200));
    };
    readTail({ level, since_id: lastId.current }, stop.signal, onEntry).catch((e: Error) => { if (!stop.signal.aborted) { setError(e); setMode('paused'); } });
    return () => stop.abort();
  }, [mode, level]);
  const start = async () => {
    setError(null);
    try {
      const newest = await session.get<{ logs: Entry[] }>(`/api/v1/logs?${query({ level, size: 1 })}`);
      lastId.current = newest.logs[0]?.id ?? 0;
      setEntries([]);
      setMode('live');
    } catch (e) { setError(e as Error); }
  };
  // The stream closes at the click, not when the effect's cleanup runs after the next paint.
  const close = (next: 'paused' | 'off') => { stream.current?.abort(); setMode(next); };
  return { entries, mode, error, start, pause: () => close('paused'), resume: () => { setError(null); setMode('live'); }, stop: () => close('off') };
}

/** The log center (admins): search by text, level and time range, and a live tail that can be paused. */
export function Logs() {
  const [search, setSearch] = useState<Search>({});
  const [page, setPage] = useState(1);
  const list = useApi<{ logs: Entry[]; pagination: Pagination }>(`/api/v1/logs?${query({ ...search, page, size: 50 })}`);
  const tail = useTail(search.level);
  const [detail, setDetail] = useState<Detail | Error | null>(null);
  const open = (e: Entry) => session.get<Detail>(`/api/v1/logs/${e.id}`).then(setDetail, setDetail);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const level = String(form.get('level') ?? '');
    setPage(1);
    setSearch({
      search: String(form.get('search') ?? '').trim() || undefined, level: level ? levelsFrom(level as LogLevel).join(',') : undefined,
      start_time: isoOf(form.get('from')), end_time: isoOf(form.get('to')),
    });
  };
  return html`<section><h1>${t('logs')}</h1>
    <form class="create" onSubmit=${submit} aria-label=${t('search')}><fieldset><legend>${t('search')}</legend>
      <label>${t('search')} <input name="search" type="search" maxlength="200" /></label>
      <label>${t('level')} <select name="level"><option value="">${t('anyLevel')}</option>${LOG_LEVELS.map((l) => html`<option value=${l}>${l} +</option>`)}</select></label>
      <label>${t('from')} <input name="from" type="datetime-local" /></label>
      <label>${t('to')} <input name="to" type="datetime-local" /></label>
      <button type="submit">${t('search')}</button>
    </fieldset></form>
    <div class="tail">
      <h2>${t('liveTail')}</h2>
      ${tail.mode === 'off' ? html`<button type="button" onClick=${tail.start}>${t('liveTail')}</button>` : html`<div class="actions">
        ${tail.mode === 'live' ? html`<button type="button" onClick=${tail.pause}>${t('pause')}</button>` : html`<button type="button" onClick=${tail.resume}>${t('resume')}</button>`}
        <button type="button" onClick=${tail.stop}>${t('stopTail')}</button>
        <span role="status" class="tail-state" data-mode=${tail.mode}>${tail.mode === 'live' ? t('tailing') : t('paused')}</span></div>`}
      ${tail.error ? html`<${ErrorBox} error=${tail.error} />` : null}
      ${tail.mode !== 'off' ? html`<div role="log" aria-live="polite" aria-label=${t('liveTail')} class="tail-log">
        <${Table} caption=${t('liveTail')} rows=${tail.entries} columns=${COLUMNS} /></div>` : null}
    </div>
    <h2>${t('logs')}</h2>
    <${Pager} pagination=${list.data?.pagination} onPage=${setPage} />
    ${detail instanceof Error ? html`<${ErrorBox} error=${detail} />` : detail ? html`<div class="config" role="region" aria-label=${`${t('details')} #${detail.id}`}>
      <h2>${t('details')} #${detail.id}</h2>
      <dl class="facts">${(['timestamp', 'level', 'module', 'action', 'process', 'request_id', 'username', 'ip_address'] as const).map((k) => html`<dt>${k}</dt><dd>${show(detail[k])}</dd>`)}</dl>
      <p>${detail.message}</p>
      <pre tabindex="0">${JSON.stringify(detail.details, null, 2)}${detail.stack_trace ? `\n\n${detail.stack_trace}` : ''}</pre>
      <button type="button" onClick=${() => setDetail(null)}>${t('close')}</button></div>` : null}
    <${Table} caption=${t('logs')} rows=${list.data?.logs} error=${list.error} loading=${list.loading} columns=${[...COLUMNS,
      { key: 'id', label: 'actions', render: (e: Entry) => html`<button type="button" onClick=${() => open(e)}>${t('details')}</button>` }]} />
  </section>`;
}
