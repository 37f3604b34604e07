import { useEffect, useState } from 'preact/hooks';
import { html } from './html';
import { t } from './i18n';
import { session, type Operation } from './session';
import { ErrorBox, label } from './ui';

const ENDED = ['succeeded', 'failed', 'canceled'];

/** Follows an operation live (the API's long poll) until it ends: a progress bar, its step, and a cancel button while it runs. */
export function OperationProgress({ id, onDone }: { id: string; onDone?: (op: Operation) => void }) {
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    session.follow(id, setOp, stop.signal).then((end) => { setOp(end); onDone?.(end); }, (e: Error) => { if (!stop.signal.aborted) setError(e); });
    return () => stop.abort();
  }, [id]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  const running = !op || !ENDED.includes(op.status);
  const percent = op?.progress.percent ?? 0;
  return html`<div class="operation" data-status=${op?.status ?? 'pending'} aria-live="polite">
    <div class="op-head"><span>${op?.type ?? id}</span> <span class="badge ${op?.status}">${op ? label(op.status) : t('loading')}</span></div>
    <progress max="100" value=${percent} aria-label=${t('progress')}>${percent}%</progress>
    <div class="op-step">${percent}% ${op?.progress.step ?? ''} ${op?.progress.message ?? ''}</div>
    ${op?.error ? html`<div class="error" role="alert">${op.error.code}: ${op.error.message}</div>` : null}
    ${running ? html`<button type="button" onClick=${() => session.request('POST', `/api/v1/operations/${encodeURIComponent(id)}/cancel`).catch(setError)}>${t('cancel')}</button>` : null}
  </div>`;
}

/**
 * What every page that starts operations uses: `start` sends the request (any answer carrying `operation.id`; a route
 * that waits for its operation is sent `Prefer: respond-async` in `headers`), and
 * `view` shows the refusal, or the started operation followed until it ends (then `onDone`, e.g. reloading the list).
 */
export function useOperation(onDone?: (op: Operation) => void) {
  const [id, setId] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const start = async (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<boolean> => {
    setError(null);
    try {
      const data = await session.request<{ operation: { id: string } }>(method, path, body, headers);
      setId(data.operation.id);
      return true;
    } catch (e) { setError(e as Error); return false; }
  };
  const view = html`${error ? html`<${ErrorBox} error=${error} />` : null}${id ? html`<${OperationProgress} key=${id} id=${id} onDone=${onDone} />` : null}`;
  /** Follows an operation started by the caller's own request (e.g. a form that shows its refused fields itself). */
  const follow = (operationId: string) => { setError(null); setId(operationId); };
  return { start, follow, view, error };
}
