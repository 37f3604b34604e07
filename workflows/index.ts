export { deleteUserWorkflow } from './users/delete-user';
export { testConnectionWorkflow, syncInstanceWorkflow, syncSessionWorkflow, classifyAccountsWorkflow, scheduledJobWorkflow } from './dbsync/runbooks';
export {
  createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow, passwordInstanceWorkflow, scanHostWorkflow, engineReadWorkflow,
} from './compute/runbooks';
export { imageUploadWorkflow, imageDeleteWorkflow } from './compute/images';
export { noopWorkflow } from './platform/noop';
export { rentalLifecycleWorkflow } from './rentals/lifecycle';
export { emailVerificationMailWorkflow } from './platform/verification-mail';
export { applyNetworkChangeWorkflow, setHostAcmeWorkflow, verifyProxyDomainWorkflow } from './networking/runbooks';
export { wireguardServerWorkflow, bgpApplyWorkflow } from './netservices/runbooks';
export { logCleanupWorkflow, logRetentionWorkflow } from './logs/cleanup';
export { platformBackupWorkflow, scheduledPlatformBackupWorkflow, platformRestoreWorkflow } from './availability/backups';
export { deliverWebhookWorkflow } from './webhooks/deliver';
export { clusterNodeProbeWorkflow } from './system/probe';
export { hostHealthWorkflow, hostFailoverWorkflow, loadBalanceWorkflow, replaceContainerWorkflow, disasterRecoveryWorkflow } from './availability/ha';
export { instanceMoveWorkflow } from './availability/moves';
export { monitoringEvaluateAlertsWorkflow, monitoringRollupWorkflow } from './monitoring/alerts';
