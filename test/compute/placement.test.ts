import { dockerOptions } from '../../activities/compute/engines/docker';
import { choosePlacement, intToIpv4, ipv4ToInt, maskOf, poolRange, resolveEngineType, stateAfter } from '../../shared/compute/catalogue';

/** The pure rules behind placement, pools and engine names (the HTTP tests exercise them end to end). */
describe('placement strategies (seed 003)', () => {
  const hosts = [
    { id: 3, name: 'c', count: 5, weight: 1 },
    { id: 1, name: 'a', count: 2, weight: 1 },
    { id: 2, name: 'b', count: 1, weight: 1 },
  ];
  it('round_robin takes the next host after the last one chosen, wrapping around', () => {
    const picks: number[] = [];
    let last = 0;
    for (let i = 0; i < 5; i++) { last = choosePlacement('round_robin', hosts, { lastHostId: last, weights: {} }).id; picks.push(last); }
    expect(picks).toEqual([1, 2, 3, 1, 2]);
  });
  it('least_connections takes the host with the fewest instances, the lowest id on a tie', () => {
    expect(choosePlacement('least_connections', hosts, { lastHostId: 0, weights: {} }).id).toBe(2);
    expect(choosePlacement('least_connections', hosts.map((h) => ({ ...h, count: 0 })), { lastHostId: 0, weights: {} }).id).toBe(1);
  });
  it('weighted spreads by weight: node_weights by name override the host weight', () => {
    expect(choosePlacement('weighted', hosts, { lastHostId: 0, weights: { c: 10 } }).id).toBe(3); // (5+1)/10 < (1+1)/1
    expect(choosePlacement('weighted', hosts, { lastHostId: 0, weights: {} }).id).toBe(2);
    // Over many placements, a weight-3 host takes about three times the instances of a weight-1 host.
    const pool = [{ id: 1, name: 'a', count: 0, weight: 1 }, { id: 2, name: 'b', count: 0, weight: 3 }];
    for (let i = 0; i < 40; i++) choosePlacement('weighted', pool, { lastHostId: 0, weights: {} }).count++;
    expect(pool.map((h) => h.count)).toEqual([10, 30]);
  });
});

describe('IPv4 pools', () => {
  it('enumerates CIDR and start/end pools and derives the mask', () => {
    expect(poolRange({ cidr: '10.0.0.0/29' })).toEqual({ first: ipv4ToInt('10.0.0.1'), last: ipv4ToInt('10.0.0.6') });
    expect(poolRange({ start: '192.168.1.10', end: '192.168.1.12' })).toEqual({ first: ipv4ToInt('192.168.1.10'), last: ipv4ToInt('192.168.1.12') });
    expect(poolRange({ start: '192.168.1.12', end: '192.168.1.10' })).toBeNull();
    expect(maskOf({ cidr: '10.0.0.0/22' })).toBe('255.255.252.0');
    expect(intToIpv4(ipv4ToInt('172.31.255.255')!)).toBe('172.31.255.255');
    expect(ipv4ToInt('256.1.1.1')).toBeNull();
  });
});

describe('engine names and power states', () => {
  it('accepts seed 001 names as aliases', () => {
    expect(resolveEngineType('VMWareSetup')).toBe('vmware_workstation');
    expect(resolveEngineType('docker')).toBe('docker');
    expect(resolveEngineType('nope')).toBeNull();
  });
  it('maps power actions to the state they lead to', () => {
    expect([stateAfter('shutdown'), stateAfter('pause'), stateAfter('hard_reset')]).toEqual(['stopped', 'suspended', 'running']);
  });
});

describe('docker endpoints', () => {
  it('maps unix, tcp, tcp+TLS and ssh addresses to dockerode options, with the unsealed secrets', () => {
    expect(dockerOptions({ address: 'unix:///run/podman/podman.sock' })).toEqual({ socketPath: '/run/podman/podman.sock' });
    expect(dockerOptions({ address: '/var/run/docker.sock' })).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerOptions({ address: '10.0.113.5' })).toEqual({ protocol: 'http', host: '10.0.113.5', port: 2375 });
    expect(dockerOptions({ address: 'tcp://10.0.113.5:2376', tlsCa: 'CA', tlsCert: 'CERT', tlsKey: 'KEY' })).toEqual({ protocol: 'https', host: '10.0.113.5', port: 2376, ca: 'CA', cert: 'CERT', key: 'KEY' });
    expect(dockerOptions({ address: 'ssh://ops@10.0.113.5:2222', password: 'pw' })).toMatchObject({ protocol: 'ssh', host: '10.0.113.5', port: 2222, username: 'ops', sshOptions: { password: 'pw' } });
    expect(dockerOptions({ address: 'ssh://10.0.113.5', username: 'root', privateKey: 'PEM' })).toMatchObject({ port: 22, username: 'root', sshOptions: { privateKey: 'PEM' } });
  });
});
