import { html } from '../html';
import { t, type Key } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox, show, type Column } from '../ui';
import { useOperation } from '../operation';
import { useForm, confirmed } from '../form';

type Row = { id: number; state: string } & Record<string, unknown>;
type Quota = { quota: Record<string, number>; used: Record<string, number> };
interface Input { name: string; label: Key; kind: 'number' | 'text' | 'select' | 'checkbox'; options?: string[]; required?: boolean }
interface Kind { path: string; key: string; title: Key; quota: string; inputs: Input[]; columns: Column<Row>[] }

/** The instance's three kinds of networking (api/networking): each change is an operation the host's agent applies. */
const KINDS: Kind[] = [
  {
    path: 'port-forwards', key: 'port_forwards', title: 'portForwards', quota: 'nat_ports',
    inputs: [{ name: 'protocol', label: 'protocol', kind: 'select', options: ['tcp', 'udp'] }, { name: 'external_port', label: 'externalPort', kind: 'number' }, { name: 'internal_port', label: 'internalPort', kind: 'number', required: true }],
    columns: [{ key: 'protocol', label: 'protocol' }, { key: 'external_port', label: 'external', render: (r) => `${show(r.external_address)}:${show(r.external_port)}` }, { key: 'internal_port', label: 'internal', render: (r) => `${show(r.internal_address)}:${show(r.internal_port)}` }],
  },
  {
    path: 'addresses', key: 'addresses', title: 'addresses', quota: 'addresses',
    inputs: [{ name: 'family', label: 'family', kind: 'select', options: ['4', '6'] }, { name: 'address', label: 'address', kind: 'text' }],
    columns: [{ key: 'address', label: 'boundAddress', render: (r) => `${show(r.address)}/${show(r.prefix)}` }, { key: 'internal_address', label: 'internal' }, { key: 'interface', label: 'iface' }],
  },
  {
    path: 'proxies', key: 'proxies', title: 'proxies', quota: 'proxies',
    inputs: [{ name: 'domain', label: 'domain', kind: 'text', required: true }, { name: 'target_port', label: 'targetPort', kind: 'number', required: true }, { name: 'tls', label: 'tls', kind: 'checkbox' }],
    columns: [{ key: 'domain', label: 'domain' }, { key: 'target_port', label: 'targetPort' }, { key: 'tls', label: 'tls' }, {
      // A domain is served only once proven: the TXT record that proves it (or an HTTP token), then Verify.
      key: 'verification', label: 'domainProof', render: (r) => {
        const v = r.verification as { status: string; dns: { name: string; value: string }; error: string | null } | undefined;
        if (!v || v.status === 'verified') return html`<span class="badge active">${t('domainVerified')}</span>`;
        return html`<span>${t('proveWith')} <code>${v.dns.name}</code> = <code>${v.dns.value}</code>${v.error ? html`<br /><small class="muted">${v.error}</small>` : null}</span>`;
      },
    }],
  },
];

/** The request body of a kind's form: empty optional fields left out (the API then chooses), numbers as numbers. */
function bodyOf(kind: Kind, data: FormData): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const input of kind.inputs) {
    const raw = String(data.get(input.name) ?? '').trim();
    if (input.kind === 'checkbox') body[input.name] = data.get(input.name) === 'on';
    else if (raw === '') continue;
    else body[input.name] = input.kind === 'number' || input.name === 'family' ? Number(raw) : raw;
  }
  return body;
}

function Section({ instance, kind, quota, onChange }: { instance: string; kind: Kind; quota?: Quota; onChange: () => void }) {
  const base = `/api/v1/instances/${encodeURIComponent(instance)}/${kind.path}`;
  const list = useApi<Record<string, Row[]>>(base);
  const operation = useOperation(() => { list.reload(); onChange(); });
  const form = useForm(`${kind.path}-${instance}`);
  const add = async (e: Event) => {
    e.preventDefault();
    const started = await form.run(() => session.request<{ operation: { id: string } }>('POST', base, bodyOf(kind, new FormData(e.target as HTMLFormElement))));
    if (started) { operation.follow(started.operation.id); list.reload(); }
  };
  const verify = (r: Row) => void operation.start('POST', `${base}/${r.id}/verify`).then(() => list.reload());
  const remove = (r: Row) => { if (confirmed(`${t(kind.title)} #${r.id}`)) void operation.start('DELETE', `${base}/${r.id}`).then(() => list.reload()); };
  const title = t(kind.title);
  const used = quota ? ` — ${quota.used[kind.quota]} / ${quota.quota[kind.quota]}` : '';
  return html`<section aria-label=${title}><h3>${title}<small class="muted">${used}</small></h3>
    <form class="create" onSubmit=${add} noValidate aria-label=${`${t('add')}: ${title}`}><fieldset><legend>${t('add')}: ${title}</legend>
      ${kind.inputs.map((i) => (i.kind === 'checkbox' ? html`<label class="inline"><input type="checkbox" name=${i.name} /> ${t(i.label)}</label>`
        : i.kind === 'select' ? form.field(i.name, t(i.label), (a) => html`<select ...${a}>${i.options!.map((o) => html`<option value=${o}>${o}</option>`)}</select>`)
          : form.input(i.name, t(i.label), { type: i.kind, required: i.required, ...(i.kind === 'number' ? { min: 1, max: 65535, inputmode: 'numeric' } : { autocomplete: 'off' }) })))}
      <button type="submit">${t('add')}</button>
    </fieldset></form>
    ${form.failureView}${operation.view}
    <${Table} caption=${title} rows=${list.data?.[kind.key]} error=${list.error} loading=${list.loading} columns=${[...kind.columns,
      { key: 'state', label: 'state', render: (r: Row) => html`<span class="badge ${r.state}">${r.state}</span>` },
      { key: 'id', label: 'actions', render: (r: Row) => html`${(r.verification as { status?: string } | undefined)?.status === 'pending' ? html`<button type="button" aria-label=${`${t('verifyDomain')} ${show(r.domain)}`} onClick=${() => verify(r)}>${t('verifyDomain')}</button> ` : null}<button type="button" class="danger" aria-label=${`${t('delete')} ${title} #${r.id}`} onClick=${() => remove(r)}>${t('delete')}</button>` }]} />
  </section>`;
}

/** An instance's port forwards, bound addresses and reverse proxies, with the owner's quota use beside each (customers). */
export function InstanceNetworking({ instance, name, onClose }: { instance: string; name: string; onClose: () => void }) {
  const quota = useApi<Quota>(session.isAdmin || !session.user ? null : `/api/v1/users/${session.user.id}/network-quota`);
  return html`<div class="config" role="region" aria-label=${`${t('networking')}: ${name}`}>
    <h2>${t('networking')}: ${name}</h2>
    ${quota.error ? html`<${ErrorBox} error=${quota.error} />` : null}
    ${KINDS.map((k) => html`<${Section} key=${k.path} instance=${instance} kind=${k} quota=${quota.data} onChange=${quota.reload} />`)}
    <button type="button" onClick=${onClose}>${t('close')}</button>
  </div>`;
}
