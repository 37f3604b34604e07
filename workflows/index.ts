export { deleteUserWorkflow } from './delete-user';
export {
  createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow, passwordInstanceWorkflow, scanHostWorkflow, engineReadWorkflow,
} from './compute';
export { noopWorkflow } from './noop';
