import { html } from '../html';
import { lang, t } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox } from '../ui';
import { ActiveAlerts, HostMetrics } from './monitoring';

interface Instance { state: string }
interface Op { id: string; type: string; status: string; progress: { percent: number; step: string | null }; created_at: string; resource: { type: string; name: string | null; id: string } }

/** Counts from the API itself: hosts, instances by state, operations running and failed; for operators, the hosts' metrics and the active alerts. */
export function Dashboard() {
  const instances = useApi<{ instances: Instance[]; pagination: { total: number } }>('/api/v1/instances?size=100');
  const running = useApi<{ operations: Op[]; pagination: { total: number } }>('/api/v1/operations?status=running&size=10');
  const failed = useApi<{ operations: Op[]; pagination: { total: number } }>('/api/v1/operations?status=failed&size=5');
  const hosts = useApi<{ hosts: unknown[]; pagination: { total: number } }>(session.isAdmin ? '/api/v1/hosts?size=1' : null);
  const byState = new Map<string, number>();
  for (const i of instances.data?.instances ?? []) byState.set(i.state, (byState.get(i.state) ?? 0) + 1);
  const max = Math.max(1, ...byState.values());
  return html`<section aria-labelledby="dash-title">
    <h1 id="dash-title">${t('dashboard')}</h1>
    <div class="cards">
      ${session.isAdmin ? html`<div class="card"><span class="num">${hosts.data?.pagination.total ?? '…'}</span><span>${t('hosts')}</span></div>` : null}
      <div class="card"><span class="num">${instances.data?.pagination.total ?? '…'}</span><span>${t('instances')}</span></div>
      <div class="card"><span class="num">${running.data?.pagination.total ?? '…'}</span><span>${t('running')}</span></div>
      <div class="card warn"><span class="num">${failed.data?.pagination.total ?? '…'}</span><span>${t('failed')}</span></div>
    </div>
    ${session.isOperator ? html`<h2>${t('activeAlerts')}</h2><${ActiveAlerts} /><h2>${t('metrics')}</h2><${HostMetrics} zh=${lang.value === 'zh'} />` : null}
    <h2>${t('instancesByState')}</h2>
    ${instances.error ? html`<${ErrorBox} error=${instances.error} />` : html`<ul class="bars" aria-label=${t('instancesByState')}>
      ${[...byState].map(([state, n]) => html`<li><span class="bar-label">${state}</span><span class="bar" style=${{ width: `${(n / max) * 100}%` }}></span><span>${n}</span></li>`)}
    </ul>`}
    <h2>${t('recentOperations')}</h2>
    <${Table} caption=${t('failed')} rows=${failed.data?.operations} error=${failed.error} loading=${failed.loading} columns=${[
      { key: 'type', label: 'type' }, { key: 'resource', label: 'resource', render: (o: Op) => `${o.resource.type}/${o.resource.name ?? o.resource.id}` }, { key: 'created_at', label: 'created' },
    ]} />
  </section>`;
}
