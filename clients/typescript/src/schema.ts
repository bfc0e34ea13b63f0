// Generated from the service's OpenAPI document by `make client-types`. Do not edit.

export interface AccessDecision {
  allowed: boolean;
  reason: "ok" | "insufficient_credits" | "past_due" | "unpaid" | "paused" | "disputed" | "negative_balance";
  available: number;
  cost?: number;
  usage?: MeteredUsage | null;
}

export interface Account {
  id: string;
  balance: number;
  reserved: number;
  available: number;
  deficit: number;
  subscription_status: string;
  plan: string | null;
  current_period_end: string | null;
  grace_until: string | null;
  cancel_at: string | null;
  suspended_reason: string | null;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  name?: string | null;
  email?: string | null;
  metadata?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface AccountList {
  data: Array<Account>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface AccountRate {
  meter: string;
  name: string;
  unit: string;
  rounding: string;
  rate_version: number;
  effective_from: string;
  unit_price: UnitPrice;
  scheduled: ScheduledRate | null;
}

export interface AccountRates {
  account_id: string;
  plan: string | null;
  at: string;
  data: Array<AccountRate>;
}

export interface AccountUpdate {
  name?: string | null;
  email?: string | null;
  metadata?: Record<string, string | number | boolean | null> | null;
}

export interface AdjustmentCreate {
  amount: number;
  reason: string;
  metadata?: Record<string, string | number | boolean | null>;
}

export interface Alerts {
  account_id: string;
  low_balance_threshold: number | null;
  source: "account" | "plan" | "default" | "off";
}

export interface AlertsUpdate {
  low_balance_threshold: number | null;
}

export interface Attempt {
  at: string;
  status_code: number | null;
  body: string | null;
  error: string | null;
  duration_ms: number;
}

export interface AutoTopup {
  account_id: string;
  enabled: boolean;
  threshold: number | null;
  pack: string | null;
  quantity: number | null;
  target_balance: number | null;
  monthly_cap_packs: number | null;
  monthly_cap_amount: number | null;
  payment_method: string | null;
  source: "account" | "plan" | "none";
  consecutive_failures: number;
  disabled_reason: string | null;
  cap_reached_month: string | null;
}

export interface AutoTopupUpdate {
  enabled: boolean;
  threshold?: number | null;
  pack?: string | null;
  quantity?: number | null;
  target_balance?: number | null;
  monthly_cap_packs?: number | null;
  monthly_cap_amount?: number | null;
  payment_method?: string | null;
}

export interface BalanceAt {
  balance: number;
  at: string;
  as_of_seq: number;
}

export interface CaptureCreate {
  amount?: number | null;
}

export interface CaptureResult {
  reservation: Reservation;
  entry: LedgerEntry;
  account: Account;
}

export type DebitCreate = {
  amount: number;
  description?: string | null;
  metadata?: Record<string, string | number | boolean | null>;
} | {
  meter: string;
  quantity: number;
  occurred_at?: string;
  description?: string | null;
  metadata?: Record<string, string | number | boolean | null>;
};

export interface Delivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  last_attempt: Attempt | null;
  log: Array<Attempt>;
  created_at: string;
}

export interface DeliveryPage {
  data: Array<Delivery>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface Endpoint {
  id: string;
  url: string;
  event_types: Array<string> | null;
  description: string | null;
  disabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface EndpointCreate {
  url: string;
  event_types?: Array<"credits.granted" | "credits.expiring" | "credits.expired" | "balance.low" | "balance.depleted" | "balance.recovered" | "access.suspended" | "access.restored" | "subscription.updated" | "reservation.expired" | "stripe_event.failed" | "topup.succeeded" | "topup.failed" | "auto_topup.disabled" | "auto_topup.cap_reached"> | null;
  description?: string | null;
}

export interface EndpointList {
  data: Array<Endpoint>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface EndpointUpdate {
  url?: string | null;
  event_types?: Array<"credits.granted" | "credits.expiring" | "credits.expired" | "balance.low" | "balance.depleted" | "balance.recovered" | "access.suspended" | "access.restored" | "subscription.updated" | "reservation.expired" | "stripe_event.failed" | "topup.succeeded" | "topup.failed" | "auto_topup.disabled" | "auto_topup.cap_reached"> | null;
  description?: string | null;
  disabled?: boolean | null;
}

export interface EndpointWithSecret {
  id: string;
  url: string;
  event_types: Array<string> | null;
  description: string | null;
  disabled: boolean;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  secret: string;
}

export interface EntryWithAccount {
  entry: LedgerEntry;
  account: Account;
}

export interface Event {
  id: string;
  type: "credits.granted" | "credits.expiring" | "credits.expired" | "balance.low" | "balance.depleted" | "balance.recovered" | "access.suspended" | "access.restored" | "subscription.updated" | "reservation.expired" | "stripe_event.failed" | "topup.succeeded" | "topup.failed" | "auto_topup.disabled" | "auto_topup.cap_reached";
  account_id: string | null;
  account_seq: number;
  created_at: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  data: Array<Event>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface Grant {
  id: string;
  kind: string;
  amount: number;
  remaining: number;
  held: number;
  expires_at: string | null;
  source: string;
  description?: string | null;
  status?: "live" | "expired" | "voided";
  created_at: string;
}

export interface GrantCreate {
  amount: number;
  kind: "bonus" | "promotional" | "compensation";
  expires_at?: string | null;
  description: string;
  metadata?: Record<string, string | number | boolean | null>;
}

export interface GrantList {
  data: Array<Grant>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface GrantPart {
  grant_id: string;
  kind?: string | null;
  amount: number;
}

export interface GrantUpdate {
  expires_at: string | null;
  reason?: string | null;
}

export interface GrantVoid {
  reason: string;
}

export interface GrantVoided {
  grant: Grant;
  entry: LedgerEntry | null;
  account: Account;
}

export interface GrantWithAccount {
  grant: Grant;
  account: Account;
}

export interface LedgerEntry {
  id: string;
  seq: number;
  type: string;
  amount: number;
  balance_after: number;
  grants: Array<GrantPart>;
  source: string;
  description: string | null;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  actor?: string | null;
  usage?: MeteredUsage | null;
  created_at: string;
}

export interface LedgerPage {
  data: Array<LedgerEntry>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface MeterRates {
  meter: string;
  name: string;
  unit: string;
  rounding: string;
  versions: Array<RateVersionView>;
}

export interface MeteredUsage {
  meter: string;
  quantity: number;
  occurred_at: string;
  plan?: string | null;
  rate_version: number;
  effective_from: string;
  unit_price: UnitPrice;
}

export interface RateCardView {
  at: string;
  data: Array<MeterRates>;
}

export interface RateVersionView {
  version: number;
  effective_from: string;
  credits: number;
  per: number;
  plans: Record<string, UnitPrice>;
  status: "current" | "scheduled";
}

export interface Reservation {
  id: string;
  account_id: string;
  amount: number;
  captured: number;
  status: "held" | "captured" | "released" | "expired";
  expires_at: string;
  description?: string | null;
  metadata?: Record<string, unknown>;
  usage?: MeteredUsage | null;
  created_at: string;
}

export type ReservationCreate = {
  amount: number;
  ttl_seconds?: number;
  description?: string | null;
  metadata?: Record<string, string | number | boolean | null>;
} | {
  meter: string;
  quantity: number;
  occurred_at?: string;
  ttl_seconds?: number;
  description?: string | null;
  metadata?: Record<string, string | number | boolean | null>;
};

export interface ReservationList {
  data: Array<Reservation>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface ScheduledRate {
  rate_version: number;
  effective_from: string;
  unit_price: UnitPrice;
}

export interface TimelineItem {
  kind: "ledger_entry" | "reservation" | "stripe_event" | "event" | "topup";
  id: string;
  at: string;
  summary: string;
  data: Record<string, unknown>;
}

export interface TimelinePage {
  data: Array<TimelineItem>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface Topup {
  id: string;
  account_id: string;
  status: "pending" | "processing" | "succeeded" | "failed" | "canceled";
  reason: string | null;
  failure_message: string | null;
  decline_code: string | null;
  pack: string | null;
  quantity: number | null;
  credits: number | null;
  amount: number | null;
  currency: string | null;
  stripe_invoice_id: string | null;
  stripe_payment_intent_id: string | null;
  attempts: number;
  trigger: TopupTrigger | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface TopupPage {
  data: Array<Topup>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface TopupTrigger {
  available_before: number;
  available_after: number;
  threshold: number;
}

export interface UnitPrice {
  credits: number;
  per: number;
}

export interface Usage {
  account_id: string;
  from: string;
  to: string;
  group_by: string;
  metadata_key: string | null;
  by_meter?: boolean;
  data: Array<UsageBucket>;
  totals: UsageTotals;
}

export interface UsageBatch {
  records: Array<Record<string, unknown>>;
}

export interface UsageBatchResult {
  results: Array<UsageResult>;
  counts: Record<string, number>;
}

export interface UsageBucket {
  start: string;
  end: string;
  credits: number;
  operations: number;
  groups?: Array<UsageGroup> | null;
}

export interface UsageGroup {
  value: string | number | boolean | null;
  credits: number;
  operations: number;
  quantity?: number | null;
}

export interface UsageResult {
  index: number;
  account_id: string | null;
  idempotency_key: string | null;
  status: number;
  replayed: boolean;
  entry?: LedgerEntry | null;
  account?: Account | null;
  problem?: Record<string, unknown> | null;
}

export interface UsageTotals {
  credits: number;
  operations: number;
  groups?: Array<UsageGroup> | null;
}

export interface VerifyProblem {
  account_id: string;
  invariant: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  accounts_checked: number;
  problems: Array<VerifyProblem>;
}

export interface WebhookAnswer {
  status: string;
}

export interface WebhookEvent {
  id: string;
  type: string;
  created: string | null;
  api_version: string | null;
  account_id: string | null;
  customer_id: string | null;
  status: string;
  error: string | null;
  note?: string | null;
  attempts: number;
  received_at: string | null;
  processed_at: string | null;
}

export interface WebhookEventPage {
  data: Array<WebhookEvent>;
  has_more: boolean;
  next_cursor: string | null;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  reason?: string;
  requested?: number;
  available?: number;
  balance?: number;
  reserved?: number;
  grace_until?: string;
  held?: number;
  reservation_id?: string;
  reservation_status?: string;
  expires_at?: string;
  held_reservations?: number;
  max_held_reservations?: number;
  max_bytes?: number;
  grant_id?: string;
  grant_status?: string;
  missing?: Array<"database" | "indexes" | "migrations">;
  errors?: Array<{
    loc?: Array<string>;
    msg?: string;
    type?: string;
  }>;
}

/** Every operation, by its operationId: what it takes and what it answers. */
export interface Operations {
  captureReservation: {
    method: "POST";
    path: "/v1/reservations/{reservation_id}/capture";
    pathParams: {
      reservation_id: string;
    };
    query: Record<string, never>;
    body: CaptureCreate | null;
    response: CaptureResult;
    status: 200;
    idempotencyKey: true;
  };
  checkAccess: {
    method: "GET";
    path: "/v1/accounts/{account_id}/access";
    pathParams: {
      account_id: string;
    };
    query: {
      cost?: number;
      meter?: string | null;
      quantity?: number;
    };
    body: undefined;
    response: AccessDecision;
    status: 200;
    idempotencyKey: false;
  };
  checkLiveness: {
    method: "GET";
    path: "/healthz";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: undefined;
    response: unknown;
    status: 200;
    idempotencyKey: false;
  };
  checkReadiness: {
    method: "GET";
    path: "/readyz";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: undefined;
    response: unknown;
    status: 200;
    idempotencyKey: false;
  };
  createAdjustment: {
    method: "POST";
    path: "/v1/accounts/{account_id}/adjustments";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: AdjustmentCreate;
    response: EntryWithAccount;
    status: 201;
    idempotencyKey: true;
  };
  createDebit: {
    method: "POST";
    path: "/v1/accounts/{account_id}/debits";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: DebitCreate;
    response: EntryWithAccount;
    status: 201;
    idempotencyKey: true;
  };
  createGrant: {
    method: "POST";
    path: "/v1/accounts/{account_id}/grants";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: GrantCreate;
    response: EntryWithAccount;
    status: 201;
    idempotencyKey: true;
  };
  createReservation: {
    method: "POST";
    path: "/v1/accounts/{account_id}/reservations";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: ReservationCreate;
    response: Reservation;
    status: 201;
    idempotencyKey: true;
  };
  createUsageBatch: {
    method: "POST";
    path: "/v1/usage";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: UsageBatch;
    response: UsageBatchResult;
    status: 200;
    idempotencyKey: false;
  };
  createWebhookEndpoint: {
    method: "POST";
    path: "/v1/webhook-endpoints";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: EndpointCreate;
    response: EndpointWithSecret;
    status: 201;
    idempotencyKey: false;
  };
  deleteWebhookEndpoint: {
    method: "DELETE";
    path: "/v1/webhook-endpoints/{endpoint_id}";
    pathParams: {
      endpoint_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: void;
    status: 204;
    idempotencyKey: false;
  };
  getAccount: {
    method: "GET";
    path: "/v1/accounts/{account_id}";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Account;
    status: 200;
    idempotencyKey: false;
  };
  getAccountRates: {
    method: "GET";
    path: "/v1/accounts/{account_id}/rates";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: AccountRates;
    status: 200;
    idempotencyKey: false;
  };
  getAlerts: {
    method: "GET";
    path: "/v1/accounts/{account_id}/alerts";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Alerts;
    status: 200;
    idempotencyKey: false;
  };
  getAutoTopup: {
    method: "GET";
    path: "/v1/accounts/{account_id}/auto-topup";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: AutoTopup;
    status: 200;
    idempotencyKey: false;
  };
  getBalanceAt: {
    method: "GET";
    path: "/v1/accounts/{account_id}/balance";
    pathParams: {
      account_id: string;
    };
    query: {
      at?: string | null;
    };
    body: undefined;
    response: BalanceAt;
    status: 200;
    idempotencyKey: false;
  };
  getMetrics: {
    method: "GET";
    path: "/metrics";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: undefined;
    response: string;
    status: 200;
    idempotencyKey: false;
  };
  getRateCard: {
    method: "GET";
    path: "/v1/rates";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: undefined;
    response: RateCardView;
    status: 200;
    idempotencyKey: false;
  };
  getReservation: {
    method: "GET";
    path: "/v1/reservations/{reservation_id}";
    pathParams: {
      reservation_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Reservation;
    status: 200;
    idempotencyKey: false;
  };
  getTimeline: {
    method: "GET";
    path: "/v1/accounts/{account_id}/timeline";
    pathParams: {
      account_id: string;
    };
    query: {
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: TimelinePage;
    status: 200;
    idempotencyKey: false;
  };
  getUsage: {
    method: "GET";
    path: "/v1/accounts/{account_id}/usage";
    pathParams: {
      account_id: string;
    };
    query: {
      from?: string | null;
      to?: string | null;
      group_by?: "day" | "week" | "month";
      metadata_key?: string | null;
      by_meter?: boolean;
    };
    body: undefined;
    response: Usage;
    status: 200;
    idempotencyKey: false;
  };
  getWebhookEndpoint: {
    method: "GET";
    path: "/v1/webhook-endpoints/{endpoint_id}";
    pathParams: {
      endpoint_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Endpoint;
    status: 200;
    idempotencyKey: false;
  };
  listAccounts: {
    method: "GET";
    path: "/v1/accounts";
    pathParams: Record<string, never>;
    query: {
      q?: string | null;
      subscription_status?: "none" | "trialing" | "active" | "past_due" | "unpaid" | "paused" | "canceled" | "incomplete" | null;
      low_balance?: boolean;
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: AccountList;
    status: 200;
    idempotencyKey: false;
  };
  listEvents: {
    method: "GET";
    path: "/v1/events";
    pathParams: Record<string, never>;
    query: {
      account_id?: string | null;
      type?: "credits.granted" | "credits.expiring" | "credits.expired" | "balance.low" | "balance.depleted" | "balance.recovered" | "access.suspended" | "access.restored" | "subscription.updated" | "reservation.expired" | "stripe_event.failed" | "topup.succeeded" | "topup.failed" | "auto_topup.disabled" | "auto_topup.cap_reached" | null;
      created_gte?: string | null;
      starting_after?: string | null;
      limit?: number;
    };
    body: undefined;
    response: EventPage;
    status: 200;
    idempotencyKey: false;
  };
  listGrants: {
    method: "GET";
    path: "/v1/accounts/{account_id}/grants";
    pathParams: {
      account_id: string;
    };
    query: {
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: GrantList;
    status: 200;
    idempotencyKey: false;
  };
  listLedgerEntries: {
    method: "GET";
    path: "/v1/accounts/{account_id}/ledger";
    pathParams: {
      account_id: string;
    };
    query: {
      limit?: number;
      starting_after?: string | null;
      type?: "grant" | "debit" | "capture" | "expiry" | "clawback" | "adjustment" | null;
      created_gte?: string | null;
      created_lt?: string | null;
    };
    body: undefined;
    response: LedgerPage;
    status: 200;
    idempotencyKey: false;
  };
  listReservations: {
    method: "GET";
    path: "/v1/accounts/{account_id}/reservations";
    pathParams: {
      account_id: string;
    };
    query: {
      status?: "held" | "captured" | "released" | "expired" | null;
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: ReservationList;
    status: 200;
    idempotencyKey: false;
  };
  listStripeEvents: {
    method: "GET";
    path: "/v1/webhook-events";
    pathParams: Record<string, never>;
    query: {
      status?: "received" | "processed" | "duplicate" | "ignored" | "parked" | "failed" | null;
      type?: string | null;
      limit?: number;
      starting_after?: string | null;
      account_id?: string | null;
    };
    body: undefined;
    response: WebhookEventPage;
    status: 200;
    idempotencyKey: false;
  };
  listTopups: {
    method: "GET";
    path: "/v1/accounts/{account_id}/topups";
    pathParams: {
      account_id: string;
    };
    query: {
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: TopupPage;
    status: 200;
    idempotencyKey: false;
  };
  listWebhookDeliveries: {
    method: "GET";
    path: "/v1/webhook-endpoints/{endpoint_id}/deliveries";
    pathParams: {
      endpoint_id: string;
    };
    query: {
      status?: "pending" | "succeeded" | "failed" | null;
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: DeliveryPage;
    status: 200;
    idempotencyKey: false;
  };
  listWebhookEndpoints: {
    method: "GET";
    path: "/v1/webhook-endpoints";
    pathParams: Record<string, never>;
    query: {
      limit?: number;
      starting_after?: string | null;
    };
    body: undefined;
    response: EndpointList;
    status: 200;
    idempotencyKey: false;
  };
  receiveStripeEvent: {
    method: "POST";
    path: "/webhooks/stripe";
    pathParams: Record<string, never>;
    query: Record<string, never>;
    body: {
      id: string;
    };
    response: WebhookAnswer;
    status: 200;
    idempotencyKey: false;
  };
  releaseReservation: {
    method: "POST";
    path: "/v1/reservations/{reservation_id}/release";
    pathParams: {
      reservation_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Reservation;
    status: 200;
    idempotencyKey: true;
  };
  replayStripeEvent: {
    method: "POST";
    path: "/v1/webhook-events/{event_id}/replay";
    pathParams: {
      event_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: WebhookEvent;
    status: 200;
    idempotencyKey: false;
  };
  retryWebhookDelivery: {
    method: "POST";
    path: "/v1/webhook-deliveries/{delivery_id}/retry";
    pathParams: {
      delivery_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: Delivery;
    status: 200;
    idempotencyKey: false;
  };
  rotateWebhookEndpointSecret: {
    method: "POST";
    path: "/v1/webhook-endpoints/{endpoint_id}/rotate-secret";
    pathParams: {
      endpoint_id: string;
    };
    query: Record<string, never>;
    body: undefined;
    response: EndpointWithSecret;
    status: 200;
    idempotencyKey: false;
  };
  setAlerts: {
    method: "PUT";
    path: "/v1/accounts/{account_id}/alerts";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: AlertsUpdate;
    response: Alerts;
    status: 200;
    idempotencyKey: false;
  };
  setAutoTopup: {
    method: "PUT";
    path: "/v1/accounts/{account_id}/auto-topup";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: AutoTopupUpdate;
    response: AutoTopup;
    status: 200;
    idempotencyKey: false;
  };
  updateAccount: {
    method: "PATCH";
    path: "/v1/accounts/{account_id}";
    pathParams: {
      account_id: string;
    };
    query: Record<string, never>;
    body: AccountUpdate;
    response: Account;
    status: 200;
    idempotencyKey: true;
  };
  updateGrant: {
    method: "PATCH";
    path: "/v1/grants/{grant_id}";
    pathParams: {
      grant_id: string;
    };
    query: Record<string, never>;
    body: GrantUpdate;
    response: GrantWithAccount;
    status: 200;
    idempotencyKey: true;
  };
  updateWebhookEndpoint: {
    method: "PATCH";
    path: "/v1/webhook-endpoints/{endpoint_id}";
    pathParams: {
      endpoint_id: string;
    };
    query: Record<string, never>;
    body: EndpointUpdate;
    response: Endpoint;
    status: 200;
    idempotencyKey: false;
  };
  verifyLedger: {
    method: "GET";
    path: "/v1/admin/verify";
    pathParams: Record<string, never>;
    query: {
      account_id?: string | null;
    };
    body: undefined;
    response: VerifyReport;
    status: 200;
    idempotencyKey: false;
  };
  voidGrant: {
    method: "POST";
    path: "/v1/grants/{grant_id}/void";
    pathParams: {
      grant_id: string;
    };
    query: Record<string, never>;
    body: GrantVoid;
    response: GrantVoided;
    status: 200;
    idempotencyKey: true;
  };
}

export type OperationId = keyof Operations;

/** Method, path and whether it takes an Idempotency-Key, by operationId. */
export const operations = {
  captureReservation: { method: "POST", path: "/v1/reservations/{reservation_id}/capture", idempotencyKey: true },
  checkAccess: { method: "GET", path: "/v1/accounts/{account_id}/access", idempotencyKey: false },
  checkLiveness: { method: "GET", path: "/healthz", idempotencyKey: false },
  checkReadiness: { method: "GET", path: "/readyz", idempotencyKey: false },
  createAdjustment: { method: "POST", path: "/v1/accounts/{account_id}/adjustments", idempotencyKey: true },
  createDebit: { method: "POST", path: "/v1/accounts/{account_id}/debits", idempotencyKey: true },
  createGrant: { method: "POST", path: "/v1/accounts/{account_id}/grants", idempotencyKey: true },
  createReservation: { method: "POST", path: "/v1/accounts/{account_id}/reservations", idempotencyKey: true },
  createUsageBatch: { method: "POST", path: "/v1/usage", idempotencyKey: false },
  createWebhookEndpoint: { method: "POST", path: "/v1/webhook-endpoints", idempotencyKey: false },
  deleteWebhookEndpoint: { method: "DELETE", path: "/v1/webhook-endpoints/{endpoint_id}", idempotencyKey: false },
  getAccount: { method: "GET", path: "/v1/accounts/{account_id}", idempotencyKey: false },
  getAccountRates: { method: "GET", path: "/v1/accounts/{account_id}/rates", idempotencyKey: false },
  getAlerts: { method: "GET", path: "/v1/accounts/{account_id}/alerts", idempotencyKey: false },
  getAutoTopup: { method: "GET", path: "/v1/accounts/{account_id}/auto-topup", idempotencyKey: false },
  getBalanceAt: { method: "GET", path: "/v1/accounts/{account_id}/balance", idempotencyKey: false },
  getMetrics: { method: "GET", path: "/metrics", idempotencyKey: false },
  getRateCard: { method: "GET", path: "/v1/rates", idempotencyKey: false },
  getReservation: { method: "GET", path: "/v1/reservations/{reservation_id}", idempotencyKey: false },
  getTimeline: { method: "GET", path: "/v1/accounts/{account_id}/timeline", idempotencyKey: false },
  getUsage: { method: "GET", path: "/v1/accounts/{account_id}/usage", idempotencyKey: false },
  getWebhookEndpoint: { method: "GET", path: "/v1/webhook-endpoints/{endpoint_id}", idempotencyKey: false },
  listAccounts: { method: "GET", path: "/v1/accounts", idempotencyKey: false },
  listEvents: { method: "GET", path: "/v1/events", idempotencyKey: false },
  listGrants: { method: "GET", path: "/v1/accounts/{account_id}/grants", idempotencyKey: false },
  listLedgerEntries: { method: "GET", path: "/v1/accounts/{account_id}/ledger", idempotencyKey: false },
  listReservations: { method: "GET", path: "/v1/accounts/{account_id}/reservations", idempotencyKey: false },
  listStripeEvents: { method: "GET", path: "/v1/webhook-events", idempotencyKey: false },
  listTopups: { method: "GET", path: "/v1/accounts/{account_id}/topups", idempotencyKey: false },
  listWebhookDeliveries: { method: "GET", path: "/v1/webhook-endpoints/{endpoint_id}/deliveries", idempotencyKey: false },
  listWebhookEndpoints: { method: "GET", path: "/v1/webhook-endpoints", idempotencyKey: false },
  receiveStripeEvent: { method: "POST", path: "/webhooks/stripe", idempotencyKey: false },
  releaseReservation: { method: "POST", path: "/v1/reservations/{reservation_id}/release", idempotencyKey: true },
  replayStripeEvent: { method: "POST", path: "/v1/webhook-events/{event_id}/replay", idempotencyKey: false },
  retryWebhookDelivery: { method: "POST", path: "/v1/webhook-deliveries/{delivery_id}/retry", idempotencyKey: false },
  rotateWebhookEndpointSecret: { method: "POST", path: "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", idempotencyKey: false },
  setAlerts: { method: "PUT", path: "/v1/accounts/{account_id}/alerts", idempotencyKey: false },
  setAutoTopup: { method: "PUT", path: "/v1/accounts/{account_id}/auto-topup", idempotencyKey: false },
  updateAccount: { method: "PATCH", path: "/v1/accounts/{account_id}", idempotencyKey: true },
  updateGrant: { method: "PATCH", path: "/v1/grants/{grant_id}", idempotencyKey: true },
  updateWebhookEndpoint: { method: "PATCH", path: "/v1/webhook-endpoints/{endpoint_id}", idempotencyKey: false },
  verifyLedger: { method: "GET", path: "/v1/admin/verify", idempotencyKey: false },
  voidGrant: { method: "POST", path: "/v1/grants/{grant_id}/void", idempotencyKey: true },
} as const;
