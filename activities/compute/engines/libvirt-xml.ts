import { stringify } from 'yaml';
import type { InstanceState, Nic } from '../../../shared/compute/catalogue';

/** libvirt domain XML and cloud-init NoCloud documents for the libvirt_qemu driver (pure: no I/O). */

export const METADATA_NS = 'https://idcflow.dev/libvirt/instance/1';

export interface DomainPlan {
  name: string;
  /** libvirt's own UUID of an existing domain (a redefinition must keep it). */
  libvirtUuid?: string | null;
  accel: 'kvm' | 'qemu';
  cpu: number;
  ramMb: number;
  disk: string;
  seed: string;
  serialLog: string;
  boot: { kernel: string; initrd: string | null; cmdline: string | null } | null;
  nics: Nic[];
  network: { type: 'network' | 'bridge' | 'user'; source: string | null };
  meta: DomainMeta;
}

/** What idcflow writes into every domain it creates, so a scan finds and imports it. */
export interface DomainMeta {
  uuid: string;
  name: string;
  owner: number | null;
  /** The idcflow host that drives it: scans of other hosts on the same libvirt leave it alone. */
  host: string | null;
  image: string | null;
  disk_gb: number;
  ip4: string | null;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function domainXml(p: DomainPlan): string {
  const meta = Object.entries(p.meta).map(([k, v]) => `<idcflow:${k}>${v === null ? '' : esc(String(v))}</idcflow:${k}>`).join('');
  const boot = p.boot
    ? `<kernel>${esc(p.boot.kernel)}</kernel>${p.boot.initrd ? `<initrd>${esc(p.boot.initrd)}</initrd>` : ''}${p.boot.cmdline ? `<cmdline>${esc(p.boot.cmdline)}</cmdline>` : ''}`
    : '<boot dev="hd"/>';
  const nics = p.nics.map((nic) => {
    const source = p.network.type === 'network' ? `<source network="${esc(p.network.source!)}"/>` : p.network.type === 'bridge' ? `<source bridge="${esc(p.network.source!)}"/>` : '';
    return `<interface type="${p.network.type}">${nic.mac ? `<mac address="${esc(nic.mac)}"/>` : ''}${source}<model type="virtio"/></interface>`;
  }).join('');
  return `<domain type="${p.accel}">
<name>${esc(p.name)}</name>${p.libvirtUuid ? `<uuid>${esc(p.libvirtUuid)}</uuid>` : ''}
<title>${esc(p.meta.name)}</title>
<metadata><idcflow:instance xmlns:idcflow="${METADATA_NS}">${meta}</idcflow:instance></metadata>
<memory unit="MiB">${p.ramMb}</memory>
<vcpu>${p.cpu}</vcpu>
<os><type arch="x86_64" machine="pc">hvm</type>${boot}</os>
<features><acpi/></features>
<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
<devices>
<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="${esc(p.disk)}"/><target dev="vda" bus="virtio"/></disk>
<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="${esc(p.seed)}"/><target dev="vdb" bus="virtio"/><readonly/></disk>
${nics}
<serial type="file"><source path="${esc(p.serialLog)}" append="on"/><target port="0"/></serial>
<channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>
<graphics type="vnc" listen="127.0.0.1" autoport="yes"/>
<video><model type="vga"/></video>
</devices>
</domain>
`;
}

const tag = (xml: string, re: RegExp) => re.exec(xml)?.[1] ?? null;
const unesc = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** What a scan reads from a domain's XML (`virsh dumpxml`): idcflow's metadata when present, and the live shape. */
export function readDomainXml(xml: string) {
  const block = tag(xml, new RegExp(`<(?:\\w+:)?instance xmlns:\\w+="${METADATA_NS.replace(/[.]/g, '\\.')}">([\\s\\S]*?)</(?:\\w+:)?instance>`));
  let meta: DomainMeta | null = null;
  if (block) {
    const field = (k: string) => { const v = tag(block, new RegExp(`<(?:\\w+:)?${k}>([^<]*)</(?:\\w+:)?${k}>`)); return v ? unesc(v) : null; };
    const owner = field('owner');
    meta = { uuid: field('uuid') ?? '', name: field('name') ?? '', owner: owner ? Number(owner) : null, host: field('host'), image: field('image'), disk_gb: Number(field('disk_gb') ?? 0), ip4: field('ip4') };
  }
  const memory = tag(xml, /<memory unit='KiB'>(\d+)<\/memory>/) ?? tag(xml, /<memory unit="KiB">(\d+)<\/memory>/);
  return {
    name: unesc(tag(xml, /<name>([^<]*)<\/name>/) ?? ''),
    libvirtUuid: tag(xml, /<uuid>([^<]*)<\/uuid>/),
    meta,
    cpu: Number(tag(xml, /<vcpu[^>]*>(\d+)<\/vcpu>/) ?? 0) || null,
    ramMb: memory ? Math.round(Number(memory) / 1024) : null,
    mac: tag(xml, /<mac address=['"]([0-9a-fA-F:]+)['"]/),
  };
}

/** `virsh domstate` words to idcflow states. */
export function stateOfDomain(word: string): InstanceState {
  switch (word.trim()) {
    case 'running': case 'idle': case 'blocked': case 'in shutdown': return 'running';
    case 'paused': case 'pmsuspended': return 'suspended';
    case 'shut off': return 'stopped';
    case 'crashed': return 'error';
    default: return 'unknown';
  }
}

/** A hostname from an instance name (RFC 1123 label). */
export const hostnameOf = (name: string) => name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'instance';

const prefixOf = (mask: string | null | undefined) => (mask ? mask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0) : 24);

/**
 * The NoCloud seed: meta-data (instance id, hostname), user-data (#cloud-config: the root password's hash applied by
 * bootcmd once per distinct hash, so a password set later takes effect on the next boot; SSH keys), network-config
 * (v2: each NIC matched by its MAC, with its static address when one was allocated).
 */
export function cloudInitSeed(opts: { uuid: string; name: string; passwordHash: string | null; sshKeys: string[]; nics: Nic[] }) {
  const hostname = hostnameOf(opts.name);
  const metaData = stringify({ 'instance-id': opts.uuid, 'local-hostname': hostname });
  const userData: Record<string, unknown> = { hostname, preserve_hostname: false };
  if (opts.passwordHash) {
    const mark = `/var/lib/idcflow-password-${opts.passwordHash.slice(-12).replace(/[^A-Za-z0-9]/g, '')}`;
    userData.ssh_pwauth = true;
    userData.bootcmd = [`[ -e ${mark} ] || { echo 'root:${opts.passwordHash}' | chpasswd -e && touch ${mark}; }`];
  }
  if (opts.sshKeys.length) userData.ssh_authorized_keys = opts.sshKeys;
  const ethernets: Record<string, unknown> = {};
  opts.nics.forEach((nic, i) => {
    if (!nic.mac) return;
    ethernets[`nic${i}`] = {
      match: { macaddress: nic.mac.toLowerCase() }, 'set-name': `eth${i}`,
      ...(nic.ip4 ? { addresses: [`${nic.ip4}/${prefixOf(nic.mask)}`], ...(nic.gateway ? { routes: [{ to: 'default', via: nic.gateway }] } : {}), ...(nic.dns?.length ? { nameservers: { addresses: nic.dns } } : {}) } : { dhcp4: true }),
    };
  });
  // Unfolded lines: an SSH key stays on one line of the seed, as an administrator (or a test) would grep for it.
  return { metaData, userData: `#cloud-config\n${stringify(userData, { lineWidth: 0 })}`, networkConfig: Object.keys(ethernets).length ? stringify({ version: 2, ethernets }) : null };
}
