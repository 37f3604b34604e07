import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { SystemInfoService } from './info';
import { SystemConfigService } from './config';
import { configUpdate, configUpdated, systemConfig, systemInfo } from './schemas';
import { clusterRoutes } from './cluster-routes';

/** Seed 003's /system/* and /cluster/* natively under /api/v1; admins only. */
export function systemRoutes(deps: AppDeps) {
  const info = new SystemInfoService(deps);
  const config = new SystemConfigService(deps);
  const tags = ['system'];
  return [
    route({
      method: 'get', path: '/system/info', tags, permission: 'admin', summary: 'This API process\'s host, the application, the database and its pool',
      response: systemInfo, handler: () => info.info(),
    }),
    route({
      method: 'get', path: '/system/config', tags, permission: 'admin', summary: 'The system settings (stored, or the environment\'s defaults) and read-only figures',
      response: systemConfig, handler: () => config.read(),
    }),
    route({
      method: 'put', path: '/system/config', tags, permission: 'admin', summary: 'Change system settings; every API, worker and agent process applies them at once',
      description: 'log_level (TRACE DEBUG INFO WARNING ERROR CRITICAL SILENT) sets every running logger; api_rate_limit is requests per minute per user, API token or anonymous address, counted per API process (0: off); session_timeout is the lifetime in seconds of access tokens issued from now on; backup_retention is the days platform backups are kept; max_log_size is megabytes for the log center; registration_enabled (default false) opens self-registration (seed 000 add_user), whose accounts sign in only once their email is verified. Read-only figures (app_name, …) are refused by name.',
      body: configUpdate, response: configUpdated, message: 'System configuration updated',
      handler: ({ caller, body }) => config.update(caller, body),
    }),
    ...clusterRoutes(deps),
  ];
}
