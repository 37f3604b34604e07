export { deleteUserWorkflow } from './users/delete-user';
export { testConnectionWorkflow, syncInstanceWorkflow, syncSessionWorkflow, classifyAccountsWorkflow, scheduledJobWorkflow } from './dbsync/runbooks';
export {
  createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow, passwordInstanceWorkflow, scanHostWorkflow, engineReadWorkflow,
} from './compute/runbooks';
export { noopWorkflow } from './platform/noop';
export { rentalLifecycleWorkflow } from './rentals/lifecycle';
export { rentalVerificationMailWorkflow } from './rentals/mail';
export { applyNetworkChangeWorkflow } from './networking/runbooks';
export { wireguardServerWorkflow, bgpApplyWorkflow } from './netservices/runbooks';
export { platformBackupWorkflow, scheduledPlatformBackupWorkflow, platformRestoreWorkflow } from './availability/backups';
export { monitoringEvaluateAlertsWorkflow, monitoringRollupWorkflow } from './monitoring/alerts';
