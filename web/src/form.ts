import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../client';
import { html } from './html';
import { t } from './i18n';
import { ErrorBox, saveFile } from './ui';

/** The 422 envelope's `details.errors`, by field (`redirect_uris.0` counts for `redirect_uris`). */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || err.code !== 'VALIDATION_ERROR') return {};
  const list = (err.details.errors ?? []) as Array<{ field: string; message: string }>;
  const out: Record<string, string> = {};
  for (const e of list) {
    const name = e.field.split('.')[0];
    out[name] = out[name] ? `${out[name]}; ${e.message}` : e.message;
  }
  return out;
}

type Control = Record<string, unknown> & { id: string; name: string };

/**
 * A form's submission and its errors: `run` sends (any promise), a refused field's reason is shown beside that field
 * (`aria-invalid`, described by the message), any other refusal above the button. `id` keeps the fields' ids unique.
 */
export function useForm(id: string) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Error | null>(null);
  /** The fields this form shows: a refusal naming any other one is shown whole, above the button. */
  const shown = useRef(new Set<string>());
  const run = async <T>(send: () => Promise<T>): Promise<T | undefined> => {
    setErrors({}); setFailure(null);
    try { return await send(); } catch (err) {
      const byField = fieldErrors(err);
      setErrors(byField);
      if (!Object.keys(byField).length || Object.keys(byField).some((name) => !shown.current.has(name))) setFailure(err as Error);
      return undefined;
    }
  };
  /** A labelled control: `control` gets the id, name and error attributes to spread on the input, select or textarea. */
  const field = (name: string, label: string, control: (attrs: Control) => unknown) => {
    shown.current.add(name);
    const problem = errors[name];
    const attrs: Control = { id: `${id}-${name}`, name, 'aria-invalid': problem ? 'true' : undefined, 'aria-describedby': problem ? `${id}-${name}-error` : undefined };
    return html`<div class="field">
      <label for=${attrs.id}>${label}</label>${control(attrs)}
      ${problem ? html`<span class="field-error" id=${`${id}-${name}-error`} role="alert">${problem}</span>` : null}
    </div>`;
  };
  const input = (name: string, label: string, extra: Record<string, unknown> = {}) => field(name, label, (a) => html`<input ...${a} ...${extra} />`);
  const unshown = Object.entries(errors).filter(([name]) => !shown.current.has(name));
  const failureView = failure ? html`<${ErrorBox} error=${failure} />${unshown.length
    ? html`<ul class="field-error" role="alert">${unshown.map(([name, message]) => html`<li>${name}: ${message}</li>`)}</ul>` : null}` : null;
  return { errors, setErrors, failure, run, field, input, failureView };
}

/** A confirmation before something is deleted or revoked (the console's one pattern: the browser's own dialog). */
export const confirmed = (what: string) => confirm(`${t('confirmDelete')}\n\n${what}`);

/**
 * A secret shown once, right after its creation: selectable, with a copy button, and a warning it will not be shown
 * again. Several lines (e.g. a batch of codes) are shown in a text area; `filename` offers them as a text file too.
 */
export function SecretOnce({ title, secret, onClose, filename }: { title: string; secret: string; onClose: () => void; filename?: string }) {
  const [copied, setCopied] = useState(false);
  const box = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const select = (e: Event) => (e.target as HTMLInputElement).select();
  useEffect(() => box.current?.focus(), [secret]); // focused (and so selected) as it appears, for keyboard and screen-reader users
  const copy = async () => {
    try { await navigator.clipboard.writeText(secret); } catch { box.current!.select(); document.execCommand('copy'); }
    setCopied(true);
  };
  return html`<div class="config secret" role="region" aria-label=${title}>
    <h2>${title}</h2>
    <p>${t('secretOnce')}</p>
    ${secret.includes('\n')
    ? html`<textarea ref=${box} readonly value=${secret} aria-label=${title} cols="40" rows=${Math.min(12, secret.split('\n').length)} onFocus=${select}></textarea><br />`
    : html`<input ref=${box} readonly value=${secret} aria-label=${title} size="60" onFocus=${select} />`}
    <button type="button" onClick=${copy}>${t('copy')}</button>
    ${filename ? html`<button type="button" onClick=${() => saveFile(filename, new Blob([`${secret}\n`], { type: 'text/plain' }))}>${t('downloadTxt')}</button>` : null}
    ${copied ? html`<span role="status">${t('copied')}</span>` : null}
    <button type="button" onClick=${onClose}>${t('close')}</button>
  </div>`;
}
