// Verifies one webhook delivery with the standardwebhooks library.
// Usage: node verify.mjs <secret> <file with the JSON {"headers": {...}, "body": "..."}>
// Exits 0 and prints the verified payload's id, or exits 1 with the reason.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const [secret, file] = process.argv.slice(2);
const { headers, body } = JSON.parse(readFileSync(file, "utf8"));
try {
  const payload = new Webhook(secret).verify(body, headers);
  console.log(payload.id);
} catch (err) {
  console.error(`not verified: ${err.message}`);
  process.exit(1);
}
