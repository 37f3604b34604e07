import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { Reply, route } from '../platform/http/route';
import { LogCenter } from './services';
import { agentHostParams, requireOwnHost } from '../compute/agent-identity';
import { insertLogLines } from '../../db/queries/logs/store';
import { agentLinesBody, cleanupBody, entrySchema, exportQuery, filterFields, filterOf, listQuery, logIdParams, obj, pageSchema, statsQuery } from './schemas';
import { tail, tailQuery } from './tail';

const listAnswer = z.object({ logs: z.array(entrySchema), pagination: pageSchema });
const downloadParams = z.object({ file: z.string().regex(/^export_\d{8}_\d{6}\.(json|csv|txt)$/, 'is not an export file name') });

/** Seed 003's /api/v1/logs*, plus the reads and the tail the other seeds have, in seed 003's envelope. Admins only. */
export function logRoutes(deps: AppDeps) {
  const center = new LogCenter(deps);
  const common = { tags: ['logs'], permission: 'admin' as const };
  return [
    route({
      ...common, method: 'get', path: '/logs', summary: 'Log entries, newest first: filters, full-text search, pages by offset or by `cursor`',
      description: 'The one store: every process\'s warnings and errors (source `process`) and the audit trail of every change (source `audit`). `search` is full text over module, action and message (websearch syntax). `total` counts up to 1,000 (`total_exact` says whether it stopped there); `next_cursor` reads on by keyset at any depth.',
      query: listQuery, response: listAnswer,
      handler: async ({ query }) => {
        const r = await center.entries.page(filterOf(query), query);
        return { logs: r.entries, pagination: r.pagination };
      },
    }),
    route({
      ...common, method: 'get', path: '/logs/errors', summary: 'ERROR and CRITICAL entries, newest first', query: listQuery, response: listAnswer,
      handler: async ({ query }) => {
        const r = await center.errors(filterOf(query), query);
        return { logs: r.entries, pagination: r.pagination };
      },
    }),
    route({ ...common, method: 'get', path: '/logs/modules', summary: 'Modules that have entries, with their newest entry\'s time', response: z.object({ modules: z.array(obj) }), handler: async () => ({ modules: await center.entries.modules() }) }),
    route({ ...common, method: 'get', path: '/logs/stats', summary: 'Counts by level, module, source and hour over a window (default 24 hours)', query: statsQuery, response: obj, handler: ({ query }) => center.stats(filterOf(query), query.hours) }),
    route({ ...common, method: 'get', path: '/logs/health', summary: 'The store: reachable, size, newest entry, errors in the last hour, this process\'s sink', response: obj, handler: () => center.health() }),
    route({
      ...common, method: 'get', path: '/logs/export', summary: 'Export link (JSON, CSV or TXT) valid for IDCFLOW_LOG_EXPORT_LINK_MINUTES',
      description: 'Answers `download_url` (signed: it carries the filter and format, and works without a token until `expires_at`). The file is streamed from a database cursor when downloaded, so `file_size` is not known in advance (null); `entries` counts up to 1,000.',
      query: exportQuery, response: obj, handler: ({ caller, query }) => center.exportLink(caller, filterOf(query), query.format),
    }),
    route({
      tags: ['logs'], method: 'get', path: '/logs/export/download/:file', auth: 'public', summary: 'Download an export through its signed link (no token: the link is the credential)',
      params: downloadParams, query: z.object({ token: z.string().min(1).max(4000) }),
      handler: async ({ query }) => {
        const link = center.fromLink(query.token);
        const file = await center.download(null, link.filter, link.format, link.by);
        return new Reply(file.body, { raw: true, headers: { 'Content-Type': file.contentType, 'Content-Disposition': `attachment; filename="${file.fileName}"`, 'Cache-Control': 'no-store' } });
      },
    }),
    route({
      ...common, method: 'get', path: '/logs/tail', summary: 'Real-time tail (server-sent events, `event: log_entry`)', query: z.object({ ...filterFields, ...tailQuery }),
      handler: ({ ctx, query }) => tail(deps, ctx.req, filterOf(query), query.since_id),
    }),
    route({
      ...common, method: 'post', path: '/logs/cleanup', summary: 'Delete entries older than `days` (an operation, in batches)', body: cleanupBody, startsOperation: true,
      handler: async ({ caller, body }) => center.operations.accepted(await center.cleanup(caller, body), 'Log cleanup accepted'),
    }),
    route({ ...common, method: 'get', path: '/logs/:log_id', summary: 'One entry with its details and stack trace', params: logIdParams, response: entrySchema, handler: ({ params }) => center.entries.get(params.log_id) }),
    route({
      method: 'post', path: '/agent/hosts/:name/logs', tags: ['agents'], auth: 'agent', status: 201, params: agentHostParams, body: agentLinesBody,
      response: z.object({ stored: z.number() }), message: 'Log lines stored',
      summary: 'A host agent\'s own warnings and errors, for the log center (marked with its host; never a user\'s)',
      handler: async ({ agent, params, body }) => {
        requireOwnHost(agent, params.name);
        await insertLogLines(deps.knex, body.lines.map((l) => ({
          ...l, at: new Date(l.at), user_id: null, username: null, process: `host:${agent.hostName}/${l.process}`.slice(0, 128), details: { ...l.details, host: agent.hostName },
        })));
        return { stored: body.lines.length };
      },
    }),
  ];
}
