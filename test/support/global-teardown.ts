import fs from 'node:fs';

export default async function globalTeardown() {
  const state = globalThis.__idcflowTest;
  if (!state) return;
  await state.worker.stop();
  await state.podman?.stop();
  await state.services.stop();
  fs.rmSync(state.dir, { recursive: true, force: true });
}
