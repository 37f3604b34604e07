import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { Provider } from 'oidc-provider';

// jose 6 and oidc-provider 9 are ESM-only: jest's CommonJS module system loads them because jest.config.js
// compiles them (transformIgnorePatterns); Node 22+ itself loads them with require(esm).
describe('ESM-only libraries under jest', () => {
  it('jose signs a JWT with a generated key and verifies it', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    const token = await new SignJWT({ scope: 'hosts:read' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('https://idcflow.example.test')
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const { payload, protectedHeader } = await jwtVerify(token, publicKey, { issuer: 'https://idcflow.example.test', algorithms: ['EdDSA'] });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: 'user-1', scope: 'hosts:read' });
    await expect(jwtVerify(token, publicKey, { issuer: 'https://other.example.test' })).rejects.toThrow(/iss/);
  });

  it('oidc-provider serves its discovery document through its Koa app', async () => {
    const issuer = 'https://id.idcflow.example.test';
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const provider = new Provider(issuer, {
      clients: [{ client_id: 'panel', client_secret: 'panel-secret-0123456789', redirect_uris: ['https://panel.example.test/cb'] }],
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }] },
    });
    const server = http.createServer(provider.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${origin}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      const discovery = (await res.json()) as Record<string, unknown> & { jwks_uri: string; response_types_supported: string[] };
      // The issuer is the configured one; endpoints are built from the origin the request reached.
      expect(discovery).toMatchObject({
        issuer,
        authorization_endpoint: `${origin}/auth`,
        token_endpoint: `${origin}/token`,
        jwks_uri: `${origin}/jwks`,
        userinfo_endpoint: `${origin}/me`,
      });
      expect(discovery.response_types_supported).toContain('code');
      const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys).toEqual([expect.objectContaining({ kid: 'key-1', kty: 'RSA', alg: 'RS256' })]);
      expect(jwks.keys[0].d).toBeUndefined();
      expect((await provider.Client.find('panel'))?.redirectUris).toEqual(['https://panel.example.test/cb']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
