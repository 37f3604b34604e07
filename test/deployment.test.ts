import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CONFIG_ENV_VARS } from '../shared/config';

const root = path.resolve(__dirname, '..');
// No Docker engine runs on these machines, so the deployment files are checked for structure and for agreement with the code.
const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });

describe('docker-compose.yml', () => {
  it('has the services of a production deployment', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  });

  it('starts idcflow only after migrations, and migrations only after the database', () => {
    expect(compose.services.api.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(compose.services.worker.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(compose.services.migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(compose.services.temporal.depends_on.postgres.condition).toBe('service_healthy');
    expect(compose.services.temporal.environment.DB).toBe('postgres12');
  });

  it('publishes the API, Temporal and the UI', () => {
    expect(compose.services.api.ports).toContain('8080:8080');
    expect(compose.services.temporal.ports).toContain('7233:7233');
    expect(compose.services['temporal-ui'].ports).toContain('8233:8080');
  });

  it('names only environment variables the code reads, and what production requires', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const env = Object.keys(compose.services[name].environment);
      expect(env.filter((v) => !CONFIG_ENV_VARS.includes(v))).toEqual([]);
      expect(env).toEqual(expect.arrayContaining(['DATABASE_URL', 'TEMPORAL_ADDRESS', 'IDCFLOW_MASTER_KEY', 'IDCFLOW_JWT_SECRET', 'NODE_ENV']));
    }
  });

  it('runs entrypoints that the build produces', () => {
    for (const name of ['api', 'worker', 'migrate']) {
      const [, script] = compose.services[name].command;
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(fs.existsSync(path.join(root, source))).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  it('is multi-stage: build, then a runtime with production dependencies only', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist/);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('copies every source folder the build compiles', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
    for (const folder of tsconfig.include) expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
  });
});

describe('README', () => {
  it('documents every environment variable the code reads', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(CONFIG_ENV_VARS.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
});
