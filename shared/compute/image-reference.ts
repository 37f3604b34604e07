import { z } from 'zod';

// The grammar of container image references (github.com/distribution/reference, reference.go):
//   reference := name [ ":" tag ] [ "@" digest ];  name := [domain '/'] remote-name;  remote-name := path-component ['/' path-component]*
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domain = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${name})(?::${tag})?(?:@${digest})?$`);

/** reference.go's NameTotalLengthMax. */
const NAME_MAX = 255;

/** Why `ref` is not a valid image reference, or null when it is. */
export function imageReferenceProblem(ref: string): string | null {
  const match = REFERENCE.exec(ref);
  if (!match) return 'must be an image reference such as "nginx:1.27" or "registry.example.com/team/app@sha256:…" (lowercase repository names)';
  if (match[1].length > NAME_MAX) return `must have a repository name of at most ${NAME_MAX} characters`;
  return null;
}

/** An image reference in a request: checked against the registry grammar before any engine sees it. */
export const imageReference = z
  .string()
  .min(1, 'is required')
  .max(512)
  .superRefine((ref, ctx) => {
    const problem = imageReferenceProblem(ref);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * The registry an image reference pulls from, as Docker normalizes it (reference.go's splitDockerDomain): the first
 * component when it looks like a host (has a dot or a port, is `localhost`, or has capitals), else Docker Hub
 * (`docker.io`, which `index.docker.io` also names). Lowercased.
 */
export function imageRegistry(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash === -1) return 'docker.io';
  const first = ref.slice(0, slash);
  if (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first) return 'docker.io';
  const registry = first.toLowerCase();
  return registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? 'docker.io' : registry;
}
