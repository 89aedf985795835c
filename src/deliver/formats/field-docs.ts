// What each provider's fields mean, for GET /webhooks/events/documentation?format=…: the
// providers' own words where they document them (SparkPost's events documentation, SendGrid's
// Event Webhook reference, Salesforce's ENS event pages, Copernica's webhook pages), with what
// hookd puts there when that differs. A field a mapper sends and this table lacks fails a test.

export type NamedDoc = { display_name: string; description: string };

export const SPARKPOST_FIELD_DOCS: Record<string, string> = {
  type: "Type of event this record describes",
  event_id: "Unique event identifier",
  timestamp: "Event date and time, in Unix timestamp format (integer seconds since 00:00:00 GMT 1970-01-01)",
  rcpt_to: "Lowercase version of recipient address used on this message's SMTP envelope",
  raw_rcpt_to: "Actual recipient address used on this message's SMTP envelope",
  routing_domain: "Domain receiving this message",
  msg_from: "Sender address used on this message's SMTP envelope",
  message_id: "SparkPost-cluster-wide unique identifier for this message (here the Message-ID, or the queue id)",
  campaign_id: "Campaign of which this message was a part",
  rcpt_tags: "Tags applied to the message which generated this event",
  rcpt_meta: "Metadata describing the message recipient",
  raw_reason: "Unmodified, exact response returned by the remote server due to a failed delivery attempt",
  reason: "Canonicalized text of the response returned by the remote server due to a failed delivery attempt",
  error_code: "Error code by which the remote server described a failed delivery attempt",
  bounce_class: "Classification code for a given message (see Bounce Classification Codes)",
  num_retries: "Number of failed attempts before this message was successfully delivered; when the first attempt succeeds, zero",
  queue_time:
    "Delay, expressed in milliseconds, between this message's injection into SparkPost and its delivery to the receiving domain; that is, the length of time this message spent in the outgoing queue",
  injection_time: "Time at which this message was injected into SparkPost",
  msg_size: "Message's size in bytes",
  ip_address:
    "IP address of the host to which SparkPost delivered this message; in engagement events, the IP address of the host where the HTTP request originated",
  delv_method: "Protocol by which SparkPost delivered this message",
  remote_addr: "IP address of the host from which SparkPost received this message",
  user_agent: "Value of the browser's User-Agent header",
  target_link_url: "URL of the target link",
  fbtype: "Type of spam report entered against this message (see RFC 5965 § 7.3)",
};

export const SPARKPOST_CLASS_DOCS: Record<string, NamedDoc> = {
  message_event: {
    display_name: "Message Events",
    description: "Message events describe the life cycle of a message including injection, delivery, and disposition.",
  },
  track_event: {
    display_name: "Engagement Events",
    description: "Engagement events describe the behavior of a recipient with respect to the message sent.",
  },
  unsubscribe_event: {
    display_name: "Unsubscribe Events",
    description: "Unsubscribe events provide insight into the user unsubscribing from a list.",
  },
};

export const SPARKPOST_EVENT_DOCS: Record<string, NamedDoc> = {
  injection: { display_name: "Injection", description: "Message is received by or injected into SparkPost." },
  delivery: { display_name: "Delivery", description: "Remote MTA acknowledged receipt of a message." },
  delay: { display_name: "Delay", description: "Remote MTA has temporarily rejected a message." },
  bounce: { display_name: "Bounce", description: "Remote MTA has permanently rejected a message." },
  policy_rejection: {
    display_name: "Policy Rejection",
    description: "Due to policy, SparkPost rejected a message or failed to generate a message.",
  },
  out_of_band: {
    display_name: "Out of Band",
    description:
      "Remote MTA initially reported acceptance of a message, but it has since asynchronously reported that the message was not delivered.",
  },
  spam_complaint: { display_name: "Spam Complaint", description: "The message was classified as spam by the recipient." },
  open: {
    display_name: "Open",
    description: "Recipient opened a message in a mail client, thus rendering a tracking pixel at the bottom of the message.",
  },
  initial_open: {
    display_name: "Initial Open",
    description: "Recipient opened a message in a mail client, thus rendering a tracking pixel at the top of the message.",
  },
  click: {
    display_name: "Click",
    description:
      "Recipient clicked a tracked link in a message, thus prompting a redirect through the SparkPost click-tracking server to the link's destination.",
  },
  list_unsubscribe: { display_name: "List Unsubscribe", description: "User clicked the 'unsubscribe' button on an email client." },
};

