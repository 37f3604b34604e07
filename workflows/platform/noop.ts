/** A workflow that does nothing: the ceiling benchmarks compare operation workflows against (bench/compute.ts). */
export async function noopWorkflow(): Promise<string> {
  return 'ok';
}
