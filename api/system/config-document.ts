import type { Knex } from 'knex';
import { notFound, validationError } from '../../shared/platform/errors';
import { audit } from '../platform/audit';
import type { Caller } from '../platform/caller';
import type { AppDeps } from '../platform/deps';
import { iso } from '../platform/http/schemas';
import { VERSION } from '../../shared/platform/version';
import { defaultSettings as defaultServerSettings, SECRET_FIELDS, type SectionName } from '../userdata/settings/sections';
import { SystemConfigService } from './config';
import { CONFIG_DOCUMENT_FORMAT, CONFIG_DOCUMENT_VERSION, type ConfigDocument } from './schemas';

/** How many saved documents are kept (seed 001's "saved to disk": the loader without a body takes the newest). */
const SNAPSHOTS_KEPT = 20;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The fields of a stored section that differ from its defaults (nested objects one level deep, as they are merged). */
function changedFields(value: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value ?? {})) {
    if (isObject(v) && isObject(defaults[k])) {
      const inner = changedFields(v, defaults[k] as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else if (JSON.stringify(v) !== JSON.stringify(defaults[k])) {
      out[k] = v;
    }
  }
  return out;
}

/**
 * The platform's configuration as one versioned JSON document (seed 001's saving/loader): what was configured over
 * the environment's defaults — the system settings, seed 004's server settings without their secrets (the server
 * token and SMTP password stay where they are) — and the external cluster nodes. Loading validates the whole
 * document first, then makes each part it holds the stored one (what a part leaves out returns to its default) in
 * one transaction: all of it applies, or nothing does.
 */
export class ConfigDocumentService {
  private readonly config: SystemConfigService;

  constructor(private readonly deps: AppDeps) {
    this.config = new SystemConfigService(deps);
  }

  async export(db: Knex | Knex.Transaction = this.deps.knex): Promise<ConfigDocument> {
    const defaults = defaultServerSettings(this.deps.config) as unknown as Record<string, Record<string, unknown>>;
    const rows = await db('server_settings').orderBy('section').select('section', 'value');
    const serverSettings: Record<string, Record<string, unknown>> = {};
    for (const { section, value } of rows) {
      if (!defaults[section]) continue;
      const { [SECRET_FIELDS[section as SectionName] ?? '']: _secret, ...plain } = changedFields(value, defaults[section]);
      if (Object.keys(plain).length) serverSettings[section] = plain;
    }
    const systemSettings = Object.fromEntries((await db('system_settings').orderBy('key').select('key', 'value')).map((r) => [r.key, r.value]));
    const nodes = await db('cluster_nodes').where({ kind: 'external' }).orderBy('id');
    return {
      format: CONFIG_DOCUMENT_FORMAT, version: CONFIG_DOCUMENT_VERSION, exported_at: new Date().toISOString(),
      application: { name: 'idcflow', version: VERSION },
      system_settings: systemSettings,
      server_settings: serverSettings as ConfigDocument['server_settings'],
      cluster_nodes: nodes.map((n) => ({ id: n.id, host: n.host, ...(n.port ? { port: n.port } : {}), health_url: n.health_url, capabilities: n.capabilities, metadata: n.metadata })),
    };
  }

  /** Seed 001's saving: the document, also kept in PostgreSQL for a later loader call without a body. */
  async save(caller: Caller) {
    const document = await this.export();
    const [row] = await this.deps.knex('system_config_snapshots').insert({ document: JSON.stringify(document), created_by: caller.principal.userId }).returning(['id', 'created_at']);
    await this.deps.knex('system_config_snapshots').whereNotIn('id', this.deps.knex('system_config_snapshots').select('id').orderBy('id', 'desc').limit(SNAPSHOTS_KEPT)).delete();
    await audit(this.deps.knex, caller, { module: 'system', action: 'config_save', resourceType: 'system_config_snapshot', resourceId: row.id, message: `Configuration saved (snapshot ${row.id})` });
    return { snapshot_id: row.id, saved_at: iso(row.created_at), document };
  }

  /** The newest saved document, for a loader call without one. */
  async latest(): Promise<ConfigDocument> {
    const row = await this.deps.knex('system_config_snapshots').orderBy('id', 'desc').first('document');
    if (!row) throw notFound('saved configuration', 'latest');
    return row.document as ConfigDocument;
  }

  /** Seed 001's loader: `doc` was validated whole by its schema; every part it holds is replaced in one transaction. */
  async load(caller: Caller, doc: ConfigDocument) {
    const by = caller.principal.userId;
    const settings = await this.deps.knex.transaction(async (trx) => {
      if (doc.cluster_nodes) await this.refuseProcessIds(trx, doc.cluster_nodes.map((n) => n.id));
      if (doc.server_settings) {
        const sections = Object.keys(doc.server_settings);
        await trx('server_settings').whereNotIn('section', sections).delete();
        for (const [section, value] of Object.entries(doc.server_settings)) {
          await trx('server_settings').insert({ section, value: JSON.stringify(value), updated_by: by, updated_at: trx.fn.now() }).onConflict('section').merge();
        }
      }
      if (doc.cluster_nodes) await this.replaceExternalNodes(trx, doc.cluster_nodes, by);
      return doc.system_settings ? this.config.write(trx, doc.system_settings, by, { replace: true }) : null;
    });
    if (settings) this.deps.system.settings.set(settings);
    const loaded = {
      system_settings: Object.keys(doc.system_settings ?? {}),
      server_settings: Object.keys(doc.server_settings ?? {}),
      cluster_nodes: doc.cluster_nodes?.length ?? null,
    };
    await audit(this.deps.knex, caller, { module: 'system', action: 'config_load', resourceType: 'system_config', message: 'Configuration loaded from a document', details: { loaded } });
    return { loaded, document_version: doc.version };
  }

  private async replaceExternalNodes(trx: Knex.Transaction, nodes: NonNullable<ConfigDocument['cluster_nodes']>, by: number | null) {
    const ids = nodes.map((n) => n.id);
    await trx('cluster_nodes').where({ kind: 'external' }).whereNotIn('id', ids).delete();
    for (const n of nodes) {
      const row = {
        id: n.id, kind: 'external', host: n.host ?? new URL(n.health_url).hostname, port: n.port ?? null, health_url: n.health_url, status: 'registered',
        capabilities: JSON.stringify(n.capabilities), metadata: JSON.stringify(n.metadata), created_by: by,
      };
      await trx('cluster_nodes').insert(row).onConflict('id').merge({ ...row, updated_at: trx.fn.now() });
    }
  }

  /** An external node may not take the id of one of idcflow's own processes (checked before anything is written). */
  private async refuseProcessIds(trx: Knex.Transaction, ids: string[]) {
    const taken = new Set((await trx('cluster_nodes').whereIn('id', ids).whereNot('kind', 'external').pluck('id')) as string[]);
    const errors = ids.flatMap((id, i) => (taken.has(id) ? [{ field: `cluster_nodes.${i}.id`, location: 'body', message: 'is the id of a running idcflow process' }] : []));
    if (errors.length) throw validationError(errors);
  }
}
