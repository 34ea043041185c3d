/** Tags in the order Swagger UI lists them. */
export const TAGS = {
  subscribe: 'Subscribe',
  publish: 'Publish',
  topics: 'Topics',
  connections: 'Admin: connections',
  alerts: 'Admin: alerts',
  occupancy: 'Admin: occupancy webhooks',
  operations: 'Operations',
  client: 'Client',
  documentation: 'Documentation',
} as const;

export const TAG_DESCRIPTIONS: Record<(typeof TAGS)[keyof typeof TAGS], string> = {
  Subscribe: 'Event streams (`text/event-stream`) with exact resume, and the long-poll fallback.',
  Publish: 'Events into topics; each stored in history, with its id, before `202`.',
  Topics: 'Subscribers across instances, the newest retained event, and who is listening (presence).',
  'Admin: connections': 'The open streams of this instance; kick one.',
  'Admin: alerts': 'Alert channels (Slack, email, webhook, log), rules over the monitored figures, history.',
  'Admin: occupancy webhooks': 'Webhooks told when a topic becomes occupied (its first stream) or vacated.',
  Operations: 'Health probes, Prometheus metrics, the status snapshot and the live dashboard.',
  Client: 'The browser client Herald serves, and an example built on it.',
  Documentation: 'This document and its Swagger UI.',
};
