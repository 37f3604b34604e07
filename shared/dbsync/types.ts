/** The database types idcflow manages (seed 002 WhaleFall), with what a form needs to add an instance of each. */
export const DB_TYPES = ['postgresql', 'mysql', 'sqlserver', 'oracle'] as const;
export type DbType = (typeof DB_TYPES)[number];

export interface DbTypeInfo {
  name: DbType;
  display_name: string;
  driver: string;
  default_port: number;
  default_database: string | null;
  description: string;
  is_active: boolean;
  /** Form fields for an instance of this type. */
  fields: Array<{ name: string; label: string; type: 'text' | 'number' | 'select' | 'password'; required: boolean; default?: unknown; options?: string[] }>;
  /** What account sync reads. */
  sync_reads: string[];
}

const common = (port: number, database: string | null) => [
  { name: 'name', label: 'Instance name', type: 'text' as const, required: true },
  { name: 'host', label: 'Host', type: 'text' as const, required: true },
  { name: 'port', label: 'Port', type: 'number' as const, required: true, default: port },
  { name: 'database_name', label: 'Database', type: 'text' as const, required: false, default: database },
  { name: 'credential_id', label: 'Credential', type: 'select' as const, required: true },
];

export const DB_TYPE_INFO: Record<DbType, DbTypeInfo> = {
  postgresql: {
    name: 'postgresql', display_name: 'PostgreSQL', driver: 'pg', default_port: 5432, default_database: 'postgres', is_active: true,
    description: 'PostgreSQL 9.6 and later', fields: [...common(5432, 'postgres'), { name: 'ssl', label: 'TLS', type: 'select', required: false, default: 'prefer', options: ['disable', 'prefer', 'require', 'verify-full'] }],
    sync_reads: ['pg_roles (rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolvaliduntil)', 'pg_auth_members', 'has_database_privilege(role, db, CONNECT/CREATE/TEMP)'],
  },
  mysql: {
    name: 'mysql', display_name: 'MySQL / MariaDB', driver: 'mysql2', default_port: 3306, default_database: null, is_active: true,
    description: 'MySQL 5.7+, MySQL 8, MariaDB 10.4+', fields: [...common(3306, null), { name: 'ssl', label: 'TLS', type: 'select', required: false, default: 'disable', options: ['disable', 'require', 'verify-full'] }],
    sync_reads: ['mysql.user (User, Host, Super_priv, Grant_priv, account_locked, plugin)', 'SHOW GRANTS FOR user@host', 'role edges (mysql.roles_mapping / mysql.role_edges)'],
  },
  sqlserver: {
    name: 'sqlserver', display_name: 'SQL Server', driver: 'tedious', default_port: 1433, default_database: 'master', is_active: true,
    description: 'Microsoft SQL Server 2012 and later', fields: [...common(1433, 'master'), { name: 'ssl', label: 'Encrypt', type: 'select', required: false, default: 'require', options: ['disable', 'require', 'verify-full'] }],
    sync_reads: ['sys.server_principals', 'sys.sql_logins', 'sys.server_role_members', 'sys.server_permissions'],
  },
  oracle: {
    name: 'oracle', display_name: 'Oracle', driver: 'oracledb (thin mode)', default_port: 1521, default_database: 'ORCLPDB1', is_active: true,
    description: 'Oracle Database 12.1 and later (service name in database)', fields: common(1521, 'ORCLPDB1'),
    sync_reads: ['dba_users', 'dba_role_privs', 'dba_sys_privs'],
  },
};

export type PrivilegeScope = 'global' | 'server' | 'database' | 'schema' | 'table';

export interface AccountPrivilege {
  scope: PrivilegeScope;
  /** The database/table the privilege applies to; null for global/server privileges. */
  object: string | null;
  privilege: string;
}

/** One account as read from a database server, normalised across types. */
export interface RemoteAccount {
  key: string;
  username: string;
  host: string | null;
  is_superuser: boolean;
  is_locked: boolean;
  can_login: boolean;
  /** Server-level abilities (CREATEROLE, REPLICATION, GRANT OPTION, SUPER…). */
  capabilities: string[];
  roles: string[];
  privileges: AccountPrivilege[];
  attributes: Record<string, unknown>;
}

export const SYNC_TYPES = ['manual_single', 'manual_batch', 'manual_task', 'scheduled_task'] as const;
export const SESSION_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export const RECORD_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export const CHANGE_TYPES = ['add', 'modify_privilege', 'modify_other', 'delete'] as const;
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export const TASK_TYPES = ['sync_accounts', 'classify_accounts'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
