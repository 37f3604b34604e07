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
