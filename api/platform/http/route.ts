import type Koa from 'koa';
import type Router from '@koa/router';
import { z, type ZodType } from 'zod';
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { AppError, validationError, type FieldError } from '../../../shared/platform/errors';
import type { Permission, Role } from '../../../shared/platform/permissions';
import { requirePermission, requireRole, type Principal } from '../auth/principal';
import { ENVELOPES, type Surface } from './envelope';
import { callerOf, clientOf, type Caller, type ClientInfo } from '../caller';
import { errorEnvelopeSchema } from './openapi';
import { indexRoutes } from './route-index';

type AnyObject = z.ZodObject<z.ZodRawShape>;
type Out<T> = T extends ZodType ? z.output<T> : undefined;

export interface RouteInput<P, Q, B> {
  /** For what only a route does: headers, streams. Services get `caller` or `client`. */
  ctx: Koa.Context;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  /** Present on every route that is not public. */
  principal: Principal;
  /** The principal with the request's client, Idempotency-Key and Prefer header; on every route that is not public. */
  caller: Caller;
  client: ClientInfo;
  /** The host agent that signed the request; on `auth: 'agent'` routes only. */
  agent: AgentCaller;
}

/** A host agent, as its signed request proved it: its host, its certificate's fingerprint, the version it runs. */
export interface AgentCaller {
  hostId: number;
  hostName: string;
  fingerprint: string;
  version: string;
}

/** A handler may return plain data (answered with the route's status and message) or a Reply for anything else. */
export class Reply {
  constructor(
    readonly data: unknown,
    readonly opts: { status?: number; message?: string; headers?: Record<string, string>; raw?: boolean } = {},
  ) {}
}

/** Answers that carry a credential or ticket are not cached. */
export const NO_STORE = { 'Cache-Control': 'no-store' };

export type Authenticator = (ctx: Koa.Context, from: 'header' | 'body') => Promise<Principal | null>;

export interface RouteSpec<P extends AnyObject | undefined = undefined, Q extends AnyObject | undefined = undefined, B extends ZodType | undefined = undefined> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  tags: string[];
  surface?: Surface;
  /** public: no credentials; optional: credentials used when present; required (default); agent: a host agent's signed request. */
  auth?: 'public' | 'optional' | 'required' | 'agent';
  /** Where credentials come from: the Authorization header (default) or api_token/server_token in the JSON body (seed 004). */
  credentials?: 'header' | 'body';
  /** What the caller needs; every route that is not `auth: 'public'` must declare one (mount() refuses it otherwise). */
  permission?: Permission;
  /** Who may call it besides holding `permission` (e.g. MANAGERS); enforced before validation, documented as x-roles. */
  roles?: readonly Role[];
  params?: P;
  query?: Q;
  body?: B;
  response?: ZodType;
  status?: number;
  message?: string;
  /** The answer carries a credential (a token, a password, a ticket): `Cache-Control: no-store` on it. */
  noStore?: boolean;
  /** Documents the 202 Accepted answer with an operation. */
  startsOperation?: boolean;
  description?: string;
  handler: (input: RouteInput<P, Q, B>) => Promise<unknown>;
}

export const route = <P extends AnyObject | undefined = undefined, Q extends AnyObject | undefined = undefined, B extends ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
) => spec as unknown as RouteSpec<AnyObject | undefined, AnyObject | undefined, ZodType | undefined>;

export type AnyRoute = ReturnType<typeof route>;

function fieldErrors(error: z.ZodError, location: string): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : location,
    location,
    message: issue.message,
  }));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store this text (text and jsonb refuse NUL characters and broken UTF-16), if it could not. */
const unstorable = (text: string) =>
  text.includes('\u0000') ? 'must not contain NUL characters' : LONE_SURROGATE.test(text) ? 'must be valid Unicode text' : null;

/** Strings, object keys included, that PostgreSQL cannot store: a 422 naming the field, never a 500. */
function nulCharacters(value: unknown, location: string, path: string[] = []): FieldError[] {
  const field = (p: string[]) => (p.length ? p.join('.') : location);
  if (typeof value === 'string') {
    const message = unstorable(value);
    return message ? [{ field: field(path), location, message }] : [];
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const keyProblem = unstorable(k);
      if (keyProblem) return [{ field: field(path), location, message: `has a key that ${keyProblem}` }];
      return nulCharacters(v, location, [...path, k]);
    });
  }
  return [];
}

