/**
 * Credit Ledger's TypeScript client: a small fetch wrapper over the types generated from the
 * service's OpenAPI document (./schema.ts). The same rules as the Python client: one
 * Idempotency-Key per logical write, reused by its retries; retries with backoff on network
 * errors and 500/502/503/504, never on 4xx; problem+json answers thrown as CreditLedgerError;
 * no answer at all thrown as ConnectionFailed. No runtime dependency: fetch and
 * crypto.randomUUID, in browsers (with a user token) and in Node 20+.
 */

import { operations, type OperationId, type Operations } from "./schema.js";
import type {
  AccessDecision,
  Account,
  CaptureResult,
  EntryWithAccount,
  Event,
  Grant,
  LedgerEntry,
  Problem,
  Reservation,
} from "./schema.js";

export * from "./schema.js";

const RETRIED_STATUSES = new Set([500, 502, 503, 504]);
/** A hold's capture and release keys are its own key with these ends. */
export const CAPTURE_END = ":capture";
export const RELEASE_END = ":release";
const MAX_KEY = 255;

/** An error answer of the service (application/problem+json). */
export class CreditLedgerError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly problem: Partial<Problem> & Record<string, unknown>;

  constructor(status: number, problem: Partial<Problem> & Record<string, unknown>) {
    const code = String(problem.code ?? `http_${status}`);
    const detail = String(problem.detail ?? problem.title ?? `HTTP ${status}`);
    super(`${status} ${code}: ${detail}`);
    this.name = "CreditLedgerError";
    this.status = status;
    this.code = code;
    this.title = String(problem.title ?? "");
    this.detail = detail;
    this.problem = problem;
  }
}

/** No answer at all until the retries ran out: the service is down, or the base URL is wrong. */
export class ConnectionFailed extends Error {
  readonly url: string;
  readonly attempts: number;

  constructor(url: string, attempts: number, cause: unknown) {
    super(`could not reach ${url} (${attempts} attempts): ${String(cause)}`, { cause });
    this.name = "ConnectionFailed";
    this.url = url;
    this.attempts = attempts;
  }
}

export type Token = string | (() => string | Promise<string>);

export interface Options {
  /** The service's URL; default CREDIT_LEDGER_URL in Node, the page's origin in a browser. */
  baseUrl?: string;
  /** A service API key, or a user's token (a function is asked before each request). */
  token?: Token;
  maxRetries?: number;
  /** Seconds before the first retry; doubles each time (at most 5 s), with jitter. */
  backoff?: number;
  fetch?: typeof fetch;
  sleep?: (seconds: number) => Promise<void>;
  random?: () => number;
}

type Params<K extends OperationId> = {
  path?: Operations[K]["pathParams"];
  query?: Partial<Operations[K]["query"]>;
  body?: Operations[K]["body"];
  /** Write operations: yours, or one made for this call (and kept by its retries). */
  idempotencyKey?: string;
};

export interface Answer<T> {
  data: T;
  status: number;
  /** The service answered a retry with the first answer (Idempotent-Replayed). */
  replayed: boolean;
  requestId: string | null;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface WriteOptions {
  idempotencyKey?: string;
}

export interface HoldOptions {
  /** The job's own id: a redelivered job then replays the hold and its capture. */
  idempotencyKey?: string;
  ttlSeconds?: number;
  description?: string;
  metadata?: Record<string, string | number | boolean | null>;
  /** What a block that neither captures nor releases does at its end: release by default. */
  onExit?: "release" | "capture";
}

export function newIdempotencyKey(): string {
  return `clc-${crypto.randomUUID().replaceAll("-", "")}`;
}

function environment(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } })
    .process;
  return process?.env?.[name] || undefined;
}

function defaultSleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

