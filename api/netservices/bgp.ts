import { conflict, validationError } from '../../shared/platform/errors';
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
import { bgpSessionById, deleteBgpSession, insertBgpSession, listBgpSessions, type BgpSessionRow } from '../../db/queries/netservices/bgp-sessions';
import {
  announcementInside, bgpAnnouncementById, deleteBgpAnnouncement, insertBgpAnnouncement, listBgpAnnouncements, type BgpAnnouncementRow,
} from '../../db/queries/netservices/bgp-announcements';
import {
  allowedPrefixById, allowedRangeOf, deleteAllowedPrefix, insertAllowedPrefix, listAllowedPrefixes, type BgpAllowedPrefixRow,
} from '../../db/queries/netservices/bgp-allowed-prefixes';
import { hostRecord } from '../../db/queries/compute/hosts';
import { networkOf } from '../../db/queries/platform/inet';
import { found } from '../../db/queries/platform/found';

const pgCode = (err: unknown) => ((err as { nativeError?: { code?: string } }).nativeError ?? (err as { code?: string })).code;
const field = (name: string, message: string) => validationError([{ field: name, location: 'body', message }]);

/** BGP sessions, announcements and the ranges a host may announce (admins and managers). BIRD is changed by operations on the host's agent. */
export class BgpService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService) {}

  private get knex() { return this.deps.knex; }

  presentSession(s: BgpSessionRow) {
    return {
      id: s.id, name: s.name, host_id: s.host_id, neighbor: s.neighbor, remote_as: Number(s.remote_as), local_as: Number(s.local_as), has_password: Boolean(s.password_sealed),
      enabled: s.enabled, status: s.status, info: s.info ?? null, last_error: s.last_error ?? null,
      uptime: s.status === 'established' && s.state_since ? Math.max(0, Math.floor((Date.now() - new Date(s.state_since).getTime()) / 1000)) : null,
      routes_received: s.routes_received ?? null, routes_advertised: s.routes_advertised ?? null, last_update: iso(s.last_update), created_at: iso(s.created_at),
    };
  }

  sessionRow(id: number): Promise<BgpSessionRow> {
    return found(bgpSessionById(this.knex, id), 'BGP session', id);
  }

  async listSessions(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows<BgpSessionRow>(listBgpSessions(this.knex), q.page, q.size);
    return { sessions: rows.map((s) => this.presentSession(s)), pagination };
  }

  /** Applies the host's BIRD configuration as an operation; `session` enables or disables one first. */
  private async apply(caller: Caller, hostId: number, resource: { type: string; id: number; name: string; url: string }, request: unknown, session?: { id: number; enabled: boolean }) {
    const host = (await hostRecord(this.knex, hostId))?.name ?? null;
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

  private sessionResource = (s: BgpSessionRow) => ({ type: 'bgp_session', id: s.id, name: s.name, url: `/api/v1/bgp/sessions/${s.id}` });

  async createSession(caller: Caller, body: CreateSessionBody) {
    const host = await networkHost(this.knex, body.host_id);
    try {
      const row = await insertBgpSession(this.knex, {
        name: body.name, host_id: host.id, neighbor: body.neighbor, remote_as: body.remote_as, local_as: body.local_as,
        password_sealed: body.password ? seal(body.password, this.deps.config.masterKey) : null, enabled: body.enabled, created_by: caller.principal.userId,
      });
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
    await deleteBgpSession(this.knex, id);
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_session.delete', message: `BGP session ${s.name} deleted`, resourceType: 'bgp_session', resourceId: id });
    const started = await this.apply(caller, s.host_id, this.sessionResource(s), { action: 'delete', session: id });
    return { id, name: s.name, deleted: true, operation: this.ref(started) };
  }

  presentAnnouncement(a: BgpAnnouncementRow) {
    return {
      id: a.id, host_id: a.host_id, prefix: a.prefix, next_hop: a.next_hop ?? null, as_path: a.as_path ?? null, community: a.community ?? null,
      enabled: a.enabled, status: a.enabled ? 'active' : 'inactive', created_at: iso(a.created_at),
    };
  }

  announcementRow(id: number): Promise<BgpAnnouncementRow> {
    return found(bgpAnnouncementById(this.knex, id), 'BGP announcement', id);
  }

  async listAnnouncements(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows<BgpAnnouncementRow>(listBgpAnnouncements(this.knex), q.page, q.size);
    return { announcements: rows.map((a) => this.presentAnnouncement(a)), pagination };
  }

  async createAnnouncement(caller: Caller, body: CreateAnnouncementBody) {
    const host = await networkHost(this.knex, body.host_id);
    const network = await networkOf(this.knex, body.prefix);
    if (!network.exact) throw field('prefix', `has host bits set; the network is ${network.net}`);
    if (body.next_hop && body.next_hop.includes(':') !== body.prefix.includes(':')) throw field('next_hop', 'must be of the prefix\'s address family');
    const allowed = await allowedRangeOf(this.knex, host.id, body.prefix);
    if (!allowed) throw field('prefix', `is not inside a range allowed for host ${host.name} (POST /api/v1/bgp/allowed-prefixes)`);
    try {
      const row = await insertBgpAnnouncement(this.knex, {
        host_id: host.id, prefix: body.prefix, next_hop: body.next_hop ?? null, as_path: body.as_path?.trim() || null, community: body.community?.trim() || null,
        enabled: body.enabled, created_by: caller.principal.userId,
      });
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
    await deleteBgpAnnouncement(this.knex, id);
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_announcement.delete', message: `Withdraw ${a.prefix}`, resourceType: 'bgp_announcement', resourceId: id });
    const started = await this.apply(caller, a.host_id, { type: 'bgp_announcement', id, name: a.prefix, url: `/api/v1/bgp/announcements/${id}` }, { action: 'withdraw', announcement: id });
    return { id, prefix: a.prefix, deleted: true, operation: this.ref(started) };
  }

  async listAllowed(q: { page: number; size: number }) {
    const { rows, pagination } = await paginateRows<BgpAllowedPrefixRow>(listAllowedPrefixes(this.knex), q.page, q.size);
    return { allowed_prefixes: rows.map((r) => ({ id: r.id, host_id: r.host_id, prefix: r.prefix, created_at: iso(r.created_at) })), pagination };
  }

  async addAllowed(caller: Caller, body: { host_id?: number; prefix: string }) {
    const host = await networkHost(this.knex, body.host_id);
    if (!(await networkOf(this.knex, body.prefix)).exact) throw field('prefix', 'has host bits set');
    try {
      const row = await insertAllowedPrefix(this.knex, { host_id: host.id, prefix: body.prefix });
      await audit(this.knex, caller, { module: 'netservices', action: 'bgp_allowed_prefix.create', message: `${row.prefix} may be announced from ${host.name}`, resourceType: 'bgp_allowed_prefix', resourceId: row.id });
      return { id: row.id, host_id: row.host_id, prefix: row.prefix, created_at: iso(row.created_at) };
    } catch (err) {
      if (pgCode(err) === '23505') throw conflict(`${body.prefix} is already allowed for ${host.name}`, { field: 'prefix' });
      throw err;
    }
  }

  async removeAllowed(caller: Caller, id: number) {
    const row = await found(allowedPrefixById(this.knex, id), 'allowed prefix', id);
    const inUse = await announcementInside(this.knex, row.host_id, row.prefix);
    if (inUse) throw conflict(`${inUse.prefix} is announced inside ${row.prefix}: withdraw it first`, { announcement_id: inUse.id });
    await deleteAllowedPrefix(this.knex, id);
    await audit(this.knex, caller, { module: 'netservices', action: 'bgp_allowed_prefix.delete', message: `${row.prefix} no longer allowed`, resourceType: 'bgp_allowed_prefix', resourceId: id });
    return { id, prefix: row.prefix, deleted: true };
  }
}
