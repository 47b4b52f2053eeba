// Package postgres is minping's store for several instances on one
// PostgreSQL database (a primary with a standby, instances behind a load
// balancer). It offers the same methods, with the same errors, as
// survey/sqlite, and passes the same suite (survey/storetest).
//
// # Secrecy against PostgreSQL's own history
//
// PostgreSQL keeps, for every tuple, xmin (the transaction that wrote it:
// arrival order and commit groups) and ctid (where it lies: insert order);
// dead versions stay until VACUUM, and forever in the WAL, its archives,
// base backups and standbys. A ballot row written when it arrives, next to
// the spend mark of its code, is linked to that code by anyone with a copy.
// So:
//
//  1. While voting is open a ballot is stored only as a box (box.go):
//     sealed with AES-256-GCM under a key agreed (X25519, HKDF) between an
//     ephemeral key of the instance and the round's box key, padded to a
//     power of two, with nothing in the clear but its round. The round's
//     key pair is made at OpenRound: the public half goes in the rounds
//     row, where every instance reads it; the private half is a file in
//     the key directory (Options.KeyDir), sealed under the code key, and
//     never in the database, so no WAL, archive, backup or standby ever
//     holds it.
//  2. At close, in the transaction that ends voting, every box is opened
//     and its records are written to the ballots table under random ids
//     in a uniformly random order, all in that one transaction (one xmin,
//     a ctid order that is a shuffle); the boxes are deleted. After the
//     commit the key file is removed: from then on the dead boxes in the
//     WAL and in dead tuples are ciphertext nobody can open, and the
//     ballots' xmin and ctid say nothing of arrival.
//  3. A spend is a row of its own, spent(hash, round, batch), inserted
//     with ON CONFLICT DO NOTHING in the transaction that stores the box:
//     the unique key makes a second spend impossible from any instance,
//     and no shared row (a batch's bitmap) is rewritten, so no dead
//     version of it keeps earlier states. Turnout counts these rows; the
//     seal keeps each batch's count and deletes the round's codes and
//     spend marks.
//  4. Close and void wait for the ballots being written in the round and
//     keep new ones waiting through an advisory lock (taken shared by each
//     group commit, exclusively by close and void) rather than FOR SHARE
//     row locks: an advisory lock writes nothing to a tuple or the WAL
//     (FOR SHARE sets xmax on the round's and the batch's tuples, a trace
//     of every spend, and lets a stream of sharers starve the close).
//     Every other change of a round takes its row FOR UPDATE, so asked of
//     two instances at once one wins and the other finds the round moved
//     on (ErrWrongState).
//  5. Statements bind every value; none carries a code or a hash in its
//     text. Open refuses (unless Options.AllowUnsafeSettings) settings
//     under which the server would keep its own record of the ballot
//     writer's work: statement logging (log_statement all or mod,
//     log_min_duration_statement and the sampling settings, which log bind
//     parameters), parameters logged on error, track_commit_timestamp,
//     debug_print_*, libraries and extensions that record statements or
//     plans (pg_stat_statements, auto_explain, pgaudit, …, under any
//     spelling of their path), and fsync or synchronous_commit off. The
//     check runs again, at most a second apart, on the connection of a
//     group commit or a code lookup before its statement carries a hash:
//     a setting turned on while voting (ALTER SYSTEM and a reload) stops
//     ballots within a second (survey.ErrUnsafeStore, a 503) rather than
//     logging them; one made for the role or the database, which reaches
//     only new sessions, is caught as each connects. See settings.go.
//  6. Within a group commit the spend marks and the boxes are inserted in
//     two independent random orders.
//  7. The close writes no record of a group too small to count
//     (survey.Rules.Excludes): written and deleted at the seal, it would
//     stay in the close's WAL, in dead tuples and in column statistics.
//
// # What remains
//
// A copy of the key directory taken while a round is open holds its
// private key; with it, and the WAL (or a copy of the database) of the
// same round, the boxes open, and each box shares its xmin with the spend
// marks committed with it: its ballot is tied to its group commit, which
// under load holds tens of ballots, and when voters come one at a time
// holds one (the attack test measures 200 of 200 linked then), and to that
// commit's time, which every WAL commit record carries whatever
// track_commit_timestamp says. The WAL alone ties a code's hash to its
// batch and the time it was spent: turnout over time, per batch. Without
// the key directory of that window, or once the round has closed, nothing
// links (measured: 0 of 200 beyond chance, no plaintext in any table or
// WAL record written while voting was open). Removing a file does not
// erase it from every medium: keep the key directory off backups taken
// while a round is open, and on storage the database's operators cannot
// read.
//
// Several instances must therefore share the key directory (as they share
// the code key): any instance accepts ballots, as it needs only the public
// key, but only one holding the private key can close the round
// (ErrNoRoundKey otherwise, and the round stays open). Losing the key
// directory while a round is open loses its ballots: back it up, or keep
// it on replicated storage, for the round's duration only.
//
// # Durability and group commit
//
// Each Store runs Options.Writers ballot writers, each gathering the
// submissions waiting (and, under load, waiting up to 2 ms for more) into
// one transaction, answered only after COMMIT returns with
// synchronous_commit on: one WAL flush for the group.
package postgres
