import { z } from 'zod';
import { isAdmin } from '../platform/auth/principal';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { booleanish } from '../platform/http/schemas';
import { seedDate } from '../users/compat-user-data';
import { bodyCredentials } from './schemas';
import { ProfileService, profileFields } from './settings/profile';
import { sectionSchemas, sectionsOf } from './settings/sections';
import { ServerInfo } from './settings/server-info';
import { SettingsStore } from './settings/store';
import { UserDataTargets } from './targets';


/** Seed 004's settings and server information endpoints. */
export function settingsCompatRoutes(deps: AppDeps) {
  const profiles = new ProfileService(deps);
  const settings = new SettingsStore(deps);
  const info = new ServerInfo(deps);
  const targets = new UserDataTargets(deps.knex);
  const common = { tags: ['compat: seed 004 settings'], surface: 'seed004' as const, credentials: 'body' as const };
  return [
    route({
      ...common, method: 'post', path: '/api/settings/profile', permission: 'update', message: '个人资料更新成功',
      summary: 'Update your profile (display name, email — a change re-verifies it — bio, avatar, phone, preferences)',
      body: z.object({ ...bodyCredentials, ...profileFields }),
      handler: async ({ caller, body }) => {
        const { api_token: _a, server_token: _s, username, ...update } = body;
        const target = await targets.byName(caller.principal, username);
        const data = await profiles.update(caller, target, update);
        return { data: { ...data, updated_at: seedDate(data.updated_at) } };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/settings/server', permission: 'admin', message: '服务器配置更新成功',
      summary: 'Update server settings by section (app, security, email, server); kept in PostgreSQL, audited, enforced',
      body: z.object({ api_token: bodyCredentials.api_token, server_token: bodyCredentials.server_token, username: bodyCredentials.username })
        .extend(sectionSchemas).partial().strict(),
      handler: async ({ caller, body }) => {
        const { api_token: _a, server_token: _s, username: _u, ...update } = body;
        return { updated_sections: await settings.update(caller, sectionsOf(update)) };
      },
    }),
    route({
      ...common, method: 'post', path: '/api/get_server_info', permission: 'view',
      summary: 'Version and status; stats (include_stats), system and the settings without secrets (include_config) for admins',
      body: z.object({ ...bodyCredentials, include_stats: booleanish.default(false), include_config: booleanish.default(false) }),
      handler: async ({ principal, body }) => info.describe({ admin: isAdmin(principal), includeStats: body.include_stats, includeConfig: body.include_config }),
    }),
  ];
}
