import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from './config';

export type TemporalTarget = Pick<Config, 'temporalAddress'> & Partial<Pick<Config, 'temporalTls'>>;

function readPem(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${variable}=${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * How every idcflow process reaches Temporal (the API's client, the workers' and agents' native connections, scripts):
 * the address, and TLS with this process's client certificate when TEMPORAL_TLS_* name the files. The files are read
 * at each connect, so a renewed certificate takes effect with the next connection.
 */
export function temporalConnectionOptions(target: TemporalTarget): { address: string; tls?: TLSConfig } {
  const tls = target.temporalTls;
  if (!tls) return { address: target.temporalAddress };
  return {
    address: target.temporalAddress,
    tls: {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: tls.ca ? readPem('TEMPORAL_TLS_CA', tls.ca) : undefined,
      clientCertPair: tls.cert && tls.key ? { crt: readPem('TEMPORAL_TLS_CERT', tls.cert), key: readPem('TEMPORAL_TLS_KEY', tls.key) } : undefined,
    },
  };
}
