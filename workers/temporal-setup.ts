import { Client, Connection } from '@temporalio/client';
import type { Config } from '../shared/platform/config';
import { temporalConnectionOptions, type TemporalTarget } from '../shared/platform/temporal-connection';
import { SEARCH_ATTRIBUTES } from '../shared/platform/operations';

export async function connectTemporal(config: TemporalTarget, attempts = 1): Promise<Connection> {
  for (let i = 1; ; i++) {
    try {
      return await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: 2000 });
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function createTemporalClient(config: Config): Promise<Client> {
  const connection = await connectTemporal(config);
  return new Client({ connection, namespace: config.temporalNamespace });
}

/** Registers idcflow's custom search attributes on an external Temporal server (the dev server gets them as flags). */
export async function registerSearchAttributes(config: TemporalTarget & Pick<Config, 'temporalNamespace'>): Promise<void> {
  const connection = await connectTemporal(config, 10);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace: config.temporalNamespace });
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace: config.temporalNamespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
    });
  } finally {
    await connection.close();
  }
}
