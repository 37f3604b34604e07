/** Tests run against real PostgreSQL (embedded) and a real Temporal dev server, started once in globalSetup. */

// ESM-only packages, with every ESM-only package they import (otplib's: @scure/base, @noble/hashes; oidc-provider's other dependencies, koa and debug, ship
// CommonJS). Node 22+ loads them from CommonJS with require(esm), but jest's module system does not, so jest compiles
// them to CommonJS like the project's TypeScript.
const esmOnlyPackages = ['oidc-provider', 'jose', 'openid-client', 'oauth4webapi', '@scure/base', '@noble/hashes'];

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    '^.+\\.m?js$': ['@swc/jest', { swcrc: false, jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages.join('|')})/)`],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/data/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
