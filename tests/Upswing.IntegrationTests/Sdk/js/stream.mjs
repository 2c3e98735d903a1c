// Streams one feature with the official GrowthBook SDK (streaming over Upswing's /sub endpoint) and prints
// every value it sees, one JSON line each: first the value after init, then each value pushed by the server.
// Usage: node stream.mjs <apiHost> <clientKey> <featureKey> <count>   (exits after <count> values)
import { GrowthBook, setPolyfills } from "@growthbook/growthbook";
import EventSource from "eventsource";

setPolyfills({ EventSource });
const [apiHost, clientKey, featureKey, count] = process.argv.slice(2);
let seen = 0;
let last;
const gb = new GrowthBook({ apiHost, clientKey });
const report = () => {
  const value = gb.getFeatureValue(featureKey, null);
  const text = JSON.stringify(value);
  if (text === last) return;
  last = text;
  console.log(text);
  if (++seen >= Number(count)) {
    gb.destroy();
    process.exit(0);
  }
};
gb.setRenderer(report);
const init = await gb.init({ timeout: 5000, streaming: true });
if (!init.success) {
  console.error(`init failed: ${JSON.stringify(init)}`);
  process.exit(2);
}
report();
