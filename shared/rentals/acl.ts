/** A relay as the derpMap names it: the host's public addresses and the rental's port. */
export interface RelayNode {
  rentalId: number;
  hostName: string;
  regionCode: string;
  ipv4: string | null;
  ipv6: string | null;
  port: number;
  /** When the relay serves TLS: the name its certificate was issued for, and the certificate's pin (`sha256-raw:…`). */
  tls?: { hostname: string; certName: string } | null;
}

export const FIRST_REGION_ID = 901;

/**
 * The `derpMap` fragment of a Tailscale policy file for a user's active relays: the default regions left out, one
 * region per relay from RegionID 901 upward (in rental order, so a user's map is stable while their rentals are).
 */
export function buildDerpMap(relays: RelayNode[]) {
  const sorted = [...relays].sort((a, b) => a.rentalId - b.rentalId);
  const regions: Record<string, unknown> = {};
  sorted.forEach((r, i) => {
    const id = FIRST_REGION_ID + i;
    const hostName = r.tls?.hostname ?? r.ipv4 ?? r.ipv6 ?? r.hostName;
    regions[String(id)] = {
      RegionID: id,
      RegionCode: `${r.regionCode}${i + 1}`.toLowerCase().replace(/[^a-z0-9-]/g, '').slice(0, 16) || `r${id}`,
      RegionName: `idcflow ${r.hostName} relay ${r.rentalId}`,
      Nodes: [{
        Name: `${id}a`,
        RegionID: id,
        HostName: hostName,
        ...(r.ipv4 ? { IPv4: r.ipv4 } : {}),
        ...(r.ipv6 ? { IPv6: r.ipv6 } : {}),
        DERPPort: r.port,
        STUNPort: -1,
        // Tailscale accepts the relay's certificate by this pin (idcflow's CA is not in clients' trust stores).
        ...(r.tls ? { CertName: r.tls.certName } : {}),
      }],
    };
  });
  return { derpMap: { OmitDefaultRegions: true, Regions: regions } };
}

/** Splits a host's public addresses into the first IPv4 and the first IPv6 (the ip-address family is enough here). */
export function publicAddressesOf(addresses: string[]): { ipv4: string | null; ipv6: string | null } {
  const ipv4 = addresses.find((a) => /^\d{1,3}(\.\d{1,3}){3}$/.test(a)) ?? null;
  const ipv6 = addresses.find((a) => a.includes(':')) ?? null;
  return { ipv4, ipv6 };
}
