// ApplicationFailure types: set by the activity layer, read by workflows. Pure, so both may import it.
export const FAILURE_TYPES = {
  transient: 'UpstreamTransient',
  permanent: 'UpstreamPermanent',
  tokenNotFound: 'GangwayTokenNotFound',
  noAcceptedRelease: 'NoAcceptedRelease',
  triggerFailed: 'TriggerFailed',
  /** A pass input that is malformed or names a version or job the worker does not watch. */
  invalidPassInput: 'InvalidPassInput',
} as const;
