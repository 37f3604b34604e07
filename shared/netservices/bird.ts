/** idcflow's part of BIRD 2's configuration, and what `birdc show protocols all` says about its sessions. */

export interface BirdSession { id: number; name: string; neighbor: string; remoteAs: number; localAs: number; password: string | null; enabled: boolean }
export interface BirdAnnouncement { prefix: string; nextHop?: string | null; asPath: number[]; communities: Array<[number, number]> }

export const sessionProtocol = (id: number) => `idcf_s${id}`;
const family = (addr: string) => (addr.includes(':') ? 'ipv6' : 'ipv4');

/**
 * The whole include file: static routes for the announcements (blackhole; the host's own routing carries the traffic), one
 * export filter that accepts exactly those with their next hop, prepends and communities, and one BGP protocol per
 * session. A next hop set in the export filter is sent as it is (BIRD keeps an explicitly set one instead of its own
 * address); the peer uses it when it is on their shared network.
 * Protocol names carry the session id, so BIRD reconfigures only the sessions that changed.
 */
export function renderBirdConfig(sessions: BirdSession[], announcements: BirdAnnouncement[]): string {
  const out = ['# Managed by idcflow: rewritten on every change, checked with `birdc configure check` before it is applied.'];
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const routes = announcements.filter((a) => family(a.prefix) === fam);
    out.push(`protocol static idcf_announce_${fam} {`, `  ${fam};`, ...routes.map((a) => `  route ${a.prefix} blackhole;`), '}');
  }
  out.push('filter idcf_export {');
  for (const a of announcements) {
    const actions = [...(a.nextHop ? [`bgp_next_hop = ${a.nextHop};`] : []), ...a.asPath.map((asn) => `bgp_path.prepend(${asn});`), ...a.communities.map(([x, y]) => `bgp_community.add((${x},${y}));`), 'accept;'];
    out.push(`  if proto = "idcf_announce_${family(a.prefix)}" && net = ${a.prefix} then { ${actions.join(' ')} }`);
  }
  out.push('  reject;', '}');
  for (const s of sessions) {
    out.push(
      `protocol bgp ${sessionProtocol(s.id)} {`,
      `  description "${s.name}";`,
      ...(s.enabled ? [] : ['  disabled;']),
      `  local as ${s.localAs};`,
      `  neighbor ${s.neighbor} as ${s.remoteAs};`,
      ...(s.password ? [`  password "${s.password}";`] : []),
      '  connect retry time 5; error wait time 5, 30;',
      `  ${family(s.neighbor)} { import all; export filter idcf_export; };`,
      '}',
    );
  }
  return `${out.join('\n')}\n`;
}

export interface BirdProtocolStatus {
  name: string;
  state: string;
  since: string;
  bgpState: string | null;
  info: string;
  lastError: string | null;
  imported: number | null;
  exported: number | null;
}

/** `birdc show protocols all`: one summary line per protocol (Name Proto Table State Since Info), then indented details. */
export function parseBirdProtocols(text: string): BirdProtocolStatus[] {
  const out: BirdProtocolStatus[] = [];
  let cur: BirdProtocolStatus | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim() || /^BIRD \d/.test(line) || /^Name\s+Proto/.test(line)) continue;
    if (!line.startsWith(' ')) {
      const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}|\S+)\s*(.*)$/.exec(line);
      if (!m) { cur = null; continue; }
      cur = { name: m[1], state: m[4], since: m[5], info: m[6].trim(), bgpState: null, lastError: null, imported: null, exported: null };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^BGP state:\s+(\S+)/.exec(t))) cur.bgpState = m[1];
    else if ((m = /^Last error:\s+(.*)$/.exec(t))) cur.lastError = m[1];
    else if ((m = /^Routes:\s+(\d+) imported, (?:(\d+) filtered, )?(\d+) exported/.exec(t))) {
      cur.imported = (cur.imported ?? 0) + Number(m[1]);
      cur.exported = (cur.exported ?? 0) + Number(m[3]);
    }
  }
  return out;
}
