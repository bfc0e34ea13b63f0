// The TypeScript client against a running service (tests/test_typescript_client.py starts
// one and passes its URL and keys): debits, holds and captures, replays, retries, errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const built = process.env.CREDIT_LEDGER_CLIENT ?? new URL("../dist/client.js", import.meta.url);
const { CreditLedger, CreditLedgerError, ConnectionFailed } = await import(
  typeof built === "string" ? pathToFileURL(built).href : built.href
);

const URL_ = process.env.CREDIT_LEDGER_URL;
const noSleep = async () => {};
const worker = new CreditLedger({ sleep: noSleep }); // CREDIT_LEDGER_URL, CREDIT_LEDGER_API_KEY
const admin = new CreditLedger({ token: process.env.CREDIT_LEDGER_ADMIN_KEY, sleep: noSleep });

async function account(id, credits) {
  await admin.createGrant(id, { amount: credits, kind: "bonus", description: "welcome" });
  return id;
}

async function captures(id) {
  let count = 0;
  for await (const _ of admin.iterLedgerEntries(id, { type: "capture" })) count++;
  return count;
}

test("debits, holds and captures against the service", async () => {
  const id = await account("ts_story", 100);

  const debit = await worker.createDebit(id, { amount: 3, description: "image" });
  const captured = await worker.hold(id, 20, { description: "video 8s" }, async (hold) => {
    assert.equal((await worker.getAccount(id)).reserved, 20);
    return hold.capture(12);
  });

  assert.equal(debit.entry.type, "debit");
  assert.equal(debit.account.balance, 97);
  assert.equal(captured.reservation.status, "captured");
  assert.equal(captured.reservation.captured, 12);
  const after = await worker.getAccount(id);
  assert.deepEqual([after.balance, after.reserved, after.available], [85, 0, 85]);
});

test("a job redelivered with the same key holds once and captures once", async () => {
  const id = await account("ts_redelivered", 100);
  const job = (jobId) =>
    worker.hold(id, 20, { idempotencyKey: jobId }, (hold) => hold.capture(12));

  await job("job-7f3a");
  await job("job-7f3a");

  assert.equal(await captures(id), 1);
  assert.equal((await worker.getAccount(id)).balance, 88);
});

test("a hold is released when its work throws or forgets to capture", async () => {
  const id = await account("ts_released", 50);

  await assert.rejects(
    worker.hold(id, 20, {}, async () => {
      throw new Error("render failed");
    }),
    /render failed/,
  );
  const forgotten = await worker.hold(id, 20, {}, async (hold) => hold);
  const kept = await worker.hold(id, 10, { onExit: "capture" }, async (hold) => hold);

  assert.equal(forgotten.reservation.status, "released");
  assert.equal(kept.reservation.captured, 10);
  const after = await worker.getAccount(id);
  assert.deepEqual([after.balance, after.reserved], [40, 0]);
});

test("a lost answer is retried with the same key and replayed, never spent twice", async () => {
  const id = await account("ts_retried", 10);
  const keys = [];
  let lose = 1;
  const flaky = new CreditLedger({
    sleep: noSleep,
    fetch: async (url, init) => {
      keys.push(init.headers["Idempotency-Key"]);
      const answer = await fetch(url, init); // the service commits it...
      if (lose-- > 0) return new Response("{}", { status: 503 }); // ...the answer is lost
      return answer;
    },
  });

  const answer = await flaky.send("createDebit", { path: { account_id: id }, body: { amount: 4 } });

  assert.equal(answer.replayed, true);
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1]);
  assert.equal((await worker.getAccount(id)).balance, 6);
});

test("an error answer is a CreditLedgerError with the problem's fields", async () => {
  const id = await account("ts_poor", 2);

  const error = await worker.createDebit(id, { amount: 3 }).catch((e) => e);

  assert.ok(error instanceof CreditLedgerError);
  assert.equal(error.status, 402);
  assert.equal(error.code, "insufficient_credits");
  assert.equal(error.problem.status, 402);
});

test("a wrong base URL is a ConnectionFailed, not an error answer", async () => {
  const slept = [];
  const nowhere = new CreditLedger({
    baseUrl: "http://127.0.0.1:9",
    token: "ck_test",
    sleep: async (s) => void slept.push(s),
  });

  const error = await nowhere.getAccount("ts_x").catch((e) => e);

  assert.ok(error instanceof ConnectionFailed);
  assert.ok(!(error instanceof CreditLedgerError));
  assert.equal(error.attempts, 4);
  assert.equal(slept.length, 3);
  assert.ok(error.message.includes("http://127.0.0.1:9/v1/accounts/ts_x"));
});

test("a browser's user token reads its own account and cannot spend", async () => {
  const id = await account(process.env.CREDIT_LEDGER_USER_ACCOUNT, 30);
  const user = new CreditLedger({
    baseUrl: URL_,
    token: async () => process.env.CREDIT_LEDGER_USER_TOKEN, // as a frontend refreshes it
  });

  assert.equal((await user.getAccount(id)).balance, 30);
  const refused = await user.createDebit(id, { amount: 1 }).catch((e) => e);
  assert.equal(refused.status, 403);
});

test("iterLedgerEntries walks every page, newest first", async () => {
  const id = await account("ts_pages", 100);
  for (let n = 1; n <= 5; n++) await worker.createDebit(id, { amount: n });

  const seqs = [];
  for await (const entry of worker.iterLedgerEntries(id, { limit: 2 })) seqs.push(entry.seq);

  assert.deepEqual(seqs, [6, 5, 4, 3, 2, 1]);
});
