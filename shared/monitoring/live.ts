/** The PostgreSQL NOTIFY channels that feed the live WebSocket channels (any API replica relays them). */
export const NOTIFY_CHANNELS = {
  /** `{event: 'sample', source, host, kind, at, data}` and `{event: 'alert', alert}` */
  monitoring: 'idcflow_monitoring',
  /** `{event: 'status', host}`: a host's WireGuard or BGP figures changed (read them again) */
  netservices: 'idcflow_netservices',
} as const;

export const LIVE_CHANNELS = ['system', 'wireguard', 'bgp', 'monitoring', 'logs'] as const;
export type LiveChannel = (typeof LIVE_CHANNELS)[number];
/** What a socket that names no channels gets (of those it may see): every entry of the log center is asked for by name. */
export const DEFAULT_CHANNELS: readonly LiveChannel[] = ['system', 'wireguard', 'bgp', 'monitoring'];

export const MESSAGE_TYPES: Record<LiveChannel, string> = {
  system: 'system_status',
  wireguard: 'wireguard_status',
  bgp: 'bgp_status',
  monitoring: 'monitoring_alert',
  logs: 'log_entry',
};

/** WebSocket close codes (4000–4999 are the application's). */
export const CLOSE = {
  badRequest: 4400,
  unauthenticated: 4401,
  forbidden: 4403,
  authTimeout: 4408,
  /** The socket sent more messages than its budget (subscribe and unsubscribe are paced per socket). */
  tooManyMessages: 4429,
} as const;
