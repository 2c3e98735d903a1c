// Evaluates features with the official GrowthBook SDK against a running Upswing server.
// Usage: node evaluate.mjs <apiHost> <clientKey>  (stdin: [{"attributes": {...}, "features": ["key", ...]}, ...])
// Prints: [{"key": {"value": ..., "source": "...", "ruleId": "...", "variation": "<meta key when in an experiment>"}, ...}, ...]
import { GrowthBook } from "@growthbook/growthbook";

const [apiHost, clientKey] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);

const gb = new GrowthBook({ apiHost, clientKey });
const init = await gb.init({ timeout: 5000 });
if (!init.success) {
  console.error(`init failed: ${JSON.stringify(init)}`);
  process.exit(2);
}

const results = [];
for (const c of cases) {
  await gb.setAttributes(c.attributes);
  const row = {};
  for (const key of c.features) {
    const r = gb.evalFeature(key);
    row[key] = { value: r.value, source: r.source, ruleId: r.ruleId, variation: r.experimentResult?.inExperiment ? r.experimentResult.key : null };
  }
  results.push(row);
}
console.log(JSON.stringify(results));
gb.destroy();
