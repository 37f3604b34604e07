import { conflict } from '../../shared/platform/errors';
import type { ImageFormat } from '../../shared/compute/images';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import type { OperationService } from '../platform/operations/service';
import { imageDeleteWorkflow, imageUploadWorkflow } from '../../workflows/compute/images';
import type { ImageInfo } from '../../shared/compute/contracts';
import type { EngineReads } from './engine-reads';
import type { HostService } from './hosts';
import { computeBounds } from './bounds';
import { checkOutboundTarget } from '../../shared/platform/outbound';

const imageResource = (host: { id: number }, name: string) => ({ type: 'image', id: `${host.id}/${name}`, name, url: `/api/v1/hosts/${host.id}/images/${name}` });

/** A libvirt host's base images (its image_dir): listed live from the host, fetched and deleted by operations on it. */
export class ImageService {
  constructor(private readonly deps: AppDeps, private readonly operations: OperationService, private readonly hosts: HostService, private readonly engineReads: EngineReads) {}

  private async imageHost(id: number) {
    const host = await this.hosts.hostRow(id);
    if (host.engine_type !== 'libvirt_qemu') throw conflict(`Host ${host.name} runs ${host.engine_type}: only libvirt_qemu hosts keep image files`);
    return host;
  }

  /** Instances on the host recorded with each image. */
  private async usage(hostId: number, name?: string): Promise<Map<string, number>> {
    const rows = await this.deps.knex('instances').where({ host_id: hostId }).whereNull('deleted_at').whereNotNull('image')
      .modify((q) => { if (name) q.where({ image: name }); }).groupBy('image').select('image', this.deps.knex.raw('count(*)::int as n'));
    return new Map(rows.map((r: { image: string; n: number }) => [r.image, r.n]));
  }

  async list(hostId: number) {
    const host = await this.imageHost(hostId);
    const images = (await this.engineReads.read(host.id, 'images')) as ImageInfo[];
    const used = await this.usage(host.id);
    return { host_id: host.id, images: images.map((i) => ({ ...i, instances: used.get(i.name) ?? 0 })) };
  }

  async upload(caller: Caller, hostId: number, body: { name: string; url: string; sha256: string; format: ImageFormat }) {
    const host = await this.imageHost(hostId);
    // The same SSRF checks as webhooks: refused now (422 naming url), and again by the host at every connection it makes.
    const allowPrivate = this.deps.config.tenancy.outboundAllowPrivate;
    await checkOutboundTarget(body.url, allowPrivate, 'url');
    const image = { ...body, sha256: body.sha256.toLowerCase(), maxBytes: this.deps.config.compute.imageMaxBytes, allowPrivate };
    return this.operations.start(caller, { image_upload: host.id, name: body.name }, () => ({
      type: 'image.upload', resource: imageResource(host, body.name), host: host.name, workflow: imageUploadWorkflow,
      input: { hostId: host.id, image, ...computeBounds(this.deps.config) }, summary: `Download image ${body.name} to host ${host.name}`,
    }));
  }

  async remove(caller: Caller, hostId: number, name: string) {
    const host = await this.imageHost(hostId);
    const n = (await this.usage(host.id, name)).get(name) ?? 0;
    if (n) throw conflict(`Image ${name} is in use by ${n} instance(s) on host ${host.name}; delete them first`, { instances: n });
    return this.operations.start(caller, { image_delete: host.id, name }, () => ({
      type: 'image.delete', resource: imageResource(host, name), host: host.name, workflow: imageDeleteWorkflow,
      input: { hostId: host.id, name, ...computeBounds(this.deps.config) }, summary: `Delete image ${name} from host ${host.name}`,
    }));
  }
}
