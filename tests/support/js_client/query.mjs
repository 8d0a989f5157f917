// The official ClickHouse JS client (@clickhouse/client, package-lock.json) against one
// endpoint: tests/test_endpoint_js_client.py writes a JSON plan to stdin, this prints one JSON
// object with each call's outcome, as the client returned it:
//   {"url", "username", "password", "database"?, "compression"?: {"request", "response"},
//    "calls": [{"name", "query", "kind"?: "exec", "format"?, "query_params"?}]}
//   → {"<name>": {"ok": true, "result" | "text": …} | {"ok": false, "code", "type", "message"}}
// query(): `format` absent = the client's default (JSON: {meta, data, rows, …}); `result` is
// what ResultSet.json() returns. exec(): `text` is the response body. Nothing is decoded or compared here: the test does that.
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const client = createClient({
  url: plan.url,
  username: plan.username,
  password: plan.password,
  ...(plan.database ? { database: plan.database } : {}),
  ...(plan.compression ? { compression: plan.compression } : {}),
  request_timeout: 30_000,
  log: { level: ClickHouseLogLevel.OFF }, // errors are in the output, not on stderr
});

const outcomes = {};
try {
  outcomes["@ping"] = await client.ping();
  for (const call of plan.calls) {
    try {
      const params = call.query_params ? { query_params: call.query_params } : {};
      if (call.kind === "exec") {
        // exec(): the statement as written (its own FORMAT), the body compressed when
        // `compression.request` is on (query() never compresses its body); the raw answer.
        const result = await client.exec({ query: call.query, ...params });
        const body = [];
        for await (const chunk of result.stream) body.push(chunk);
        outcomes[call.name] = { ok: true, query_id: result.query_id,
                                text: Buffer.concat(body).toString("utf8") };
        continue;
      }
      const resultSet = await client.query({
        query: call.query,
        ...(call.format ? { format: call.format } : {}),
        ...params,
      });
      outcomes[call.name] = { ok: true, query_id: resultSet.query_id, result: await resultSet.json() };
    } catch (error) {
      outcomes[call.name] = {
        ok: false,
        code: error.code ?? null,
        type: error.type ?? null,
        message: String(error.message),
      };
    }
  }
} finally {
  await client.close();
}
process.stdout.write(JSON.stringify(outcomes));
