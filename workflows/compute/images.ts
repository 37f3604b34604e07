import type { ActivityOptions } from '@temporalio/workflow';
import type { ImageFetch } from '../../shared/compute/contracts';
import type { OperationInput } from '../../shared/platform/operations';
import { runOperation } from '../platform/operation';
import { routeTo } from './runbooks';
import { type ComputeBounds } from '../../shared/compute/contracts';

/** A download streams for as long as it takes while it heartbeats; a crashed agent's is retried from the start. */
const fetchOptions: ActivityOptions = {
  startToCloseTimeout: '6h', heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes: ['RESOURCE_NOT_FOUND', 'CONFLICT', 'VALIDATION_ERROR', 'NOT_SUPPORTED'] },
};

export interface ImageUploadInput extends OperationInput, ComputeBounds {
  hostId: number;
  image: ImageFetch;
}

/** Runbook: stream an image from a URL into the host's image_dir (on its agent when it has one), checksum and format checked. */
export async function imageUploadWorkflow(input: ImageUploadInput) {
  return runOperation(input.operationId, async (op) => {
    const { engine } = await routeTo(op, input.hostId, input, fetchOptions);
    const image = await op.step('fetch', 50, `Downloading ${input.image.name} (${input.image.format}) and checking its SHA-256`, () => engine.engineFetchImage({ hostId: input.hostId, image: input.image }));
    return { host_id: input.hostId, image };
  });
}

export interface ImageDeleteInput extends OperationInput, ComputeBounds {
  hostId: number;
  name: string;
}

/** Runbook: delete an image and its companions from the host, refused by the engine while a VM there uses it. */
export async function imageDeleteWorkflow(input: ImageDeleteInput) {
  return runOperation(input.operationId, async (op) => {
    const { engine } = await routeTo(op, input.hostId, input);
    const { existed } = await op.step('delete', 50, `Deleting image ${input.name}`, () => engine.engineDeleteImage({ hostId: input.hostId, name: input.name }));
    return { host_id: input.hostId, name: input.name, existed };
  });
}
