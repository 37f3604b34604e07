import { conflict, notFound, validationError } from '../../shared/platform/errors';
import { seal } from '../../shared/platform/crypto';
import { bgpApplyWorkflow } from '../../workflows/netservices/runbooks';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { iso, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { OperationService } from '../platform/operations/service';
import { presentOperation } from '../platform/operations/present';
import { networkHost } from './hosts';
import { refuseWhileBusy } from './busy';
import type { CreateAnnouncementBody, CreateSessionBody } from './schemas';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const pgCode = (err: unknown) => ((err as { nativeError?: { code?: string } }).nativeError ?? (err as { code?: string })).code;
const field = (name: string, message: string) => validationError([{ field: name, location: 'body', message }]);

/** BGP sessions, announcements and the ranges a host may announce (admins and managers). BIRD is changed by operations on the host's agent. */
export class BgpService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService) {}

  private get knex() { return this.deps.knex; }

  presentSession(s: Row) {
    return {
      id: s.id, name: s.name, host_id: s.host_id, neighbor: s.neighbor, remote_as: Number(s.remote_as), local_as: Number(s.local_as), has_password: Boolean(s.password_sealed),
      enabled: s.enabled, status: s.status, info: s.info ?? null, last_error: s.last_error ?? null,
      uptime: s.status === 'established' && s.state_since ? Math.max(0, Math.floor((Date.now() - new Date(s.state_since).getTime()) / 1000)) : null,
      routes_received: s.routes_received ?? null, routes_advertised: s.routes_advertised ?? null, last_update: iso(s.last_update), created_at: iso(s.created_at),
    };
  }

  async sessionRow(id: number): Promise<Row> {
    const s = await this.knex('bgp_sessions').where({ id }).first();
    if (!s) throw notFound('BGP session', id);
    return s;
  }

  async listSessions(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows(this.knex('bgp_sessions').orderBy('id'), q.page, q.size);
    return { sessions: rows.map((s) => this.presentSession(s)), pagination };
  }

  /** Applies the host's BIRD configuration as an operation; `session` enables or disables one first. */
  private async apply(caller: Caller, hostId: number, resource: { type: string; id: number; name: string; url: string }, request: unknown, session?: { id: number; enabled: boolean }) {
    const host = (await this.knex('hosts').where({ id: hostId }).first('name'))?.name ?? null;
    return this.operations.start(caller, request, () => ({
      type: session ? `bgp.session.${session.enabled ? 'start' : 'stop'}` : 'bgp.apply', resource, host,
      workflow: bgpApplyWorkflow, input: { hostId, session, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
      summary: `BGP on ${host}: ${resource.type} ${resource.name}${session ? (session.enabled ? ' start' : ' stop') : ''}`,
    }));
  }

  private ref(started: { operation: Parameters<typeof presentOperation>[0] }) {
    const view = presentOperation(started.operation);
    return { id: view.id, status: view.status, links: view.links };
  }

  private sessionResource = (s: Row) => ({ type: 'bgp_session', id: s.id as number, name: s.name as string, url: `/api/v1/bgp/sessions/${s.id}` });

  async createSession(caller: Caller, body: CreateSessionBody) {
    const host = await networkHost(this.knex, body.host_id);
    try {
      const [row] = await this.knex('bgp_sessions').insert({
        name: body.name, host_id: host.id, neighbor: body.neighbor, remote_as: body.remote_as, local_as: body.local_as,
        password_sealed: body.password ? seal(body.password, this.deps.config.masterKey) : null, enabled: body.enabled, created_by: caller.principal.userId,
      }).returning('*');
      await audit(this.knex, caller, { module: 'netservices', action: 'bgp_session.create', message: `BGP session ${row.name} to ${row.neighbor} AS${row.remote_as} on ${host.name}`, resourceType: 'bgp_session', resourceId: row.id });
      const started = await this.apply(caller, host.id, this.sessionResource(row), { action: 'create', session: row.id });
      return { ...this.presentSession(row), operation: this.ref(started) };
    } catch (err) {
      if (pgCode(err) === '23505') throw conflict(`A BGP session with this name, or to ${body.neighbor} on host ${host.name}, exists`, { field: 'name' });
      throw err;
    }
  }

  async setSession(caller: Caller, id: number, enabled: boolean) {
    const s = await this.sessionRow(id);
    const started = await this.apply(caller, s.host_id, this.sessionResource(s), { action: enabled ? 'start' : 'stop', session: id }, { id, enabled });
    const at = enabled ? 'started_at' : 'stopped_at';
    return this.operations.respond(caller, started, (r) => ({ id, status: r.status ?? (enabled ? 'idle' : 'disabled'), last_error: r.last_error ?? null, [at]: new Date().toISOString() }),
      enabled ? 'BGP会话启动成功' : 'BGP session stopped');
  }

  async deleteSession(caller: Caller, id: number) {
    const s = await this.sessionRow(id);
    await refuseWhileBusy(this.deps.temporal, caller, 'bgp_session', id);
    await this.knex('bgp_sessions').where({ id }).delete();
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_session.delete', message: `BGP session ${s.name} deleted`, resourceType: 'bgp_session', resourceId: id });
    const started = await this.apply(caller, s.host_id, this.sessionResource(s), { action: 'delete', session: id });
    return { id, name: s.name, deleted: true, operation: this.ref(started) };
  }

  presentAnnouncement(a: Row) {
    return {
      id: a.id, host_id: a.host_id, prefix: a.prefix, next_hop: a.next_hop ?? null, as_path: a.as_path ?? null, community: a.community ?? null,
      enabled: a.enabled, status: a.enabled ? 'active' : 'inactive', created_at: iso(a.created_at),
    };
  }

  async announcementRow(id: number): Promise<Row> {
    const a = await this.knex('bgp_announcements').where({ id }).first();
    if (!a) throw notFound('BGP announcement', id);
    return a;
  }

  async listAnnouncements(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows(this.knex('bgp_announcements').orderBy('id'), q.page, q.size);
    return { announcements: rows.map((a) => this.presentAnnouncement(a)), pagination };
  }

  async createAnnouncement(caller: Caller, body: CreateAnnouncementBody) {
    const host = await networkHost(this.knex, body.host_id);
    const { rows } = await this.knex.raw('SELECT network(?::inet)::text AS net, ?::inet = network(?::inet) AS exact', [body.prefix, body.prefix, body.prefix]);
    if (!rows[0].exact) throw field('prefix', `has host bits set; the network is ${rows[0].net}`);
    if (body.next_hop && body.next_hop.includes(':') !== body.prefix.includes(':')) throw field('next_hop', 'must be of the prefix\'s address family');
    const allowed = await this.knex('bgp_allowed_prefixes').where({ host_id: host.id }).whereRaw('?::cidr <<= prefix', [body.prefix]).first();
    if (!allowed) throw field('prefix', `is not inside a range allowed for host ${host.name} (POST /api/v1/bgp/allowed-prefixes)`);
    try {
      const [row] = await this.knex('bgp_announcements').insert({
        host_id: host.id, prefix: body.prefix, next_hop: body.next_hop ?? null, as_path: body.as_path?.trim() || null, community: body.community?.trim() || null,
        enabled: body.enabled, created_by: caller.principal.userId,
      }).returning('*');
      await audit(this.knex, caller, { module: 'netservices', action: 'bgp_announcement.create', message: `Announce ${row.prefix} from ${host.name}`, resourceType: 'bgp_announcement', resourceId: row.id });
      const started = await this.apply(caller, host.id, { type: 'bgp_announcement', id: row.id, name: row.prefix, url: `/api/v1/bgp/announcements/${row.id}` }, { action: 'announce', announcement: row.id });
      return { ...this.presentAnnouncement(row), operation: this.ref(started) };
    } catch (err) {
      if (pgCode(err) === '23505') throw conflict(`${body.prefix} is already announced from host ${host.name}`, { field: 'prefix' });
      throw err;
    }
  }

  async deleteAnnouncement(caller: Caller, id: number) {
    const a = await this.announcementRow(id);
    await refuseWhileBusy(this.deps.temporal, caller, 'bgp_announcement', id);
    await this.knex('bgp_announcements').where({ id }).delete();
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_announcement.delete', message: `Withdraw ${a.prefix}`, resourceType: 'bgp_announcement', resourceId: id });
    const started = await this.apply(caller, a.host_id, { type: 'bgp_announcement', id, name: a.prefix, url: `/api/v1/bgp/announcements/${id}` }, { action: 'withdraw', announcement: id });
    return { id, prefix: a.prefix, deleted: true, operation: this.ref(started) };
  }

  async listAllowed(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows(this.knex('bgp_allowed_prefixes').orderBy('id'), q.page, q.size);
    return { allowed_prefixes: rows.map((r) => ({ id: r.id, host_id: r.host_id, prefix: r.prefix, created_at: iso(r.created_at) })), pagination };
  }

  async addAllowed(caller: Caller, body: { host_id?: number; prefix: string }) {
    const host = await networkHost(this.knex, body.host_id);
    const { rows } = await this.knex.raw('SELECT ?::inet = network(?::inet) AS exact', [body.prefix, body.prefix]);
    if (!rows[0].exact) throw field('prefix', 'has host bits set');
    try {
      const [row] = await this.knex('bgp_allowed_prefixes').insert({ host_id: host.id, prefix: body.prefix }).returning('*');
      await audit(this.knex, caller, { module: 'netservices', action: 'bgp_allowed_prefix.create', message: `${row.prefix} may be announced from ${host.name}`, resourceType: 'bgp_allowed_prefix', resourceId: row.id });
      return { id: row.id, host_id: row.host_id, prefix: row.prefix, created_at: iso(row.created_at) };
    } catch (err) {
      if (pgCode(err) === '23505') throw conflict(`${body.prefix} is already allowed for ${host.name}`, { field: 'prefix' });
      throw err;
    }
  }

  async removeAllowed(caller: Caller, id: number) {
    const row = await this.knex('bgp_allowed_prefixes').where({ id }).first();
    if (!row) throw notFound('allowed prefix', id);
    const inUse = await this.knex('bgp_announcements').where({ host_id: row.host_id }).whereRaw('prefix <<= ?::cidr', [row.prefix]).first('id', 'prefix');
    if (inUse) throw conflict(`${inUse.prefix} is announced inside ${row.prefix}: withdraw it first`, { announcement_id: inUse.id });
    await this.knex('bgp_allowed_prefixes').where({ id }).delete();
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_allowed_prefix.delete', message: `${row.prefix} no longer allowed`, resourceType: 'bgp_allowed_prefix', resourceId: id });
    return { id, prefix: row.prefix, deleted: true };
  }
}
