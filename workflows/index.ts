export { deleteUserWorkflow } from './delete-user';
export { testConnectionWorkflow, syncInstanceWorkflow, syncSessionWorkflow, classifyAccountsWorkflow, scheduledJobWorkflow } from './dbsync';
export {
  createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow, passwordInstanceWorkflow, scanHostWorkflow, engineReadWorkflow,
} from './compute';
export { noopWorkflow } from './noop';
