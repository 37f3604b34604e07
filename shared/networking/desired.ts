import type { AcmeSettings } from './acme';

/** A host's whole desired network state, as the agent renders it (read from PostgreSQL, never from a workflow input). */
export type Protocol = 'tcp' | 'udp';
export const PROTOCOLS = ['tcp', 'udp'] as const;

export interface ForwardRule { protocol: Protocol; externalAddress: string; externalPort: number; internalAddress: string; internalPort: number }
export interface OneToOne { publicAddress: string; internalAddress: string }
export interface ProxyRoute { domain: string; upstream: string; tls: boolean }

export interface HostNetworkState {
  /** The instances' addresses (/32): traffic between them is not 1:1-SNATed, and hairpin traffic is masqueraded. */
  instanceAddresses: string[];
  forwards: ForwardRule[];
  oneToOne: OneToOne[];
  proxies: ProxyRoute[];
  /** Where the proxies' TLS certificates come from: the host's ACME directory, or (null) Caddy's internal CA. */
  acme: AcmeSettings | null;
}

export const NFT_TABLE = 'idcflow';