export class CreditLedger {
  readonly baseUrl: string;
  private readonly token: Token | undefined;
  private readonly maxRetries: number;
  private readonly backoff: number;
  private readonly fetch: typeof fetch;
  private readonly sleep: (seconds: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: Options = {}) {
    this.baseUrl = (options.baseUrl ?? environment("CREDIT_LEDGER_URL") ?? "").replace(/\/$/, "");
    this.token = options.token ?? environment("CREDIT_LEDGER_API_KEY");
    this.maxRetries = options.maxRetries ?? 3;
    this.backoff = options.backoff ?? 0.25;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Any operation, by its operationId; the answer's body. */
  async request<K extends OperationId>(
    operationId: K,
    params: Params<K> = {},
  ): Promise<Operations[K]["response"]> {
    return (await this.send(operationId, params)).data;
  }

  /** Any operation, by its operationId; the answer's body, status, replay flag and request id. */
  async send<K extends OperationId>(
    operationId: K,
    params: Params<K> = {},
  ): Promise<Answer<Operations[K]["response"]>> {
    const operation = operations[operationId];
    const url = this.url(operation.path, params.path ?? {}, params.query ?? {});
    const key = operation.idempotencyKey ? (params.idempotencyKey ?? newIdempotencyKey()) : null;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.maxRetries;
      let response: Response;
      try {
        response = await this.fetch(url, {
          method: operation.method,
          headers: await this.headers(key, params.body !== undefined),
          body: params.body === undefined ? undefined : JSON.stringify(params.body),
        });
      } catch (error) {
        if (last) throw new ConnectionFailed(url, attempt + 1, error);
        await this.sleep(this.delay(attempt));
        continue;
      }
      if (response.ok) {
        const text = await response.text();
        return {
          data: (text && response.headers.get("content-type")?.includes("json")
            ? JSON.parse(text)
            : text || undefined) as Operations[K]["response"],
          status: response.status,
          replayed: response.headers.get("Idempotent-Replayed") === "true",
          requestId: response.headers.get("X-Request-Id"),
        };
      }
      if (!RETRIED_STATUSES.has(response.status) || last) {
        throw new CreditLedgerError(response.status, await problemOf(response));
      }
      await response.body?.cancel();
      await this.sleep(this.delay(attempt));
    }
  }