export const SENDGRID_FIELD_DOCS: Record<string, string> = {
  email: "The email address of the recipient.",
  timestamp: "The UNIX timestamp of when the message was sent.",
  event: "The event type.",
  sg_event_id: "A unique ID to this event that you can use for deduplication purposes.",
  sg_message_id: "A unique, internal SendGrid ID for the message (here the Message-ID, or the queue id).",
  "smtp-id": "A unique ID attached to the message by the originating system.",
  category: "Categories are custom tags that you set for the purpose of organizing your emails.",
  response: "The full text of the HTTP response error returned from the receiving server.",
  reason: "Any sort of error response returned by the receiving server that describes the reason this event type was triggered.",
  status: "Status code string (the enhanced status code, e.g. 5.1.1).",
  attempt: "The number of times SendGrid has attempted to deliver this message.",
  type: "Indicates whether the bounce event was a hard bounce (type=bounce) or block (type=blocked).",
  bounce_classification: "The classification of the bounce.",
  url: "The URL where the event originates. For click events, this is the URL clicked on by the recipient.",
  useragent: "The user agent responsible for the event.",
  ip: "For open and click events, the IP address of the recipient who engaged with the email.",
  sg_machine_open: "Whether the open was generated by a machine (an image proxy or a prefetch) rather than the recipient.",
  campaign_id: "A custom argument: the campaign the message was part of.",
};
/** SendGrid puts custom arguments (hookd's metadata) at the top level under their own names. */
export const SENDGRID_CUSTOM_ARG_DOC = "A custom argument set on the message (hookd's metadata).";

export const SENDGRID_CLASS_DOCS: Record<string, NamedDoc> = {
  delivery_events: { display_name: "Delivery events", description: "Events that indicate the status of email delivery to the recipient." },
  engagement_events: {
    display_name: "Engagement events",
    description: "Events that indicate how the recipient is interacting with the email.",
  },
};

export const SENDGRID_EVENT_DOCS: Record<string, NamedDoc & { class: string }> = {
  processed: {
    class: "delivery_events",
    display_name: "Processed",
    description: "Message has been received and is ready to be delivered.",
  },
  delivered: {
    class: "delivery_events",
    display_name: "Delivered",
    description: "Message has been successfully delivered to the receiving server.",
  },
  deferred: { class: "delivery_events", display_name: "Deferred", description: "Receiving server temporarily rejected the message." },
  bounce: { class: "delivery_events", display_name: "Bounce", description: "Receiving server could not or would not accept the message." },
  dropped: { class: "delivery_events", display_name: "Dropped", description: "The message was not sent." },
  open: { class: "engagement_events", display_name: "Open", description: "The recipient has opened the HTML message." },
  click: { class: "engagement_events", display_name: "Click", description: "Recipient clicked on a link within the message." },
  unsubscribe: { class: "engagement_events", display_name: "Unsubscribe", description: "Recipient unsubscribed." },
  spamreport: { class: "engagement_events", display_name: "Spam Report", description: "Recipient marked message as spam." },
};

export const SFMC_FIELD_DOCS: Record<string, string> = {
  eventCategoryType: "The taxonomy of the event",
  timestampUTC: "UTC Epoch time (milliseconds)",
  compositeId: "Internal tracking ID; hookd sends the event's id, stable across retries",
  "composite.jobId": "Marketing Cloud Job ID; here the message's Message-ID (or queue id)",
  "composite.subscriberId": "Marketing Cloud subscriber; here the recipient address",
  definitionKey: 'Send Definition Customer Key (transactional send events; here the campaign_id); "NA" on engagement events',
  definitionId: 'Send Definition Id; "NA" on engagement events',
  channel: "The channel of the engagement: email",
  "info.to": "The recipient's address",
  "info.subscriberKey": "The subscriber key: metadata.subscriberKey, else the recipient address",
  "info.messageKey": "The transactional send's message key: metadata.messageKey, else the Message-ID (or queue id)",
  "info.status": "Result of the Sent Event",
  "info.reason": "The descriptive reason",
  "info.statusCode": "The error code (here the SMTP reply code)",
  "info.statusMessage": "The error message",
  "info.bounceCode": 'The type of bounce - "HARD" or "SOFT"',
  "info.bounceMessage": "The reply of the recipient's mail server",
  "info.smtpReason": "The error value of the SMTP reason",
  "info.ipAddress": "IP address detected from click source",
  "info.userAgent": "User agent from click source",
  "info.contentLink": "The link clicked",
  "info.location":
    "Contains information about location based on IP address. If the location was unable to be detected, this object will be empty",
  "info.domain": "email domain of event",
  "info.unsubscribeDate": "The date the subscriber unsubscribed (epoch milliseconds)",
  "info.unsubscribeMethod": "How the unsubscribe occurred; click,reply",
};

