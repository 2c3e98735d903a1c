// graphile-worker's runner for bench/load/jobs.sh: one task, "noop", that returns at once.
// Usage: node worker.js <connectionString> <concurrency> [default|batched] [latencyFile]
// batched: the batching the graphile-worker docs describe for high throughput (a local queue that fetches many jobs
// per query, and completions written in batches): localQueue.size = concurrency + 1, completeJobBatchDelay = 0.
// A job whose payload has enqueuedAt (Date.now() in the enqueuing process just before add_job) appends
// Date.now() - enqueuedAt, in milliseconds, to latencyFile: the time from just before the insert to the task's start.
"use strict";
const fs = require("node:fs");
const { run } = require("graphile-worker");

const [connectionString, concurrencyArg, mode = "default", latencyFile] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!connectionString || !(concurrency > 0) || !["default", "batched"].includes(mode)) {
  console.error("usage: node worker.js <connectionString> <concurrency> [default|batched] [latencyFile]");
  process.exit(2);
}

const logger = new (require("graphile-worker").Logger)(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile-worker ${level}] ${message}`);
});

async function main() {
  const options = {
    connectionString,
    concurrency,
    maxPoolSize: Math.max(10, concurrency + 2), // the docs' advice: 10 or concurrency + 2, whichever is larger
    logger,
    taskList: {
      noop: async (payload) => {
        if (latencyFile && payload && typeof payload.enqueuedAt === "number") {
          fs.appendFileSync(latencyFile, `${Date.now() - payload.enqueuedAt}\n`);
        }
      },
    },
  };
  if (mode === "batched") {
    options.preset = { worker: { localQueue: { size: concurrency + 1 }, completeJobBatchDelay: 0 } };
  }
  const runner = await run(options);
  console.log("ready");
  await runner.promise;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