  private url(path: string, pathParams: object, query: object): string {
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String((pathParams as Record<string, unknown>)[name])),
    );
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) search.append(name, String(value));
    }
    const tail = search.size ? `?${search}` : "";
    return `${this.baseUrl}${filled}${tail}`;
  }

  private async headers(key: string | null, json: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = typeof this.token === "function" ? await this.token() : this.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (key) headers["Idempotency-Key"] = key;
    if (json) headers["Content-Type"] = "application/json";
    return headers;
  }

  private delay(attempt: number): number {
    const base = Math.min(5, this.backoff * 2 ** attempt);
    return base * (0.5 + this.random() / 2);
  }

  private async *every<T>(page: (cursor?: string) => Promise<Page<T>>): AsyncGenerator<T> {
    let cursor: string | undefined;
    for (;;) {
      const found = await page(cursor);
      yield* found.data;
      if (!found.has_more || !found.next_cursor) return;
      cursor = found.next_cursor;
    }
  }

  // Reads

  getAccount(accountId: string): Promise<Account> {
    return this.request("getAccount", { path: { account_id: accountId } });
  }

  checkAccess(accountId: string, cost = 1): Promise<AccessDecision> {
    return this.request("checkAccess", { path: { account_id: accountId }, query: { cost } });
  }

  getReservation(reservationId: string): Promise<Reservation> {
    return this.request("getReservation", { path: { reservation_id: reservationId } });
  }

  listLedgerEntries(accountId: string, query: Params<"listLedgerEntries">["query"] = {}) {
    return this.request("listLedgerEntries", { path: { account_id: accountId }, query });
  }

  /** Every entry of the account's ledger, newest first, fetched a page at a time. */
  iterLedgerEntries(
    accountId: string,
    query: Omit<NonNullable<Params<"listLedgerEntries">["query"]>, "starting_after"> = {},
  ): AsyncGenerator<LedgerEntry> {
    return this.every((cursor) =>
      this.listLedgerEntries(accountId, { limit: 100, ...query, starting_after: cursor }),
    );
  }

  /** Every grant of the account, a page at a time. */
  iterGrants(accountId: string): AsyncGenerator<Grant> {
    return this.every((cursor) =>
      this.request("listGrants", {
        path: { account_id: accountId },
        query: { limit: 100, starting_after: cursor },
      }),
    );
  }

  /** Every event (one account's, or all a service key may read), oldest first. */
  iterEvents(accountId?: string): AsyncGenerator<Event> {
    return this.every((cursor) =>
      this.request("listEvents", {
        query: { account_id: accountId, limit: 100, starting_after: cursor },
      }),
    );
  }

  // Writes: each makes one Idempotency-Key (or takes yours) and retries with it.

  createDebit(
    accountId: string,
    body: Operations["createDebit"]["body"],
    options: WriteOptions = {},
  ): Promise<EntryWithAccount> {
    return this.request("createDebit", { path: { account_id: accountId }, body, ...options });
  }

  createGrant(
    accountId: string,
    body: Operations["createGrant"]["body"],
    options: WriteOptions = {},
  ): Promise<EntryWithAccount> {
    return this.request("createGrant", { path: { account_id: accountId }, body, ...options });
  }

  createAdjustment(
    accountId: string,
    body: Operations["createAdjustment"]["body"],
    options: WriteOptions = {},
  ): Promise<EntryWithAccount> {
    return this.request("createAdjustment", {
      path: { account_id: accountId },
      body,
      ...options,
    });
  }

  createReservation(
    accountId: string,
    body: Operations["createReservation"]["body"],
    options: WriteOptions = {},
  ): Promise<Reservation> {
    return this.request("createReservation", {
      path: { account_id: accountId },
      body,
      ...options,
    });
  }

  captureReservation(
    reservationId: string,
    amount?: number,
    options: WriteOptions = {},
  ): Promise<CaptureResult> {
    return this.request("captureReservation", {
      path: { reservation_id: reservationId },
      body: amount === undefined ? {} : { amount },
      ...options,
    });
  }

  releaseReservation(reservationId: string, options: WriteOptions = {}): Promise<Reservation> {
    return this.request("releaseReservation", {
      path: { reservation_id: reservationId },
      ...options,
    });
  }

  /**
   * Holds `credits` while `work` runs. `work` throws: the hold is released. `work` returns
   * without capturing or releasing: released (or captured in full with onExit: "capture").
   * Give the job's id as idempotencyKey: a redelivered job replays instead of charging twice.
   */
  async hold<T>(
    accountId: string,
    credits: number,
    options: HoldOptions,
    work: (hold: Hold) => Promise<T>,
  ): Promise<T> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    if (key.length < 1 || key.length > MAX_KEY - RELEASE_END.length) {
      throw new RangeError(`a hold's idempotency key is 1-${MAX_KEY - RELEASE_END.length} chars`);
    }
    const reservation = await this.createReservation(
      accountId,
      {
        amount: credits,
        ttl_seconds: options.ttlSeconds,
        description: options.description,
        metadata: options.metadata,
      },
      { idempotencyKey: key },
    );
    const hold = new Hold(this, reservation, key);
    let result: T;
    try {
      result = await work(hold);
    } catch (error) {
      if (!hold.settled) await hold.release().catch(() => undefined); // the TTL frees it anyway
      throw error;
    }
    if (!hold.settled) {
      await (options.onExit === "capture" ? hold.capture() : hold.release());
    }
    return result;
  }
}

/** Credits held for a job: capture what it cost, or release them. */
export class Hold {
  reservation: Reservation;
  result: CaptureResult | null = null;
  settled = false;

  constructor(
    private readonly ledger: CreditLedger,
    reservation: Reservation,
    readonly idempotencyKey: string,
  ) {
    this.reservation = reservation;
  }

  get id(): string {
    return this.reservation.id;
  }

  /** Spend `amount` (default: all of it); the rest goes back at once. */
  async capture(amount?: number): Promise<CaptureResult> {
    this.result = await this.ledger.captureReservation(this.id, amount, {
      idempotencyKey: this.idempotencyKey + CAPTURE_END,
    });
    this.reservation = this.result.reservation;
    this.settled = true;
    return this.result;
  }

  async release(): Promise<Reservation> {
    this.reservation = await this.ledger.releaseReservation(this.id, {
      idempotencyKey: this.idempotencyKey + RELEASE_END,
    });
    this.settled = true;
    return this.reservation;
  }
}

async function problemOf(response: Response): Promise<Partial<Problem> & Record<string, unknown>> {
  try {
    const body: unknown = await response.json();
    return body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
