import { signal } from '@preact/signals';

const en = {
  title: 'idcflow console', signIn: 'Sign in', signOut: 'Sign out', username: 'Username', password: 'Password', language: '中文',
  dashboard: 'Dashboard', hosts: 'Hosts', instances: 'Instances', operations: 'Operations', more: 'More',
  create: 'Create', cancel: 'Cancel', refresh: 'Refresh', loading: 'Loading…', empty: 'Nothing here yet.', error: 'Something went wrong',
  name: 'Name', host: 'Host', image: 'Image', cpu: 'CPUs', ram: 'Memory (MB)', state: 'State', status: 'Status', type: 'Type', resource: 'Resource',
  progress: 'Progress', created: 'Created', actions: 'Actions', start: 'Start', stop: 'Stop', restart: 'Restart', delete: 'Delete', terminal: 'Terminal',
  newInstance: 'New instance', anyHost: 'Any healthy host (placement)', running: 'Running', failed: 'Failed', succeeded: 'Succeeded', canceled: 'Canceled',
  instancesByState: 'Instances by state', recentOperations: 'Operations', operationRunning: 'Operation running', signedInAs: 'Signed in as',
  engine: 'Engine', enabled: 'Enabled', agent: 'Agent', skip: 'Skip to content', search: 'Search', noAccess: 'Not available to your account.',
  backups: 'Backups', newBackup: 'New backup', backupType: 'Backup type', size: 'Size', restore: 'Restore', download: 'Download',
  confirmRestore: 'Restore this backup? The database and files are replaced by the backup\'s copy.', completed: 'Completed',
  settings: 'Settings', save: 'Save', saved: 'Settings saved', noChanges: 'Nothing changed.', source: 'Source', readOnly: 'Read-only figures',
  logLevel: 'Log level', maxLogSize: 'Log center size (MB)', backupRetention: 'Backup retention (days)', sessionTimeout: 'Session timeout (seconds)', apiRateLimit: 'API rate limit (requests per minute, 0: off)', registrationEnabled: 'Self-registration open (accounts sign in once their email is verified)',
  logs: 'Logs', action: 'Action', level: 'Level', from: 'From', to: 'To', time: 'Time', module: 'Module', message: 'Message', user: 'User', anyLevel: 'Any level',
  details: 'Details', close: 'Close', liveTail: 'Live tail', pause: 'Pause', resume: 'Resume', tailing: 'Following new entries', paused: 'Paused', stopTail: 'Stop',
  metrics: 'Metrics', allHosts: 'All hosts (combined)', lastHours: 'Period', hour: 'last hour', hours6: 'last 6 hours', hours24: 'last 24 hours', noData: 'No samples in this period.',
  activeAlerts: 'Active alerts', metric: 'Metric', value: 'Value', threshold: 'Threshold', since: 'Since', noAlerts: 'No alert is firing.',
  confirmDelete: 'Delete this? It cannot be undone.', secretOnce: 'Copy it now: it is not shown again.', copy: 'Copy', copied: 'Copied', edit: 'Edit', revoke: 'Revoke',
  apiTokens: 'API tokens', newToken: 'New API token', tokenSecret: 'Your new API token', expiresInDays: 'Expires in (days, empty: never)', scopes: 'Scopes', prefix: 'Prefix',
  lastUsed: 'Last used', expires: 'Expires', revoked: 'Revoked', active: 'Active', disabled: 'Disabled',
  myData: 'My data', newRecord: 'New record', editRecord: 'Edit record', key: 'Key', valueJson: 'Value (JSON)', version: 'Version', updated: 'Updated', invalidJson: 'is not valid JSON',
  oauthClients: 'OAuth clients', newClient: 'New OAuth client', clientSecret: 'Client secret of', clientType: 'Client type', clientId: 'Client ID', redirectUris: 'Redirect URIs (one a line)', description: 'Description', saveUris: 'Save redirect URIs',
  networking: 'Networking', portForwards: 'Port forwards', addresses: 'Bound addresses', proxies: 'Reverse proxies', add: 'Add', protocol: 'Protocol',
  externalPort: 'External port (empty: any free)', internalPort: 'Internal port', address: 'Address (empty: any free)', family: 'Family', domain: 'Domain', targetPort: 'Target port', tls: 'HTTPS (TLS)',
  domainProof: 'Domain proof', verifyDomain: 'Verify', domainVerified: 'verified', proveWith: 'Served once proven: TXT record',
  users: 'Users', newUser: 'New user', email: 'Email', role: 'Role', disable: 'Disable', enable: 'Enable', setRole: 'Set role',
  dbInstances: 'Database instances', newDbInstance: 'New database instance', syncSessions: 'Sync sessions', newSession: 'New sync session', sync: 'Sync', syncAll: 'Sync every active instance', port: 'Port',
  bgpSessions: 'BGP sessions', newBgpSession: 'New BGP session', ipv6Pools: 'IPv6 pools', newPool: 'New IPv6 pool', prefixLen: 'Prefix length',
  neighbor: 'Neighbor', remoteAs: 'Remote AS', localAs: 'Local AS', database: 'Database', credential: 'Credential', newCredential: '+ new', newUsername: 'Username (+ new)', newPassword: 'Password (+ new)',
  lastSync: 'Last sync', external: 'External', internal: 'Internal', iface: 'Interface', boundAddress: 'Address', redirectUrisShort: 'Redirect URIs',
  webhooks: 'Webhooks', newWebhook: 'New webhook endpoint', signingSecret: 'Signing secret of', previousValidUntil: 'The previous secret stays valid until', allEvents: 'every event',
  eventTypes: 'Event types (none: all)', filterResourceType: 'Only resource type', filterResourceId: 'Only resource ID', filterOperationType: 'Only operation type',
  allowPrivate: 'Allow private addresses (admins)', owner: 'Owner', alertRule: 'Alert rule', you: 'You', failures: 'Failures', rotateSecret: 'Rotate secret',
  sendTest: 'Send test', deliveries: 'Deliveries', replay: 'Replay', attempts: 'Attempts',
  serialBatches: 'Serial codes', newBatch: 'New serial-code batch', days: 'Days', count: 'Count', valueCents: 'Value (cents)', note: 'Note', used: 'Used',
  batchCodes: 'Serial codes of batch', downloadTxt: 'Download as text',
  wgServers: 'WireGuard servers', newWgServer: 'New WireGuard server', listenPort: 'Listen port', ipv4Cidr: 'IPv4 address/subnet', ipv6Cidr: 'IPv6 address/subnet',
  dnsServers: 'DNS servers (comma separated)', mtu: 'MTU', endpointHost: 'Endpoint (host clients reach)', clients: 'Clients', publicKey: 'Public key', privateKeyOf: 'Private key of server',
} as const;

