import ipaddr from 'ipaddr.js';

/** What endpoints may subscribe to. An empty list on an endpoint means every type its owner may see. */
export const WEBHOOK_EVENT_TYPES = ['operation.succeeded', 'operation.failed', 'operation.canceled', 'alert.fired', 'alert.resolved', 'webhook.test'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An event as the Standard Webhooks payload carries it. */
export interface WebhookEvent {
  /** Unique per event: an endpoint gets one delivery per event id. */
  id: string;
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, unknown>;
  /** Who may receive it besides admins (an operation's creator); null: admins only. */
  audienceUserId: number | null;
  resource?: { type: string; id: string };
  operationType?: string;
}

/** Whether an address is a public unicast one (not loopback, private, link-local, unique-local, CGNAT, multicast…). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}
