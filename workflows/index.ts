export { deleteUserWorkflow } from './delete-user';
export {
  createInstanceWorkflow, deleteInstanceWorkflow, powerInstanceWorkflow, updateInstanceWorkflow, passwordInstanceWorkflow, scanHostWorkflow, engineReadWorkflow,
} from './compute';