const zh: Record<keyof typeof en, string> = {
  title: 'idcflow 控制台', signIn: '登录', signOut: '退出', username: '用户名', password: '密码', language: 'English',
  dashboard: '概览', hosts: '主机', instances: '实例', operations: '操作', more: '更多',
  create: '创建', cancel: '取消', refresh: '刷新', loading: '加载中…', empty: '暂无数据。', error: '出错了',
  name: '名称', host: '主机', image: '镜像', cpu: 'CPU 核数', ram: '内存 (MB)', state: '状态', status: '状态', type: '类型', resource: '资源',
  progress: '进度', created: '创建时间', actions: '操作', start: '启动', stop: '停止', restart: '重启', delete: '删除', terminal: '终端',
  newInstance: '新建实例', anyHost: '任意健康主机（自动调度）', running: '运行中', failed: '失败', succeeded: '成功', canceled: '已取消',
  instancesByState: '实例状态分布', recentOperations: '操作', operationRunning: '操作进行中', signedInAs: '当前用户',
  engine: '引擎', enabled: '启用', agent: '代理', skip: '跳到正文', search: '搜索', noAccess: '你的账户无权查看。',
  backups: '备份', newBackup: '新建备份', backupType: '备份类型', size: '大小', restore: '恢复', download: '下载',
  confirmRestore: '确定恢复此备份？数据库和文件将被备份中的副本替换。', completed: '完成时间',
  settings: '系统设置', save: '保存', saved: '设置已保存', noChanges: '没有改动。', source: '来源', readOnly: '只读信息',
  logLevel: '日志级别', maxLogSize: '日志中心容量 (MB)', backupRetention: '备份保留天数', sessionTimeout: '会话超时（秒）', apiRateLimit: 'API 限流（每分钟请求数，0 为关闭）', registrationEnabled: '开放自助注册（验证邮箱后方可登录）',
  logs: '日志', action: '动作', level: '级别', from: '开始', to: '结束', time: '时间', module: '模块', message: '消息', user: '用户', anyLevel: '全部级别',
  details: '详情', close: '关闭', liveTail: '实时跟踪', pause: '暂停', resume: '继续', tailing: '正在跟踪新日志', paused: '已暂停', stopTail: '停止',
  metrics: '监控指标', allHosts: '全部主机（汇总）', lastHours: '时间范围', hour: '最近 1 小时', hours6: '最近 6 小时', hours24: '最近 24 小时', noData: '该时间范围内没有数据。',
  activeAlerts: '当前告警', metric: '指标', value: '当前值', threshold: '阈值', since: '开始于', noAlerts: '没有正在触发的告警。',
  confirmDelete: '确定删除？此操作无法撤销。', secretOnce: '请立即复制：它不会再次显示。', copy: '复制', copied: '已复制', edit: '编辑', revoke: '吊销',
  apiTokens: 'API 令牌', newToken: '新建 API 令牌', tokenSecret: '新的 API 令牌', expiresInDays: '有效天数（留空：永久）', scopes: '权限范围', prefix: '前缀',
  lastUsed: '最近使用', expires: '到期', revoked: '已吊销', active: '有效', disabled: '已禁用',
  myData: '我的数据', newRecord: '新建记录', editRecord: '编辑记录', key: '键', valueJson: '值 (JSON)', version: '版本', updated: '更新时间', invalidJson: '不是有效的 JSON',
  oauthClients: 'OAuth 客户端', newClient: '新建 OAuth 客户端', clientSecret: '客户端密钥：', clientType: '客户端类型', clientId: '客户端 ID', redirectUris: '回调地址（每行一个）', description: '描述', saveUris: '保存回调地址',
  networking: '网络', portForwards: '端口转发', addresses: '绑定地址', proxies: '反向代理', add: '添加', protocol: '协议',
  externalPort: '外部端口（留空：自动分配）', internalPort: '内部端口', address: '地址（留空：自动分配）', family: '地址族', domain: '域名', targetPort: '目标端口', tls: 'HTTPS (TLS)',
  domainProof: '域名验证', verifyDomain: '验证', domainVerified: '已验证', proveWith: '验证后生效：TXT 记录',
  users: '用户', newUser: '新建用户', email: '邮箱', role: '角色', disable: '禁用', enable: '启用', setRole: '设置角色',
  dbInstances: '数据库实例', newDbInstance: '新建数据库实例', syncSessions: '同步会话', newSession: '新建同步会话', sync: '同步', syncAll: '同步全部活动实例', port: '端口',
  bgpSessions: 'BGP 会话', newBgpSession: '新建 BGP 会话', ipv6Pools: 'IPv6 地址池', newPool: '新建 IPv6 地址池', prefixLen: '前缀长度',
  neighbor: '邻居地址', remoteAs: '对端 AS', localAs: '本端 AS', database: '数据库', credential: '凭据', newCredential: '+ 新建', newUsername: '用户名（新凭据）', newPassword: '密码（新凭据）',
  lastSync: '最近同步', external: '外部', internal: '内部', iface: '网卡', boundAddress: '地址', redirectUrisShort: '回调地址',
  webhooks: 'Webhooks', newWebhook: '新建 Webhook 端点', signingSecret: '签名密钥：', previousValidUntil: '旧密钥在此之前仍然有效：', allEvents: '全部事件',
  eventTypes: '事件类型（不选：全部）', filterResourceType: '仅限资源类型', filterResourceId: '仅限资源 ID', filterOperationType: '仅限操作类型',
  allowPrivate: '允许私有地址（管理员）', owner: '所属', alertRule: '告警规则', you: '本人', failures: '连续失败', rotateSecret: '轮换密钥',
  sendTest: '发送测试', deliveries: '投递记录', replay: '重新投递', attempts: '尝试',
  serialBatches: '兑换码批次', newBatch: '生成兑换码批次', days: '天数', count: '数量', valueCents: '面值（分）', note: '备注', used: '已使用',
  batchCodes: '兑换码，批次', downloadTxt: '下载为文本',
  wgServers: 'WireGuard 服务端', newWgServer: '新建 WireGuard 服务端', listenPort: '监听端口', ipv4Cidr: 'IPv4 地址/子网', ipv6Cidr: 'IPv6 地址/子网',
  dnsServers: 'DNS 服务器（逗号分隔）', mtu: 'MTU', endpointHost: '接入地址（客户端连接的主机）', clients: '客户端', publicKey: '公钥', privateKeyOf: '服务端私钥：',
};

export type Key = keyof typeof en;
export const lang = signal<'en' | 'zh'>((localStorage.getItem('idcflow.lang') as 'en' | 'zh') ?? (navigator.language.startsWith('zh') ? 'zh' : 'en'));

export function t(key: Key): string {
  return (lang.value === 'zh' ? zh : en)[key];
}

export function toggleLanguage() {
  lang.value = lang.value === 'zh' ? 'en' : 'zh';
  localStorage.setItem('idcflow.lang', lang.value);
  document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';
}
