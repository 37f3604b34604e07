import { z } from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';

/** The native error envelope, one component that every route's error answers refer to. */
export const errorEnvelopeSchema = z.object({
  success: z.literal(false),
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  timestamp: z.string(),
}).meta({ id: 'Error' });

export function createRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An access token from /auth/login, or an API token (idcf_…) from /tokens',
  });
  registry.registerComponent('securitySchemes', 'agentSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: '`IdcflowAgent <JWT>`: a host agent\'s request, signed with its own key and carrying its certificate from idcflow\'s agent CA (docs/agents.md)',
  });
  return registry;
}

export function openApiDocument(registry: OpenAPIRegistry, version: string) {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'idcflow API',
      version,
      description: 'Hosting orchestration on Temporal. Long-running changes answer 202 with an operation to poll.',
    },
    servers: [{ url: '/' }],
  });
}

export function docsPage(specUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>idcflow API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js" data-spec="${specUrl}"></script>
</body></html>`;
}

export const docsInitScript = `window.ui = SwaggerUIBundle({ url: document.currentScript.dataset.spec, dom_id: '#ui', persistAuthorization: true });`;
