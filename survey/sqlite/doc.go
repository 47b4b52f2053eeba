// Package sqlite is minping's embedded store: rounds, batches, codes,
// ballots, accounts, sessions and sealed documents in one SQLite file.
//
// Migrations are versioned and applied in a transaction at Open. All writes
// go through one connection; ballots are written by a single goroutine that
// gathers concurrent submissions into group commits, each durable
// (synchronous=FULL) before any submitter is answered. Codes are kept only as
// keyed hashes, ballots under random keys with no code, time or order, and an
// in-memory slip index (codes of unsealed rounds: hash → batch and position)
// routes ballot requests without reading the file; SQLite stays the
// authority.
package sqlite
