import QRCode from 'qrcode';
import type { Knex } from 'knex';
import { AppError, conflict, notFound, validationError } from '../../shared/platform/errors';
import {
  deleteWgServer, insertWgServer, listWgServers, lockWgServer, updateWgServer, wgServerById, type WgServerRow,
} from '../../db/queries/netservices/wg-servers';
import { hostRecord } from '../../db/queries/compute/hosts';
import { underSavepoint } from '../../db/queries/platform/savepoint';
import { found } from '../../db/queries/platform/found';
import { seal, unseal } from '../../shared/platform/crypto';
import { parseIfAddress } from '../../shared/netservices/addresses';
import { generateWgKeyPair, renderClientConfig } from '../../shared/netservices/wireguard';
import { wireguardServerWorkflow, type WireguardAction } from '../../workflows/netservices/runbooks';
import type { AppDeps } from '../platform/deps';
import type { Principal } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { iso, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import type { OperationService } from '../platform/operations/service';
import { presentOperation } from '../platform/operations/present';
import {
  countServerClients, deleteWgClient, findWgClient, insertWgClient, listWgClients, updateWgClient, usedClientAddresses, type WgClientRow,
} from '../../db/queries/netservices/wg-clients';
import { findIpv6Allocation } from '../../db/queries/netservices/ipv6-allocations';
import { netservicesQuotaExceeded } from '../../db/queries/netservices/quotas';
import { ADMIN_VIEWER } from '../../db/queries/platform/scope';
import { isAdmin } from '../platform/auth/principal';
import { mayUse, netViewer } from './access';
import type { Ipv6Service } from './ipv6';
import { clientAddress } from './wireguard-addresses';
import { networkHost } from './hosts';
import { refuseWhileBusy } from './busy';
import type { CreateClientBody, CreateServerBody, UpdateServerBody } from './schemas';

/** PostgreSQL prints a host address's inet without its /32 or /128; clients are shown it with the length. */
const withLength = (a: string | null) => (a && !a.includes('/') ? `${a}/${a.includes(':') ? 128 : 32}` : a);

const field = (name: string, message: string) => validationError([{ field: name, location: 'body', message }]);
const pgCode = (err: unknown) => ((err as { nativeError?: { code?: string } }).nativeError ?? (err as { code?: string })).code;

/** WireGuard servers (admins and managers) and clients (users: their own). Changes on a host are operations on its agent. */
export class WireguardService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService, private readonly ipv6: Ipv6Service) {}

  private get knex() { return this.deps.knex; }

  async presentServer(s: WgServerRow, privateKey?: string) {
    const count = await countServerClients(this.knex, s.id);
    const host = await hostRecord(this.knex, s.host_id);
    return {
      id: s.id, name: s.name, interface: s.interface, host_id: s.host_id, host: host?.name ?? null, listen_port: s.listen_port,
      ipv4_address: s.ipv4_address, ipv6_address: s.ipv6_address, dns_servers: s.dns_servers ?? [], mtu: s.mtu, endpoint: s.endpoint,
      public_key: s.public_key, ...(privateKey ? { private_key: privateKey } : {}), is_active: s.is_active, open_to_customers: s.open_to_customers, status: s.status, desired_state: s.desired_state,
      last_error: s.last_error, clients_count: Number(count), started_at: iso(s.started_at), stopped_at: iso(s.stopped_at), created_at: iso(s.created_at),
    };
  }

  serverRow(id: number): Promise<WgServerRow> {
    return found(wgServerById(this.knex, id), 'WireGuard server', id);
  }

  async listServers(q: { page: number; size: number; status?: string }) {
    const { rows, pagination } = await paginateRows<WgServerRow>(listWgServers(this.knex, q.status), q.page, q.size);
    return { servers: await Promise.all(rows.map((s) => this.presentServer(s))), pagination };
  }

  async createServer(caller: Caller, body: CreateServerBody) {
    const host = await networkHost(this.knex, body.host_id);
    const iface = body.interface ?? body.name;
    if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(iface)) throw field('interface', 'is required when the name is not a valid interface name (1-15 characters)');
    for (const [name, family] of [['ipv4_address', 4], ['ipv6_address', 6]] as const) {
      const text = body[name];
      if (text === undefined) continue;
      const parsed = parseIfAddress(text, family);
      if (typeof parsed === 'string') throw field(name, parsed);
      if (parsed.value === parsed.network && parsed.length < (family === 4 ? 31 : 127)) throw field(name, 'must be the server\'s own address in the subnet, not the network address');
    }
    if (!body.ipv4_address && !body.ipv6_address) throw field('ipv4_address', 'give ipv4_address or ipv6_address (the tunnel subnet)');
    const keys = generateWgKeyPair();
    try {
      const row = await insertWgServer(this.knex, {
        name: body.name, host_id: host.id, interface: iface, listen_port: body.listen_port, ipv4_address: body.ipv4_address ?? null, ipv6_address: body.ipv6_address ?? null,
        dns_servers: JSON.stringify(body.dns_servers), mtu: body.mtu ?? null, endpoint: body.endpoint ?? null, public_key: keys.publicKey,
        private_key_sealed: seal(keys.privateKey, this.deps.config.masterKey), is_active: body.is_active, open_to_customers: body.open_to_customers, created_by: caller.principal.userId,
      });
      await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_server.create', message: `WireGuard server ${row.name} (${iface}) on ${host.name}`, resourceType: 'wireguard_server', resourceId: row.id });
      return this.presentServer(row, keys.privateKey);
    } catch (err) {
      if (pgCode(err) === '23505') throw conflict(`A WireGuard server with this name, or this interface or port on host ${host.name}, exists`, { field: 'name' });
      throw err;
    }
  }

  /** Opens a server to customers' clients (or closes it: their clients stay), or marks it (in)active. */
  async updateServer(caller: Caller, id: number, body: UpdateServerBody) {
    await this.serverRow(id);
    const row = await found(updateWgServer(this.knex, id, body), 'WireGuard server', id);
    await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_server.update', message: `WireGuard server ${row.name}: ${JSON.stringify(body)}`, resourceType: 'wireguard_server', resourceId: id });
    return this.presentServer(row);
  }

  async deleteServer(caller: Caller, id: number) {
    const s = await this.serverRow(id);
    if (s.desired_state === 'running' || s.status === 'running') throw conflict(`Server ${s.name} is running: stop it first`);
    const count = await countServerClients(this.knex, id);
    if (Number(count)) throw conflict(`Server ${s.name} has ${count} clients: delete them first`, { clients: Number(count) });
    await deleteWgServer(this.knex, id);
    await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_server.delete', message: `WireGuard server ${s.name} deleted`, resourceType: 'wireguard_server', resourceId: id });
    return { id, name: s.name, deleted: true };
  }

  private async hostName(hostId: number) {
    return (await hostRecord(this.knex, hostId))?.name ?? null;
  }

  /** Starts the runbook for a server: start, stop, or a sync of its peers on behalf of one client. */
  private async startRunbook(caller: Caller, s: WgServerRow, action: WireguardAction, request: unknown, client?: WgClientRow) {
    const host = await this.hostName(s.host_id);
    return this.operations.start(caller, request, () => ({
      type: `wireguard.${action}`,
      resource: client
        ? { type: 'wireguard_client', id: client.id, name: client.name, url: `/api/v1/wireguard/clients/${client.id}` }
        : { type: 'wireguard_server', id: s.id, name: s.name, url: `/api/v1/wireguard/servers/${s.id}` },
      host,
      workflow: wireguardServerWorkflow,
      input: { serverId: s.id, hostId: s.host_id, action, agentWaitSeconds: this.deps.config.compute.agentWaitSeconds },
      summary: `WireGuard ${action} ${s.name} (${s.interface}) on ${host}${client ? ` for client ${client.name}` : ''}`,
    }));
  }

  async startServer(caller: Caller, id: number) {
    const s = await this.serverRow(id);
    if (!s.is_active) throw conflict(`Server ${s.name} is not active`, { field: 'is_active' });
    const started = await this.startRunbook(caller, s, 'start', { action: 'start', server: id });
    return this.operations.respond(caller, started, (r) => ({ id, status: r.status ?? 'running', started_at: r.started_at ?? null }), '服务器启动成功');
  }

  async stopServer(caller: Caller, id: number) {
    const s = await this.serverRow(id);
    const started = await this.startRunbook(caller, s, 'stop', { action: 'stop', server: id });
    return this.operations.respond(caller, started, (r) => ({ id, status: r.status ?? 'stopped', stopped_at: r.stopped_at ?? null }), '服务器停止成功');
  }

  /** After a client changed: the running server gets its peers again (an operation); a stopped one needs nothing. */
  private async syncFor(caller: Caller, serverId: number, client: WgClientRow, change: string) {
    const s = await this.serverRow(serverId);
    if (s.desired_state !== 'running') return null;
    const started = await this.startRunbook(caller, s, 'sync', { action: 'sync', change, client: client.id, at: Date.now() }, client);
    const view = presentOperation(started.operation);
    return { id: view.id, status: view.status, links: view.links };
  }

  clientStatus(c: WgClientRow) {
    if (!c.enabled) return 'disabled';
    if (c.expires_at && new Date(c.expires_at).getTime() <= Date.now()) return 'expired';
    return 'active';
  }

  presentClient(c: WgClientRow) {
    return {
      id: c.id, name: c.name, server_id: c.server_id, user_id: c.user_id ?? null, ipv4_address: withLength(c.ipv4_address), ipv6_address: withLength(c.ipv6_address),
      ipv6_allocation_id: c.ipv6_allocation_id ?? null, public_key: c.public_key, status: this.clientStatus(c), enabled: c.enabled, expires_at: iso(c.expires_at),
      allowed_ips: c.allowed_ips ?? [], dns_servers: c.dns_servers ?? [], last_handshake: iso(c.last_handshake), bytes_received: Number(c.bytes_received),
      bytes_sent: Number(c.bytes_sent), endpoint: c.endpoint ?? null, stats_at: iso(c.stats_at), created_at: iso(c.created_at),
    };
  }

  /** The caller's client (admins' and managers': anyone's); another user's is a 404. */
  async clientRow(principal: Principal, id: number): Promise<WgClientRow> {
    return found(findWgClient(this.knex, netViewer(principal), id), 'WireGuard client', id);
  }

  async listClients(principal: Principal, q: { page: number; size: number; server_id?: number }) {
    const { rows, pagination } = await paginateRows<WgClientRow>(listWgClients(this.knex, netViewer(principal), q), q.page, q.size);
    return { clients: rows.map((c) => this.presentClient(c)), pagination };
  }

  /** The client's wg-quick file and its QR code (PNG data URL): at creation, and again for its owner. */
  async clientConfig(c: WgClientRow, privateKey?: string) {
    const s = await this.serverRow(c.server_id);
    const host = await hostRecord(this.knex, s.host_id);
    const endpointHost = s.endpoint ?? (host?.public_addresses ?? [])[0] ?? host?.address;
    const config = renderClientConfig({
      privateKey: privateKey ?? (c.private_key_sealed ? unseal(c.private_key_sealed, this.deps.config.masterKey) : null),
      addresses: [c.ipv4_address, c.ipv6_address].filter((a): a is string => Boolean(a)).map((a) => withLength(a)!),
      dns: c.dns_servers?.length ? c.dns_servers : (s.dns_servers ?? []), mtu: s.mtu, serverPublicKey: s.public_key,
      endpoint: `${String(endpointHost).includes(':') && !String(endpointHost).startsWith('[') ? `[${endpointHost}]` : endpointHost}:${s.listen_port}`, allowedIps: c.allowed_ips ?? [],
    });
    return { config, qr_code: await QRCode.toDataURL(config, { errorCorrectionLevel: 'M' }) };
  }

  async createClient(caller: Caller, body: CreateClientBody) {
    const keys = body.public_key ? null : generateWgKeyPair();
    const row = await this.knex.transaction(async (trx) => {
      const s = await lockWgServer(trx, body.server_id);
      // A server closed to customers is not there for them.
      if (!s || !mayUse(caller.principal, s)) throw notFound('WireGuard server', body.server_id);
      if (!s.is_active) throw conflict(`Server ${s.name} is not active`);
      await this.checkQuota(trx, caller);
      const addresses = await this.clientAddresses(trx, s, body, caller);
      try {
        return await underSavepoint(trx, 'client', () => insertWgClient(trx, {
          server_id: s.id, user_id: caller.principal.userId, name: body.name, ...addresses,
          public_key: body.public_key ?? keys!.publicKey, private_key_sealed: keys ? seal(keys.privateKey, this.deps.config.masterKey) : null,
          dns_servers: JSON.stringify(body.dns_servers ?? []), allowed_ips: JSON.stringify(body.allowed_ips), enabled: body.enabled, expires_at: body.expires_at ? new Date(body.expires_at) : null,
        }));
      } catch (err) {
        if (pgCode(err) === '23505') throw conflict('A client with this name, public key or address exists on this server', { field: 'name' });
        throw err;
      }
    });
    await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_client.create', message: `WireGuard client ${row.name} on server ${row.server_id}`, resourceType: 'wireguard_client', resourceId: row.id });
    const operation = await this.syncFor(caller, row.server_id, row, 'create');
    return { ...this.presentClient(row), ...(keys ? { private_key: keys.privateKey } : {}), ...(await this.clientConfig(row, keys?.privateKey)), operation };
  }

  /** One more client must fit its owner's quota (admins are not limited): a 409 naming the quota, as the other network quotas answer. */
  private async checkQuota(trx: Knex.Transaction, caller: Caller) {
    const userId = caller.principal.userId;
    if (isAdmin(caller.principal) || userId === null) return;
    const over = await netservicesQuotaExceeded(trx, userId, 'wireguard_clients', this.deps.config.tenancy.netQuota);
    if (over) throw new AppError('CONFLICT', `Quota exceeded: wireguard_clients (${over.used} of ${over.limit} used)`, { quota: 'wireguard_clients', ...over });
  }

  private async clientAddresses(trx: Knex.Transaction, s: WgServerRow, body: CreateClientBody, caller: Caller) {
    const out: { ipv4_address: string | null; ipv6_address: string | null; ipv6_allocation_id: number | null } = { ipv4_address: null, ipv6_address: null, ipv6_allocation_id: null };
    for (const [name, family] of [['ipv4_address', 4], ['ipv6_address', 6]] as const) {
      if (family === 6 && body.ipv6_pool_id) continue;
      const subnet = s[name] ? parseIfAddress(s[name], family) : null;
      if (!subnet || typeof subnet === 'string') {
        if (body[name]) throw field(name, `the server has no IPv${family} subnet`);
        continue;
      }
      const used = await usedClientAddresses(trx, s.id, name);
      const got = clientAddress(subnet, used, body[name]);
      if ('problem' in got) {
        if (body[name] !== undefined) throw field(name, got.problem);
        throw conflict(got.problem, { field: name });
      }
      out[name] = got.address;
    }
    if (body.ipv6_pool_id) {
      if (body.ipv6_address) throw field('ipv6_address', 'give ipv6_address or ipv6_pool_id, not both');
      const allocation = await this.ipv6.allocate(caller, { pool_id: body.ipv6_pool_id, client_name: `wireguard:${body.name}`, description: `WireGuard client ${body.name}` }, trx);
      out.ipv6_address = allocation.cidr;
      out.ipv6_allocation_id = allocation.id;
    }
    return out;
  }

  async updateClient(caller: Caller, c: WgClientRow, body: { enabled?: boolean; expires_at?: string | null }) {
    const row = await updateWgClient(this.knex, netViewer(caller.principal), c.id, {
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}), ...(body.expires_at !== undefined ? { expires_at: body.expires_at === null ? null : new Date(body.expires_at) } : {}),
    });
    if (!row) throw notFound('WireGuard client', c.id);
    await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_client.update', message: `WireGuard client ${row.name}: ${JSON.stringify(body)}`, resourceType: 'wireguard_client', resourceId: row.id });
    return { ...this.presentClient(row), operation: await this.syncFor(caller, row.server_id, row, 'update') };
  }

  async deleteClient(caller: Caller, c: WgClientRow) {
    await refuseWhileBusy(this.deps.temporal, caller, 'wireguard_client', c.id);
    const viewer = netViewer(caller.principal);
    await this.knex.transaction(async (trx) => {
      if (!(await deleteWgClient(trx, viewer, c.id))) throw notFound('WireGuard client', c.id);
      // The client's pool prefix goes with it (whoever made the allocation: it was made for this client).
      const allocation = c.ipv6_allocation_id ? await findIpv6Allocation(trx, ADMIN_VIEWER, c.ipv6_allocation_id) : null;
      if (allocation) await this.ipv6.releaseIn(trx, allocation);
    });
    await audit(this.knex, caller, { module: 'netservices', action: 'wireguard_client.delete', message: `WireGuard client ${c.name} deleted`, resourceType: 'wireguard_client', resourceId: c.id });
    return { id: c.id, name: c.name, deleted: true, operation: await this.syncFor(caller, c.server_id, c, 'delete') };
  }
}
