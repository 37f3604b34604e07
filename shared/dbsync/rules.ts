import { z } from 'zod';
import { DB_TYPES, type AccountPrivilege, type DbType, type RemoteAccount } from './types';

/**
 * Classification rules: JSON expressions over an account's privileges snapshot.
 *   {"and": [e, …]}  {"or": [e, …]}  {"not": e}
 *   {"fn": "is_superuser"}  {"fn": "is_locked"}  {"fn": "can_login"}
 *   {"fn": "has_capability", "name": "CREATEROLE"}
 *   {"fn": "has_role", "name": "pg_monitor"}
 *   {"fn": "has_privilege", "privilege": "SELECT", "scope": "database", "object": "sales"}   (scope and object optional)
 *   {"fn": "db_type_in", "types": ["postgresql", "mysql"]}
 * Names compare case-insensitively. Nesting is limited to 12 levels.
 */
export type RuleExpr =
  | { and: RuleExpr[] }
  | { or: RuleExpr[] }
  | { not: RuleExpr }
  | { fn: 'is_superuser' | 'is_locked' | 'can_login' }
  | { fn: 'has_capability' | 'has_role'; name: string }
  | { fn: 'has_privilege'; privilege: string; scope?: AccountPrivilege['scope']; object?: string }
  | { fn: 'db_type_in'; types: DbType[] };

const name = z.string().min(1, 'is required').max(128);
const leaf = z.discriminatedUnion('fn', [
  z.object({ fn: z.enum(['is_superuser', 'is_locked', 'can_login']) }).strict(),
  z.object({ fn: z.enum(['has_capability', 'has_role']), name }).strict(),
  z.object({ fn: z.literal('has_privilege'), privilege: name, scope: z.enum(['global', 'server', 'database', 'schema', 'table']).optional(), object: name.optional() }).strict(),
  z.object({ fn: z.literal('db_type_in'), types: z.array(z.enum(DB_TYPES)).min(1, 'needs at least one type') }).strict(),
]);

export const ruleExprSchema: z.ZodType<RuleExpr> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(ruleExprSchema).min(1, 'needs at least one expression') }).strict(),
    z.object({ or: z.array(ruleExprSchema).min(1, 'needs at least one expression') }).strict(),
    z.object({ not: ruleExprSchema }).strict(),
    leaf,
  ]),
) as z.ZodType<RuleExpr>;

const MAX_DEPTH = 12;
const FUNCTIONS = ['is_superuser', 'is_locked', 'can_login', 'has_capability', 'has_role', 'has_privilege', 'db_type_in'];

/**
 * Validates a rule expression and answers the first problem with its JSON path ("expression.and.1.fn"), clearer than
 * a union's generic error: unknown operator, unknown function, missing argument, too deep.
 */
export function checkRuleExpr(value: unknown, path = 'expression', depth = 0): { path: string; message: string } | null {
  if (depth > MAX_DEPTH) return { path, message: `nesting deeper than ${MAX_DEPTH} levels` };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { path, message: 'must be an object: {"and"|"or": [...]}, {"not": {...}} or {"fn": ...}' };
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if ('and' in obj || 'or' in obj) {
    const op = 'and' in obj ? 'and' : 'or';
    if (keys.length !== 1) return { path, message: `'${op}' must be the only key of its object` };
    const list = obj[op];
    if (!Array.isArray(list) || list.length === 0) return { path: `${path}.${op}`, message: 'must be a non-empty array of expressions' };
    for (let i = 0; i < list.length; i++) {
      const problem = checkRuleExpr(list[i], `${path}.${op}.${i}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if ('not' in obj) {
    if (keys.length !== 1) return { path, message: "'not' must be the only key of its object" };
    return checkRuleExpr(obj.not, `${path}.not`, depth + 1);
  }
  if (!('fn' in obj)) return { path, message: `unknown operator ${keys.map((k) => `'${k}'`).join(', ') || '(empty object)'}: use and, or, not or fn` };
  if (typeof obj.fn !== 'string' || !FUNCTIONS.includes(obj.fn)) return { path: `${path}.fn`, message: `unknown function '${String(obj.fn)}': use one of ${FUNCTIONS.join(', ')}` };
  const parsed = leaf.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { path: [path, ...issue.path.map(String)].join('.'), message: issue.message };
  }
  return null;
}

/** What a rule looks at: an account as synced, and its database type. */
export type AccountFacts = Pick<RemoteAccount, 'is_superuser' | 'is_locked' | 'can_login' | 'capabilities' | 'roles' | 'privileges'> & { db_type: string };

const eq = (a: string | null | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

/** Evaluates an expression against one account. Pure. */
export function evaluateRule(expr: RuleExpr, acc: AccountFacts): boolean {
  if ('and' in expr) return expr.and.every((e) => evaluateRule(e, acc));
  if ('or' in expr) return expr.or.some((e) => evaluateRule(e, acc));
  if ('not' in expr) return !evaluateRule(expr.not, acc);
  switch (expr.fn) {
    case 'is_superuser': return acc.is_superuser;
    case 'is_locked': return acc.is_locked;
    case 'can_login': return acc.can_login;
    case 'has_capability': return acc.capabilities.some((c) => eq(c, expr.name));
    case 'has_role': return acc.roles.some((r) => eq(r, expr.name));
    case 'has_privilege':
      return acc.privileges.some((p) => eq(p.privilege, expr.privilege)
        && (!expr.scope || p.scope === expr.scope)
        && (!expr.object || eq(p.object, expr.object)));
    case 'db_type_in': return expr.types.some((t) => eq(acc.db_type, t));
  }
}
