import type { Knex } from 'knex';

/**
 * Credential lifetime (issue 22): a token minted by a token records its parent, and revoking a token revokes every
 * token descended from it, whichever code path revokes it (the API, a user's deletion, psql). The trigger revokes the
 * children when a token's revoked_at is set; their own updates fire it again for their children, and each revoked row
 * announces itself on the credentials channel (migration 021's trigger), so every API replica drops them at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('api_tokens', (t) => {
    t.integer('parent_token_id').references('api_tokens.id').onDelete('CASCADE');
    t.index(['parent_token_id']);
  });
  await knex.raw(`
    create or replace function idcflow_api_tokens_revoke_children() returns trigger language plpgsql as $$
    begin
      update api_tokens set revoked_at = new.revoked_at where parent_token_id = new.id and revoked_at is null;
      return null;
    end $$`);
  await knex.raw(`
    create trigger idcflow_api_tokens_revoke_children after update of revoked_at on api_tokens
    for each row when (old.revoked_at is null and new.revoked_at is not null)
    execute function idcflow_api_tokens_revoke_children()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists idcflow_api_tokens_revoke_children on api_tokens');
  await knex.raw('drop function if exists idcflow_api_tokens_revoke_children()');
  await knex.schema.alterTable('api_tokens', (t) => {
    t.dropIndex(['parent_token_id']);
    t.dropColumn('parent_token_id');
  });
}
