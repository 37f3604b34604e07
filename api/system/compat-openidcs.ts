import { z } from 'zod';
import { validationError } from '../../shared/platform/errors';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { ConfigDocumentService } from './config-document';
import { configDocument } from './schemas';

/** Seed 001 (OpenIDCS): POST /api/system/saving and /api/system/loader, the configuration as one JSON document. */
export function openidcsSystemConfigRoutes(deps: AppDeps) {
  const documents = new ConfigDocumentService(deps);
  const common = { tags: ['compat: seed 001 OpenIDCS'], surface: 'seed001' as const, permission: 'admin' as const };
  return [
    route({
      ...common, method: 'post', path: '/api/system/saving', summary: 'Save the platform configuration: answered as a versioned document and kept for the loader',
      description: 'The system settings, the server settings without their secrets, the external cluster nodes. The newest 20 saved documents are kept.',
      response: z.object({ snapshot_id: z.number(), saved_at: z.string().nullable(), document: z.record(z.string(), z.unknown()) }),
      handler: ({ caller }) => documents.save(caller),
    }),
    route({
      ...common, method: 'post', path: '/api/system/loader', summary: 'Load a configuration document (the body, or the newest saved one when the body is empty)',
      description: 'The whole document is validated before anything changes (422 naming each bad field); then every part it holds replaces the stored one in one transaction, and every process applies the settings at once.',
      body: z.unknown(),
      response: z.object({ loaded: z.object({ system_settings: z.array(z.string()), server_settings: z.array(z.string()), cluster_nodes: z.number().nullable() }), document_version: z.number() }),
      handler: async ({ caller, body }) => {
        const given = body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && !Object.keys(body).length) ? await documents.latest() : body;
        const parsed = configDocument.safeParse(given);
        if (!parsed.success) {
          throw validationError(parsed.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : 'body', location: 'body', message: i.message })), 'The configuration document is not valid; nothing was changed');
        }
        return documents.load(caller, parsed.data);
      },
    }),
  ];
}
