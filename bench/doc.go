// Package bench is minping's load generator. `minping bench` starts
// minping in its own process on loopback with a temporary data directory and
// hands it to Run, which speaks only the public HTTP API: it defines the
// example round, issues codes over its units and categories, opens it, and
// then, for each number of concurrent clients, measures in turn the minimal
// request (GET /healthz), the cached ballot page (GET /b/CODE, gzip),
// durable ballots (POST /api/v1/ballots/CODE), and the limit those ballots
// are held to: raw durable group-commit inserts of the same rows into a
// separate SQLite file with the store's pragmas and ballots table. The four
// take turns in slices (-rounds), so that each ratio compares rates measured
// over the same stretch of time. It prints each rate with its latencies and
// the ratios against the targets, and fails if one is missed. Rates on a
// shared machine drift; ratios measured side by side drift far less.
package bench
