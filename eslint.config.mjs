import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'http', 'https', 'dns', 'stream', 'zlib', 'worker_threads', 'cluster', 'process', 'timers', 'util', 'events', 'url', 'tls', 'dgram', 'readline', 'v8', 'vm'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', '.tools/**', '*.mjs', '*.js', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    // The lint-fixture paths let test/lint-rules.test.ts lint fixture text through stdin.
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['workflows/lint-fixture.ts', 'activities/lint-fixture.ts', 'shared/lint-fixture.ts', 'db/lint-fixture.ts'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code must stay deterministic: no Node built-ins and no I/O libraries.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          ...nodeBuiltins.flatMap((m) => [{ name: m, message: 'Workflows may not use Node built-ins.' }, { name: `node:${m}`, message: 'Workflows may not use Node built-ins.' }]),
          ...['knex', 'objection', 'pg', 'dockerode', 'nodemailer', 'archiver', 'argon2', 'pino', 'mysql2'].map((m) => ({ name: m, message: 'Workflows may not do I/O; call an activity.' })),
        ],
        patterns: [{ group: ['**/activities/**', '**/db/**', '**/api/**'], allowTypeImports: true, message: 'Workflows import only types from activities, db or api.' }],
      }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' }, { name: 'fetch', message: 'Workflows may not do I/O.' }, { name: 'process', message: 'Workflows may not read the process.' }],
    },
  },
  // Imports run down the layers only: shared/ ← db/ ← activities/ ← workflows/ (types) ← api/ ← workers/.
  layer('shared', ['api', 'workflows', 'activities', 'db', 'workers'], 'shared/ is used by every layer and imports none of them.'),
  layer('db', ['api', 'workflows', 'activities', 'workers'], 'The store (db/) imports no api, workflows or activities: move the shape to shared/.'),
  layer('activities', ['api', 'workers'], 'Activities import no api: move the shape to shared/.', ['workflows']),
);

/** A layer that may not import from `forbidden` (nor, except for types, from `typesOnly`). */
function layer(name, forbidden, message, typesOnly = []) {
  return {
    files: [`${name}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: forbidden.map((l) => `**/${l}/**`), message },
          ...(typesOnly.length ? [{ group: typesOnly.map((l) => `**/${l}/**`), allowTypeImports: true, message: `${name}/ imports only types from ${typesOnly.join(', ')}.` }] : []),
        ],
      }],
    },
  };
}
