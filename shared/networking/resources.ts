// What networking applies on a host, by kind, and the table that records each.

export type NetworkResource = 'port_forward' | 'address' | 'proxy';

export const NETWORK_TABLES: Record<NetworkResource, string> = { port_forward: 'port_forwards', address: 'instance_addresses', proxy: 'reverse_proxies' };
