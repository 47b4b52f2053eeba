package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUnsafeSettings is returned, wrapped, by Open when the server keeps a
// record that would tie ballots to codes or to times (see checkSettings).
var ErrUnsafeSettings = errors.New("unsafe PostgreSQL settings for a secret ballot")

// unsafeSetting is one setting the secrecy check refuses, and why.
type unsafeSetting struct {
	name, value string
	zh, en      string
}

// checkSettings reads, as the store's own connections see them (so with
// every ALTER SYSTEM, ALTER DATABASE and ALTER ROLE applied), the settings
// under which PostgreSQL would keep a record of the ballot writer's work
// beyond its tables and WAL, and lists those that would:
//
//   - log_statement all or mod logs every INSERT with its time, and with
//     extended-protocol statements also its bind parameters (DETAIL:
//     parameters: $1 = '\x…'): each spent code's hash at the moment it was
//     spent. log_min_duration_statement ≥ 0, log_min_duration_sample ≥ 0
//     with a sample rate above 0, and log_transaction_sample_rate > 0 do
//     the same for the statements they pick. (log_parameter_max_length
//     only shortens the parameters; the times remain.)
//   - log_parameter_max_length_on_error ≠ 0 logs the parameters of a
//     statement that fails, a code hash among them.
//   - track_commit_timestamp = on keeps every transaction's commit time,
//     so each spent mark, and each box, carries when it arrived.
//   - pg_stat_statements, preloaded or installed in the database, and
//     auto_explain, preloaded, keep statement texts and timings across
//     restarts (the store binds every value, but an extension that is
//     there is one setting away from logging them).
//
// And, for "nothing accepted is lost": fsync and synchronous_commit must
// be on (a 201 is sent only for a ballot on disk).
func checkSettings(ctx context.Context, pool *pgxpool.Pool) ([]unsafeSetting, error) {
	names := []string{
		"log_statement", "log_min_duration_statement", "log_min_duration_sample", "log_statement_sample_rate",
		"log_transaction_sample_rate", "log_parameter_max_length", "log_parameter_max_length_on_error",
		"track_commit_timestamp", "shared_preload_libraries", "session_preload_libraries", "local_preload_libraries",
		"fsync", "synchronous_commit",
	}
	got := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read settings: %w", err)
		}
		got[n] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	var extension bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')`).Scan(&extension); err != nil {
		return nil, fmt.Errorf("read extensions: %w", err)
	}
	num := func(name string) float64 {
		f, err := strconv.ParseFloat(got[name], 64)
		if err != nil {
			return 0
		}
		return f
	}
	var bad []unsafeSetting
	add := func(name, zh, en string) {
		bad = append(bad, unsafeSetting{name: name, value: got[name], zh: zh, en: en})
	}
	if v := got["log_statement"]; v == "all" || v == "mod" {
		add("log_statement", "日志会逐条记下每次投票的写入及其时间和参数（测评码的哈希）", "the log would record every ballot's write with its time and parameters (a code's hash)")
	}
	if got["log_min_duration_statement"] != "" && num("log_min_duration_statement") >= 0 {
		add("log_min_duration_statement", "日志会记下耗时超过阈值的语句及其时间和参数", "the log would record statements over the threshold with their times and parameters")
	}
	if got["log_min_duration_sample"] != "" && num("log_min_duration_sample") >= 0 && num("log_statement_sample_rate") > 0 {
		add("log_min_duration_sample", "日志会抽样记下语句及其时间和参数", "the log would record a sample of statements with their times and parameters")
	}
	if num("log_transaction_sample_rate") > 0 {
		add("log_transaction_sample_rate", "日志会记下抽中事务的全部语句及其时间和参数", "the log would record every statement of sampled transactions with times and parameters")
	}
	if v := got["log_parameter_max_length_on_error"]; v != "" && v != "0" {
		add("log_parameter_max_length_on_error", "出错语句的参数（可能含测评码的哈希）会写入日志", "a failing statement's parameters (a code's hash among them) would be logged")
	}
	if got["track_commit_timestamp"] == "on" {
		add("track_commit_timestamp", "每个事务的提交时间会被保存，每张票的到达时间随之可查", "every transaction's commit time would be kept, and with it when each ballot arrived")
	}
	for _, lib := range []string{"shared_preload_libraries", "session_preload_libraries", "local_preload_libraries"} {
		for _, l := range strings.Split(got[lib], ",") {
			switch strings.Trim(strings.TrimSpace(l), `"`) {
			case "pg_stat_statements":
				add(lib, "已加载 pg_stat_statements：它会长期保存语句及其统计", "pg_stat_statements is loaded: it keeps statements and their statistics")
			case "auto_explain":
				add(lib, "已加载 auto_explain：它会把语句写入日志", "auto_explain is loaded: it writes statements to the log")
			}
		}
	}
	if extension {
		bad = append(bad, unsafeSetting{name: "pg_stat_statements", value: "CREATE EXTENSION",
			zh: "数据库中安装了 pg_stat_statements 扩展：它会长期保存语句及其统计", en: "the pg_stat_statements extension is installed in the database: it keeps statements and their statistics"})
	}
	if got["fsync"] == "off" {
		add("fsync", "fsync 关闭：已回复投票成功的选票可能在断电后丢失", "fsync is off: a ballot acknowledged to its voter could be lost on power failure")
	}
	if v := got["synchronous_commit"]; v == "off" {
		add("synchronous_commit", "synchronous_commit 关闭：已回复投票成功的选票可能在崩溃后丢失", "synchronous_commit is off: a ballot acknowledged to its voter could be lost in a crash")
	}
	return bad, nil
}

// settingsError says, in Chinese and English, which settings are unsafe
// and why, and how to proceed.
func settingsError(bad []unsafeSetting) error {
	var b strings.Builder
	b.WriteString("PostgreSQL 的设置不适合无记名测评 / PostgreSQL settings unsafe for a secret ballot:")
	for _, u := range bad {
		fmt.Fprintf(&b, "\n  %s = %q: %s / %s", u.name, u.value, u.zh, u.en)
	}
	b.WriteString("\n请按 deploy/postgres/README.md 修改设置；确需保留时须在启动时明确允许（不推荐）。" +
		"\nChange them as deploy/postgres/README.md says, or start with them explicitly allowed (not recommended).")
	return fmt.Errorf("%w: %s", ErrUnsafeSettings, b.String())
}
