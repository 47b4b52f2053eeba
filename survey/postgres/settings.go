package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"minping/survey"
)

// ErrUnsafeSettings is returned, wrapped, by Open when the server keeps a
// record that would tie ballots to codes or to times (see checkSettings),
// and by a ballot's commit or a code's lookup when a setting has changed so
// since: it is survey.ErrUnsafeStore, which the server answers with 503.
var ErrUnsafeSettings = fmt.Errorf("unsafe PostgreSQL settings for a secret ballot: %w", survey.ErrUnsafeStore)

// querier runs a query: the pool, a connection, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// settingNames are the settings checkSettings reads.
var settingNames = []string{
	"log_statement", "log_min_duration_statement", "log_min_duration_sample", "log_statement_sample_rate",
	"log_transaction_sample_rate", "log_parameter_max_length", "log_parameter_max_length_on_error",
	"track_commit_timestamp", "shared_preload_libraries", "session_preload_libraries", "local_preload_libraries",
	"debug_print_parse", "debug_print_rewritten", "debug_print_plan",
	"fsync", "synchronous_commit",
}

// settingsQuery reads settingNames as the session sees them ("" for one
// this server lacks), and which of the extensions $1 are installed.
var settingsQuery = func() string {
	var b strings.Builder
	b.WriteString("SELECT ARRAY[")
	for i, n := range settingNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "COALESCE(current_setting('%s', true), '')", n)
	}
	b.WriteString("], ARRAY(SELECT extname::text FROM pg_extension WHERE extname = ANY($1))")
	return b.String()
}()

// recorders are the libraries and extensions that keep statements, their
// plans or their parameters: preloaded or installed, they are refused.
// auto_explain and pg_store_plans print plans in which bound values are
// constants; pgaudit logs parameters when asked; pg_stat_statements,
// pg_stat_monitor and pg_qualstats keep statements and the constants of
// their conditions.
var recorders = map[string]bool{
	"pg_stat_statements": true, "auto_explain": true, "pgaudit": true, "pg_stat_monitor": true,
	"pg_qualstats": true, "pg_store_plans": true, "pg_show_plans": true,
}

// libraryName is a preload list entry's library: "$libdir/auto_explain.so"
// and "/opt/lib/auto_explain" are auto_explain.
func libraryName(entry string) string {
	l := strings.Trim(strings.TrimSpace(entry), `"`)
	if i := strings.LastIndexAny(l, `/\`); i >= 0 {
		l = l[i+1:]
	}
	for _, ext := range []string{".so", ".dll", ".dylib"} {
		l = strings.TrimSuffix(l, ext)
	}
	return l
}

// guard checks the settings on q (the connection the statements that
// follow run on) before a statement that carries codes' hashes: a ballot's
// commit, a code's lookup. A setting changed after Open — ALTER SYSTEM and
// a reload, ALTER ROLE, a DBA chasing a slow meeting with
// log_min_duration_statement = 0 — stops ballots (ErrUnsafeSettings)
// rather than have their hashes logged. The verdict is kept for
// settingsEvery (a second): checked before every commit, the check cost a
// third of the ballots a second. In that second a log may take a few
// hashes with their times, which the WAL's spend marks and commit records
// hold anyway (see the package comment). Nil if unsafe settings were
// allowed.
func (s *Store) guard(ctx context.Context, q querier) error {
	if s.allowUnsafe {
		return nil
	}
	s.guardMu.Lock()
	fresh, verdict := time.Since(s.checkedAt) < s.settingsEvery, s.verdict
	s.guardMu.Unlock()
	if fresh {
		return verdict
	}
	bad, err := checkSettings(ctx, q)
	if err != nil {
		return err
	}
	verdict = nil
	if len(bad) > 0 {
		verdict = settingsError(bad)
	}
	s.guardMu.Lock()
	s.checkedAt, s.verdict = time.Now(), verdict
	s.guardMu.Unlock()
	return verdict
}

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
func checkSettings(ctx context.Context, q querier) ([]unsafeSetting, error) {
	extensions := make([]string, 0, len(recorders))
	for e := range recorders {
		extensions = append(extensions, e)
	}
	// One row of current_setting() calls, cheap enough to run before every
	// group commit (pg_settings builds a row for each of its ~350
	// settings on every read: it halved the ballots a second).
	var values, installed []string
	if err := q.QueryRow(ctx, settingsQuery, extensions).Scan(&values, &installed); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	got := make(map[string]string, len(settingNames))
	for i, n := range settingNames {
		got[n] = values[i]
	}
	slices.Sort(installed)
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
	for _, name := range []string{"debug_print_parse", "debug_print_rewritten", "debug_print_plan"} {
		if got[name] == "on" {
			add(name, "日志会记下每条语句的解析树或计划，其中含有绑定的参数值", "the log would record every statement's parse tree or plan, bound values included")
		}
	}
	for _, lib := range []string{"shared_preload_libraries", "session_preload_libraries", "local_preload_libraries"} {
		for _, l := range strings.Split(got[lib], ",") {
			if name := libraryName(l); recorders[name] {
				add(lib, "已加载 "+name+"：它会记下语句、计划或参数", name+" is loaded: it records statements, plans or parameters")
			}
		}
	}
	for _, e := range installed {
		bad = append(bad, unsafeSetting{name: e, value: "CREATE EXTENSION",
			zh: "数据库中安装了 " + e + " 扩展：它会长期保存语句及其统计", en: "the " + e + " extension is installed in the database: it keeps statements and their statistics"})
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
