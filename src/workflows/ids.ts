/** Child IDs derive from the pass's ID, so a pass's versions are found next to it. */
export function versionWorkflowId(passWorkflowId: string, version: string): string {
  return `${passWorkflowId}/ocp-${version}`;
}
