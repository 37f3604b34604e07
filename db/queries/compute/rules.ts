import type { Knex } from 'knex';
import { ENGINES, type EngineType } from '../../../shared/compute/catalogue';
import type { Problem } from '../../../shared/platform/errors';
import { imageRegistry } from '../../../shared/compute/image-reference';

export interface QuotaLimits { cpu: number; ram_mb: number; disk_gb: number; instances: number }

/** Instance rows that count against quotas and host limits: everything not deleted. */
export const liveInstances = (knex: Knex | Knex.Transaction) => knex('instances').whereNull('deleted_at');

/** An instance request is valid when its uuid is free, its owner active, and its host (if given) enabled, of an enabled engine, with an image where the engine needs one. */
export async function instanceRequestProblem(
  knex: Knex, r: { uuid: string; ownerId: number | null; hostId: number | null; image: string | null }, creatingOperationId?: string, policy: RegistryPolicy = { dockerRegistries: ['docker.io'], platformImages: [] },
): Promise<Problem | null> {
  const taken = liveInstances(knex).where({ uuid: r.uuid });
  if (creatingOperationId) taken.where((q) => q.whereNull('create_operation_id').orWhereNot('create_operation_id', creatingOperationId));
  // The three reads at once (a create waits on them twice: in the API and in its first step), judged in this order.
  const [clash, owner, host] = await Promise.all([
    taken.first('id'),
    r.ownerId === null ? null : knex('users').where({ id: r.ownerId }).whereNull('deleted_at').first('is_active'),
    r.hostId === null ? null : knex('hosts').where({ id: r.hostId }).whereNull('deleted_at').first('name', 'enabled', 'engine_type', 'allowed_registries'),
  ]);
  if (clash) return { code: 'CONFLICT', message: `An instance with uuid ${r.uuid} already exists`, field: 'uuid' };
  if (r.ownerId !== null && !owner?.is_active) return { code: 'VALIDATION_ERROR', message: `owner ${r.ownerId} is not an active user`, field: 'owner_id' };
  if (r.hostId === null) return null;
  if (!host) return { code: 'VALIDATION_ERROR', message: `host ${r.hostId} does not exist`, field: 'host_id' };
  return hostProblem(host, r.image) ?? registryProblem(host, r.image, policy);
}

/**
 * A docker host pulls only from its allowed registries (`allowed_registries`; unset: the platform's default,
 * IDCFLOW_DOCKER_REGISTRIES, Docker Hub unless the operator says otherwise): an image of another registry is refused
 * before any pull, as a 422 naming `image`.
 */
export interface RegistryPolicy {
  /** The registries of hosts without `allowed_registries`. */
  dockerRegistries: readonly string[];
  /** Images the platform itself runs (the rental relay's), allowed on every host. */
  platformImages: readonly string[];
}

export function registryProblem(host: { name: string; engine_type: string; allowed_registries?: string[] | null }, image: string | null | undefined, policy: RegistryPolicy): Problem | null {
  if (!image || host.engine_type !== 'docker' || policy.platformImages.includes(image)) return null;
  const registry = imageRegistry(image);
  const allowed = host.allowed_registries ?? policy.dockerRegistries;
  if (allowed.includes(registry)) return null;
  return { code: 'VALIDATION_ERROR', message: `is from registry ${registry}, which host ${host.name} does not pull from (allowed: ${allowed.join(', ') || 'none'})`, field: 'image', details: { registry, allowed_registries: allowed } };
}

/** `registryProblem` for an existing host, read by id (an image change of an instance on it). */
export async function hostRegistryProblem(knex: Knex, hostId: number, image: string | null | undefined, policy: RegistryPolicy): Promise<Problem | null> {
  if (!image) return null;
  const host = await knex('hosts').where({ id: hostId }).first('name', 'engine_type', 'allowed_registries');
  return host ? registryProblem(host, image, policy) : null;
}

/** A host takes new instances when enabled and of an enabled engine; docker needs an image. */
export function hostProblem(host: { name: string; enabled: boolean; engine_type: string }, image?: string | null): Problem | null {
  if (!host.enabled) return { code: 'CONFLICT', message: `Host ${host.name} is disabled` };
  const info = ENGINES[host.engine_type as EngineType];
  if (!info?.enabled) return { code: 'VALIDATION_ERROR', message: `Engine ${host.engine_type} is not available: ${info?.reason ?? 'unknown engine'}`, field: 'engine_type' };
  if (image !== undefined && host.engine_type === 'docker' && !image) return { code: 'VALIDATION_ERROR', message: 'is required on docker hosts', field: 'image' };
  return null;
}

export async function quotaFor(knex: Knex | Knex.Transaction, userId: number, defaults: QuotaLimits): Promise<QuotaLimits> {
  const row = await knex('user_quotas').where({ user_id: userId }).first();
  return row ? { cpu: row.cpu, ram_mb: row.ram_mb, disk_gb: row.disk_gb, instances: row.instances } : defaults;
}

export async function usageOf(knex: Knex | Knex.Transaction, userId: number, exceptInstanceId?: number): Promise<QuotaLimits> {
  const q = liveInstances(knex).where({ owner_id: userId });
  if (exceptInstanceId) q.whereNot('id', exceptInstanceId);
  const [row] = await q.select(knex.raw('COALESCE(SUM(cpu),0)::int AS cpu, COALESCE(SUM(ram_mb),0)::int AS ram_mb, COALESCE(SUM(disk_gb),0)::int AS disk_gb, COUNT(*)::int AS instances'));
  return row as QuotaLimits;
}
