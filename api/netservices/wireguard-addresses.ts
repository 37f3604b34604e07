import { Address4, Address6 } from 'ip-address';
import { addressText, parseIfAddress, type IfAddress } from '../../shared/netservices/addresses';

const valueOf = (family: 4 | 6, text: string) => (family === 4 ? new Address4(text.split('/')[0]) : new Address6(text.split('/')[0])).bigInt();

/** A client address inside the server's subnet: the one asked for (checked), or the first free one. */
export function clientAddress(server: IfAddress, used: string[], wanted: string | undefined): { address: string } | { problem: string } {
  const family = server.family;
  const hostBits = family === 4 ? 32 : 128;
  const lastUsable = family === 4 && server.length < 31 ? server.last - 1n : server.last;
  const firstUsable = family === 4 && server.length < 31 ? server.network + 1n : server.network + (family === 6 ? 1n : 0n);
  const taken = new Set(used.map((u) => valueOf(family, u)));
  taken.add(server.value);
  if (wanted !== undefined) {
    const parsed = parseIfAddress(wanted.includes('/') ? wanted : `${wanted}/${hostBits}`, family);
    if (typeof parsed === 'string') return { problem: parsed };
    if (parsed.length !== hostBits) return { problem: `must be a single address (/${hostBits})` };
    if (parsed.value < firstUsable || parsed.value > lastUsable) return { problem: `is not a usable address of the server's subnet ${addressText(family, server.network)}/${server.length}` };
    if (taken.has(parsed.value)) return { problem: 'is already in use on this server' };
    return { address: `${addressText(family, parsed.value)}/${hostBits}` };
  }
  for (let v = firstUsable, tries = 0; v <= lastUsable && tries <= taken.size + 1; v++, tries++) {
    if (!taken.has(v)) return { address: `${addressText(family, v)}/${hostBits}` };
  }
  return { problem: `the server's subnet ${addressText(family, server.network)}/${server.length} has no free address left` };
}
