// The load generator of bench/load/jobs.sh, the same program for both sides. Prints one JSON line.
//
//   node enqueue.js throughput <upswing|graphile> <connectionString> <jobs> <batch>
//     Inserts <jobs> no-op jobs in batches of <batch>, one batch after the other on one connection, then polls every
//     50 ms until none is left unfinished (a cheap EXISTS probe); seconds run from the first insert to the poll that saw the queue empty.
//     upswing: one transaction per batch, INSERT … SELECT … FROM generate_series (the row JobStore writes) and
//     pg_notify('upswing_jobs', 'default'); unfinished = state available, retryable or running.
//     graphile: WorkerUtils.addJobs (one call of graphile_worker.add_jobs per batch, which notifies jobs:insert);
//     unfinished = rows left in graphile_worker._private_jobs (it deletes a job when it succeeds).
//
//   node enqueue.js latency <upswing|graphile> <connectionString> <rate> <seconds>
//     Enqueues single jobs at a steady rate (each its own transaction; up to 32 in flight, so a slow commit does not
//     shift the schedule). upswing: INSERT … RETURNING id + pg_notify in one transaction; the ids are printed and
//     the script reads attempted_at - created_at from the table. graphile: WorkerUtils.addJob('noop',
//     {enqueuedAt: Date.now()}); the task writes Date.now() - enqueuedAt to a file.
"use strict";
const { Pool } = require("pg");
const { makeWorkerUtils } = require("graphile-worker");

const [command, side, connectionString, a, b] = process.argv.slice(2);
if (!["throughput", "latency"].includes(command) || !["upswing", "graphile"].includes(side) || !connectionString) {
  console.error("usage: node enqueue.js throughput|latency upswing|graphile <connectionString> <jobs|rate> <batch|seconds>");
  process.exit(2);
}

const UPSWING_BATCH =
  "INSERT INTO jobs (workspace_id, kind, queue, args, priority, state, attempt, max_attempts, run_at, created_at) " +
  "SELECT NULL, 'upswing.noop', 'default', '{}', 1, 'available', 0, 25, now(), now() FROM generate_series(1, $1)";
const UPSWING_ONE =
  "INSERT INTO jobs (workspace_id, kind, queue, args, priority, state, attempt, max_attempts, run_at, created_at) " +
  "VALUES (NULL, 'upswing.noop', 'default', '{}', 1, 'available', 0, 25, now(), now()) RETURNING id";
// Each EXISTS matches one of the table's partial indexes (ix_jobs_claim, ix_jobs_lease), so the probe stays cheap
// however many succeeded rows the table keeps (a count over the three states scanned the table: 17 ms a poll).
const UPSWING_LEFT =
  "SELECT (EXISTS (SELECT 1 FROM jobs WHERE state IN ('available', 'retryable')) OR EXISTS (SELECT 1 FROM jobs WHERE state = 'running'))::int AS n";
const GRAPHILE_LEFT = "SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs)::int AS n";

const IN_FLIGHT = 32;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function upswingTransaction(client, sql, params) {
  await client.query("BEGIN");
  try {
    const result = await client.query(sql, params);
    await client.query("SELECT pg_notify('upswing_jobs', 'default')");
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

async function throughput(jobs, batch) {
  const pool = new Pool({ connectionString, max: 2 });
  pool.on("error", (error) => console.error(error));
  const utils = side === "graphile" ? await makeWorkerUtils({ pgPool: pool }) : null;
  const client = await pool.connect();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < jobs; done += batch) {
    const n = Math.min(batch, jobs - done);
    if (side === "upswing") {
      await upswingTransaction(client, UPSWING_BATCH, [n]);
    } else {
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: "noop", payload: {} })));
    }
  }
  const inserted = performance.now();
  const left = side === "upswing" ? UPSWING_LEFT : GRAPHILE_LEFT;
  for (;;) {
    const { rows } = await client.query(left);
    if (rows[0].n === 0) break;
    await sleep(50);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  client.release();
  if (utils) await utils.release();
  await pool.end();
  console.log(JSON.stringify({
    jobs, batch, seconds, jobsPerSecond: Math.round(jobs / seconds), insertSeconds: (inserted - t0) / 1000,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
  }));
}

async function latency(rate, seconds) {
  const pool = new Pool({ connectionString, max: IN_FLIGHT });
  pool.on("error", (error) => console.error(error));
  const utils = side === "graphile" ? await makeWorkerUtils({ pgPool: pool }) : null;
  const total = Math.round(rate * seconds);
  const ids = [];
  const inFlight = new Set();
  let late = 0;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -50) late++;
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    const p = (async () => {
      if (side === "upswing") {
        const client = await pool.connect();
        try {
          const { rows } = await upswingTransaction(client, UPSWING_ONE, []);
          ids.push(Number(rows[0].id));
        } finally {
          client.release();
        }
      } else {
        await utils.addJob("noop", { enqueuedAt: Date.now() });
      }
    })();
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  const took = (performance.now() - t0) / 1000;
  if (utils) await utils.release();
  await pool.end();
  console.log(JSON.stringify({ jobs: total, rate, seconds: took, actualRate: Math.round(total / took), lateBy50ms: late, ids }));
}

(command === "throughput" ? throughput(Number(a), Number(b)) : latency(Number(a), Number(b))).catch((error) => {
  console.error(error);
  process.exit(1);
});