export const SFMC_CLASS_DOCS: Record<string, NamedDoc> = {
  TransactionalSendEvents: {
    display_name: "Transactional Email Events",
    description: "What happened to a transactional send: sent, not sent, bounced.",
  },
  EngagementEvents: { display_name: "Engagement Email Events", description: "What the recipient did: opened, clicked, unsubscribed." },
};

export const SFMC_EVENT_DOCS: Record<string, NamedDoc> = {
  EmailSent: { display_name: "Email Sent", description: "Indicates that the email was sent to the email provider." },
  EmailNotSent: { display_name: "Email Not Sent", description: "Indicates that the email was not sent and includes the reason." },
  EmailBounced: { display_name: "Email Bounced", description: "Indicates that the email bounced and includes the reason." },
  EmailOpen: { display_name: "Email Open", description: "Indicates that the email was opened." },
  EmailClick: { display_name: "Email Click", description: "Indicates that the recipient clicked a link in the email." },
  EmailUnsubscribe: {
    display_name: "Email Unsubscribe",
    description: "Indicates that the recipient clicked the unsubscribe link in the email.",
  },
};

export const COPERNICA_FIELD_DOCS: Record<string, string> = {
  id: "Unique identifier of the message (here the Message-ID, or the queue id)",
  type: "Type of action that triggered the Webhook",
  timestamp: "Timestamp of the event (in YYYY-MM-DD HH:MM:SS format, UTC)",
  time: "Unix time of the event",
  recipient: "Email address of the receiver",
  tags: "The tags that you associated with the mail (tags[]=…)",
  code: "Status code from the receiving mail server",
  extended: "Extended status code from the receiving mail server",
  description: "Server message from the receiving mail server",
  action: "Action that triggered the Webhook ('failure' or 'failed')",
  state: 'State in the SMTP protocol where the failure occurred ("bounce" for asynchronous bounces)',
  ip: "IP address from which the message was opened or the link clicked",
  useragent: "Optional user agent string (extracted from HTTP request header)",
  original: "The original url",
  emailfrom: "Email address of the complaining recipient",
  profile: "Unique identifier of the profile",
  subprofile: "Unique identifier of the subprofile",
  database: "Unique identifier of the database to which the profile belongs",
  collection: "Unique identifier of the collection to which the subprofile belongs",
  created: "Timestamp for when the profile was created (in YYYY-MM-DD HH:MM:SS format)",
  modified: "Timestamp for when the profile was modified (in YYYY-MM-DD HH:MM:SS format)",
  parameters: "Parameters that the action was performed with (parameters[name]=…)",
  fields: "Current fields of the profile (fields[name]=…)",
  interests: "Current interests of the profile (interests[]=…)",
};
/** A custom event's `data` key that Copernica does not name is sent as it is. */
export const COPERNICA_DATA_DOC = "A key of the custom event's data, sent as it is.";

export const COPERNICA_CLASS_DOCS: Record<string, NamedDoc> = {
  webhooks: {
    display_name: "Webhooks",
    description:
      "One POST per event, application/x-www-form-urlencoded; associative arrays per key (fields[name]=value), lists per item (tags[]=x).",
  },
};

export const COPERNICA_EVENT_DOCS: Record<string, NamedDoc> = {
  delivery: { display_name: "Deliveries", description: "A message was delivered: the receiving mail server accepted it." },
  failure: {
    display_name: "Failures",
    description: "A delivery failed, during the SMTP handshake or later by a delivery status notification.",
  },
  open: { display_name: "Opens", description: "A recipient opened the message (the tracking image was downloaded)." },
  click: { display_name: "Clicks", description: "A recipient clicked a tracked link." },
  abuse: { display_name: "Abuses", description: "A recipient reported the message as spam." },
  create: {
    display_name: "(Sub)profile creations",
    description: "A profile or subprofile was created (custom events profile.created, subprofile.created).",
  },
  update: {
    display_name: "(Sub)profile updates",
    description: "A profile or subprofile was updated (custom events profile.updated, subprofile.updated).",
  },
  delete: {
    display_name: "(Sub)profile removals",
    description: "A profile or subprofile was removed (custom events profile.deleted, subprofile.deleted).",
  },
};
