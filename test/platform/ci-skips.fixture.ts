import { describeIfRunnable, missingTools } from '../support/environment';
import { podmanMissing } from '../support/podman';

/** Run by ci-skips.test.ts in a jest of its own: a suite that needs `wg`, and one on the global set-up's Podman. */
describeIfRunnable(missingTools(['wg'], 'apt-get install wireguard-tools'), 'a suite that drives wg', () => {
  it('finds wg', () => expect(missingTools(['wg'], '')).toBeNull());
});

describeIfRunnable(podmanMissing(), 'a suite on the suite\'s Podman', () => {
  it('has its socket', () => expect(process.env.IDCFLOW_TEST_DOCKER_SOCKET).toBeTruthy());
});
