export { deleteUserWorkflow } from './delete-user';
export { testConnectionWorkflow, syncInstanceWorkflow, syncSessionWorkflow, classifyAccountsWorkflow, scheduledJobWorkflow } from './dbsync';
