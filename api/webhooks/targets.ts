import { validationError } from '../../shared/platform/errors';
import { isPublicAddress } from '../../shared/webhooks/events';
import { addressesOf } from '../../shared/platform/outbound';


/**
 * Refuses a webhook target that carries credentials or resolves to a loopback, private, link-local or otherwise
 * non-public address (unless an admin allowed private targets), as a 422 naming `field`. Every delivery checks the
 * addresses it connects to again (activities/webhooks/safe-request.ts).
 */
export async function checkWebhookTarget(target: string, allowPrivate: boolean, field = 'url'): Promise<void> {
  const url = new URL(target);
  if (url.username || url.password) throw validationError([{ field, location: 'body', message: 'may not carry credentials' }]);
  if (allowPrivate) return;
  // A name that does not resolve yet is accepted: every delivery checks the addresses it connects to.
  const { host, addresses } = await addressesOf(url);
  const blocked = addresses.find((a) => !isPublicAddress(a));
  if (blocked) throw validationError([{ field, location: 'body', message: `${host} is ${blocked}, not a public address (an admin may allow private targets with ${field === 'url' ? 'allow_private' : 'webhook_allow_private'})` }]);
}
