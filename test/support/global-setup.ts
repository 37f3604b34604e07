import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnEntrypoint, spawnWorker, type Spawned } from './processes';
import { startPodman, type PodmanService } from './podman';

declare global {
  var __idcflowTest: { services: Spawned; worker: Spawned; dir: string; podman?: PodmanService } | undefined;
}

/** Real PostgreSQL (embedded) and a real Temporal dev server for the whole suite, plus one real worker process. */
export default async function globalSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-test-'));
  fs.chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user and must reach its data directory.
  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    IDCFLOW_DATA_DIR: path.join(dir, 'data'),
    IDCFLOW_MASTER_KEY: crypto.randomBytes(32).toString('hex'),
    IDCFLOW_JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    IDCFLOW_ADMIN_PASSWORD: 'admin-password-1',
    IDCFLOW_TASK_QUEUE: 'idcflow-test',
    IDCFLOW_LOGIN_MAX_FAILURES: '1000',
    IDCFLOW_OPERATION_WAIT_SECONDS: '30',
    // The API rate limit is counted on every request but never reached by suites that call in bulk; test/system sets its own.
    IDCFLOW_API_RATE_LIMIT: '1000000',
    // Likewise the anonymous budgets (password hashes per address, sign-ups per address and email domain); test/platform/signup sets its own.
    IDCFLOW_ANON_HASHES_PER_MINUTE: '1000000',
    IDCFLOW_SIGNUP_PER_ADDRESS_PER_HOUR: '1000000',
    IDCFLOW_SIGNUP_PER_DOMAIN_PER_HOUR: '1000000',
    // No health Schedule from spawned APIs: a round over every test file's hosts would mark their unreachable engines unhealthy.
    IDCFLOW_HEALTH_INTERVAL_SECONDS: '0',
    // Docker hosts pull from Docker Hub only by default; the test image is Podman's local one (localhost/…).
    IDCFLOW_DOCKER_REGISTRIES: 'docker.io,localhost',
    // The platform's own fetches (VM base images, ACME directories) reach the suite's local servers and Pebble (10.78.0.0/16).
    IDCFLOW_OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8,::1/128,10.0.0.0/8',
  });
  const services = await spawnEntrypoint('test/support/services-main.ts', [dir], { ...process.env }, /"temporalAddress"/);
  const ready = JSON.parse(services.output().split('\n').find((l) => l.includes('temporalAddress'))!);
  process.env.DATABASE_URL = ready.databaseUrl;
  process.env.TEMPORAL_ADDRESS = ready.temporalAddress;
  // A Docker Engine API (Podman's) for the docker driver's tests; without root or podman they skip, saying why.
  const podman = await startPodman(path.join(dir, 'podman'));
  if ('skip' in podman) process.env.IDCFLOW_TEST_DOCKER_SKIP = podman.skip;
  else Object.assign(process.env, { IDCFLOW_TEST_DOCKER_SOCKET: podman.socketPath, IDCFLOW_TEST_DOCKER_IMAGE: podman.image, IDCFLOW_TEST_CONTAINERS_CONF: podman.env.CONTAINERS_CONF });
  const worker = await spawnWorker('idcflow-test');
  globalThis.__idcflowTest = { services, worker, dir, podman: 'skip' in podman ? undefined : podman };
}
