import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from '../client';

/** What `idcflow login` keeps: the API's address and the user's tokens, in a file only its owner can read. */
export interface CliConfig {
  url: string;
  username?: string;
  credentials?: Credentials;
}

export function configPath(): string {
  if (process.env.IDCFLOW_CLI_CONFIG) return process.env.IDCFLOW_CLI_CONFIG;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'idcflow', 'config.json');
}

export function readConfig(): CliConfig | undefined {
  try {
    return JSON.parse(fs.readFileSync(configPath(), 'utf8')) as CliConfig;
  } catch {
    return undefined;
  }
}

export function writeConfig(config: CliConfig): void {
  const file = configPath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function removeConfig(): void {
  fs.rmSync(configPath(), { force: true });
}
