import type { Knex } from 'knex';

/** A row of `bgp_announcements` (migration 007): a prefix a host announces, inside one of its allowed ranges. */
export interface BgpAnnouncementRow {
  id: number;
  host_id: number;
  prefix: string;
  next_hop: string | null;
  as_path: string | null;
  community: string | null;
  enabled: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export async function bgpAnnouncementById(knex: Knex, id: number): Promise<BgpAnnouncementRow | undefined> {
  return knex<BgpAnnouncementRow>('bgp_announcements').where({ id }).first();
}

/** Every announcement in id order: a query to paginate. */
export const listBgpAnnouncements = (knex: Knex) => knex<BgpAnnouncementRow>('bgp_announcements').orderBy('id');

/** A new announcement; the prefix announced twice from a host raises PostgreSQL's unique violation (23505). */
export async function insertBgpAnnouncement(knex: Knex, row: Omit<BgpAnnouncementRow, 'id' | 'created_at' | 'updated_at'>): Promise<BgpAnnouncementRow> {
  const [inserted] = await knex('bgp_announcements').insert(row).returning('*');
  return inserted as BgpAnnouncementRow;
}

export async function deleteBgpAnnouncement(knex: Knex, id: number): Promise<void> {
  await knex('bgp_announcements').where({ id }).delete();
}

/** An announcement of the host inside `range`, if any. */
export async function announcementInside(knex: Knex, hostId: number, range: string): Promise<Pick<BgpAnnouncementRow, 'id' | 'prefix'> | undefined> {
  return knex('bgp_announcements').where({ host_id: hostId }).whereRaw('prefix <<= ?::cidr', [range]).first('id', 'prefix');
}