function parsePart<T extends ZodType | undefined>(schema: T, value: unknown, location: string): { value: unknown; errors: FieldError[] } {
  if (!schema) return { value: undefined, errors: [] };
  const result = schema.safeParse(value ?? (location === 'body' ? undefined : {}));
  if (!result.success) return { value: undefined, errors: fieldErrors(result.error, location) };
  const nul = nulCharacters(result.data, location);
  return nul.length ? { value: undefined, errors: nul } : { value: result.data, errors: [] };
}

/**
 * Object keys of the body as sent, unknown ones included (the schema strips those before the check above sees them),
 * that PostgreSQL could not store: refused alike wherever they are, without recursion (the depth is bounded already).
 */
function rawKeyErrors(body: unknown): FieldError[] {
  const stack: Array<[unknown, string[]]> = [[body, []]];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (!value || typeof value !== 'object') continue;
    for (const [k, v] of Object.entries(value)) {
      const problem = unstorable(k);
      if (problem) return [{ field: path.length ? path.join('.') : 'body', location: 'body', message: `has a key that ${problem}` }];
      if (v && typeof v === 'object') stack.push([v, [...path, k]]);
    }
  }
  return [];
}

/** The longest Idempotency-Key kept (the column's width): a longer one is a 422, not a failed insert. */
export const MAX_IDEMPOTENCY_KEY = 255;

/** The request headers a handler may read through `caller`, checked like the rest of the input. */
function headerErrors(ctx: Koa.Context): FieldError[] {
  const key = ctx.get('idempotency-key');
  if (!key) return [];
  const problem = key.length > MAX_IDEMPOTENCY_KEY ? `must be at most ${MAX_IDEMPOTENCY_KEY} characters`
    : !/^[\x20-\x7e]+$/.test(key) ? 'must be printable ASCII' : null;
  return problem ? [{ field: 'Idempotency-Key', location: 'header', message: problem }] : [];
}

/** Deeper JSON than this is refused before any recursive walk (the checks below, zod) can overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/** How deep a parsed JSON value nests, counted without recursion and stopping past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) if (child && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}

/** A handler's input; `caller` and `client` are read from the request only by the handlers that ask for them. */
class Input {
  constructor(
    readonly ctx: Koa.Context, readonly params: unknown, readonly query: unknown, readonly body: unknown, readonly principal: Principal | null,
    readonly agent: AgentCaller | null,
  ) {}
  get caller(): Caller | undefined { return this.principal ? callerOf(this.ctx, this.principal) : undefined; }
  get client(): ClientInfo { return clientOf(this.ctx); }
}

const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export interface MountOptions {
  prefix: string;
  authenticate: Authenticator;
  registry: OpenAPIRegistry;
  /** Runs once the caller is known (null: anonymous), before anything else: the API rate limit. */
  admit?: (ctx: Koa.Context, principal: Principal | null) => Promise<void>;
  /** Checks a host agent's signed request (routes with `auth: 'agent'`). */
  authenticateAgent?: (ctx: Koa.Context) => Promise<AgentCaller>;
}

const indexed = new WeakSet<Router>();

