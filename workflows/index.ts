export { deleteUserWorkflow } from './delete-user';
