import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { sectionSchemas, sectionsOf } from './settings/sections';
import { SettingsStore } from './settings/store';

/** /api/v1/settings: the server settings (never their secrets), for admins. */
export function settingsRoutes(deps: AppDeps) {
  const settings = new SettingsStore(deps, 0);
  const tags = ['settings'];
  return [
    route({
      tags, method: 'get', path: '/settings', permission: 'admin', summary: 'The server settings by section (secrets only as whether they are set)',
      handler: async () => {
        const [current, secrets] = await Promise.all([settings.read(), deps.knex('settings_secrets').select('name')]);
        const set = new Set(secrets.map((s: { name: string }) => s.name));
        return { ...current, secrets: { server_token_set: set.has('server_token') || Boolean(deps.config.serverToken), smtp_password_set: set.has('smtp_password') } };
      },
    }),
    route({
      tags, method: 'patch', path: '/settings', permission: 'admin', message: 'Settings updated',
      summary: 'Update sections (merged into what is kept); server_settings.server_token rotates the server token at once',
      body: z.object(sectionSchemas).partial().strict(), response: z.object({ updated_sections: z.array(z.string()) }),
      handler: async ({ caller, body }) => ({ updated_sections: await settings.update(caller, sectionsOf(body)) }),
    }),
  ];
}