export function mount(router: Router, routes: AnyRoute[], opts: MountOptions): void {
  if (!indexed.has(router)) indexed.add(indexRoutes(router));
  for (const spec of routes) {
    if (spec.auth === 'agent' && !opts.authenticateAgent) throw new Error(`${spec.method.toUpperCase()} ${opts.prefix}${spec.path} is an agent route: mount it with authenticateAgent`);
    if (!spec.permission && spec.auth !== 'public' && spec.auth !== 'agent') {
      throw new Error(`${spec.method.toUpperCase()} ${opts.prefix}${spec.path} declares no permission: give it one, or auth: 'public' if its seed says so`);
    }
    const surface = spec.surface ?? 'native';
    const status = spec.status ?? (spec.method === 'post' && spec.startsOperation ? 202 : 200);
    router[spec.method](spec.path, async (ctx: Koa.Context) => {
      ctx.state.surface = surface;
      if (spec.noStore) ctx.set(NO_STORE);
      if (jsonDepth((ctx.request as { body?: unknown }).body) > MAX_JSON_DEPTH) {
        throw validationError([{ field: 'body', location: 'body', message: `nests deeper than ${MAX_JSON_DEPTH} levels` }]);
      }
      const agent = spec.auth === 'agent' ? await opts.authenticateAgent!(ctx) : null;
      const principal = spec.auth === 'public' || spec.auth === 'agent' ? null : await opts.authenticate(ctx, spec.credentials ?? 'header');
      if (!principal && (spec.auth ?? 'required') === 'required') {
        throw new AppError('INVALID_CREDENTIALS', 'Authentication required: send a valid token');
      }
      await opts.admit?.(ctx, principal);
      if (principal && spec.permission) requirePermission(principal, spec.permission);
      if (principal && spec.roles) requireRole(principal, spec.roles);
      if (spec.body && ctx.request.length && !ctx.is('json')) {
        throw new AppError('BAD_REQUEST', 'Send the body as application/json', { field: 'body' });
      }
      const params = parsePart(spec.params, ctx.params, 'params');
      const query = parsePart(spec.query, ctx.query, 'query');
      const body = parsePart(spec.body, (ctx.request as { body?: unknown }).body, 'body');
      const keyErrors = spec.body ? rawKeyErrors((ctx.request as { body?: unknown }).body) : [];
      const errors = [...headerErrors(ctx), ...params.errors, ...query.errors, ...(body.errors.length ? body.errors : keyErrors)];
      if (errors.length) throw validationError(errors);
      const result = await spec.handler(new Input(ctx, params.value, query.value, body.value, principal, agent) as never);
      const replyObj = result instanceof Reply ? result : new Reply(result);
      const data = spec.response && replyObj.data !== undefined && !replyObj.opts.raw ? spec.response.parse(replyObj.data) : replyObj.data;
      for (const [k, v] of Object.entries(replyObj.opts.headers ?? {})) ctx.set(k, v);
      ctx.status = replyObj.opts.status ?? status;
      ctx.body = replyObj.opts.raw ? data : ENVELOPES[surface].success(data, replyObj.opts.message ?? spec.message, ctx.status);
    });
    opts.registry.registerPath(openApiRoute(spec, opts.prefix, status));
  }
}

/** The request headers a route that starts an operation reads (documented, so the fuzzer sends them too). */
const operationHeaders = z.object({
  'Idempotency-Key': z.string().min(1).max(MAX_IDEMPOTENCY_KEY).regex(/^[\x20-\x7e]+$/).optional()
    .describe('A repeated request with the same key answers the operation the first one started (printable ASCII, at most 255 characters)'),
  Prefer: z.string().max(200).optional().describe('`respond-async`: answer 202 with the operation at once instead of waiting for it'),
});

function openApiRoute(spec: AnyRoute, prefix: string, status: number): RouteConfig {
  const surface = spec.surface ?? 'native';
  const dataSchema = spec.response ?? z.unknown();
  const success =
    surface === 'native'
      ? z.object({ success: z.literal(true), data: dataSchema, message: z.string().optional(), timestamp: z.string() })
      : dataSchema;
  const responses: RouteConfig['responses'] = {
    [String(status)]: { description: spec.message ?? 'Success', content: { 'application/json': { schema: success } } },
  };
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorEnvelopeSchema } } });
  if (spec.params || spec.query || spec.body) responses['422'] = errorResponse('VALIDATION_ERROR: details name each bad field');
  if ((spec.auth ?? 'required') !== 'public') {
    responses['401'] = errorResponse('INVALID_CREDENTIALS or TOKEN_EXPIRED');
    responses['403'] = errorResponse('INSUFFICIENT_PERMISSIONS');
  }
  if (spec.params) responses['404'] = errorResponse('RESOURCE_NOT_FOUND');
  if (spec.startsOperation) {
    responses['202'] = { description: 'Accepted: the operation runs on; poll data.operation.links' };
    responses['409'] = errorResponse('CONFLICT: another operation is running on this resource');
  }
  return {
    method: spec.method,
    path: toOpenApiPath(prefix + spec.path),
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    security: (spec.auth ?? 'required') === 'public' || spec.credentials === 'body' ? [] : spec.auth === 'agent' ? [{ agentSignature: [] }] : [{ bearerAuth: [] }],
    request: {
      params: spec.params,
      query: spec.query,
      ...(spec.startsOperation ? { headers: operationHeaders } : {}),
      body: spec.body ? { content: { 'application/json': { schema: spec.body } } } : undefined,
    },
    responses,
    'x-permission': spec.auth === 'public' || spec.auth === 'agent' ? spec.auth : spec.permission,
    ...(spec.roles ? { 'x-roles': [...spec.roles] } : {}),
  };
}
