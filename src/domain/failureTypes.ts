// ApplicationFailure types: set by the activity layer, read by workflows. Pure, so both may import it.
export const FAILURE_TYPES = {
  transient: 'UpstreamTransient',
  permanent: 'UpstreamPermanent',
  tokenNotFound: 'GangwayTokenNotFound',
  noAcceptedRelease: 'NoAcceptedRelease',
  triggerFailed: 'TriggerFailed',
} as const;
