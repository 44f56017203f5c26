package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tracehound/tracehound/schemas"
)

// DefaultDatabase is used when the DSN names no database (or names "default").
const DefaultDatabase = "tracehound"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Options configures Open.
type Options struct {
	// DSN is a clickhouse-go DSN, e.g. clickhouse://user:pass@host:9000/db?secure=true.
	// The path names the database tracehound creates and uses (DefaultDatabase
	// when empty or "default").
	DSN string
	// Retention is how long spans are kept (table TTL). Required, > 0.
	Retention time.Duration
	// Logger receives schema and connection messages; nil discards them.
	Logger *slog.Logger
}

// Store is a connection to tracehound's ClickHouse database. It is safe for
// concurrent use.
type Store struct {
	conn      driver.Conn
	ins       *spanInserter
	db        string
	retention time.Duration
	log       *slog.Logger
}

// Open parses the DSN and connects. It does not wait for the server: use
// Ping (or WaitReady) for that.
func Open(opts Options) (*Store, error) {
	if opts.Retention <= 0 {
		return nil, errors.New("storage: retention must be positive")
	}
	co, err := clickhouse.ParseDSN(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("invalid --clickhouse-dsn: %w", err)
	}
	db := co.Auth.Database
	if db == "" || db == "default" {
		db = DefaultDatabase
	}
	if !identRE.MatchString(db) {
		return nil, fmt.Errorf("invalid --clickhouse-dsn: database name %q must match %s", db, identRE)
	}
	// Connect to the server's default database: ours may not exist yet, and
	// every statement names it explicitly.
	co.Auth.Database = "default"
	if co.DialTimeout == 0 || co.DialTimeout > 5*time.Second {
		co.DialTimeout = 5 * time.Second
	}
	co.MaxOpenConns = max(co.MaxOpenConns, 8)
	co.ConnMaxLifetime = time.Hour
	co.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	conn, err := clickhouse.Open(co)
	if err != nil {
		return nil, fmt.Errorf("opening clickhouse connection: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{conn: conn, ins: newSpanInserter(co, db), db: db, retention: opts.Retention, log: log}, nil
}

// Database is the database tracehound uses.
func (s *Store) Database() string { return s.db }

// Conn exposes the underlying connection for the analysis queries.
func (s *Store) Conn() driver.Conn { return s.conn }

// Ping checks that ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// WaitReady pings until ClickHouse answers or ctx ends.
func (s *Store) WaitReady(ctx context.Context) error {
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = s.conn.Ping(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clickhouse is not reachable: %w", last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Close closes the connection pool and the insert connection.
func (s *Store) Close() error { return errors.Join(s.ins.close(), s.conn.Close()) }

// Migrate creates the database and applies every migration not yet recorded
// in the tracehound_migrations table, in order. All statements are
// idempotent, so concurrent collectors starting together are harmless.
func (s *Store) Migrate(ctx context.Context) error {
	migs, err := schemas.Migrations()
	if err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return fmt.Errorf("creating database %s: %w", s.db, err)
	}
	if err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.db+`.tracehound_migrations
		(version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3))
		ENGINE = ReplacingMergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("creating migrations table: %w", err)
	}
	applied := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+s.db+".tracehound_migrations")
	if err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("reading applied migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	data := struct {
		Database   string
		TTLSeconds int64
	}{s.db, int64(s.retention / time.Second)}
	for _, m := range migs {
		if applied[uint32(m.Version)] {
			continue
		}
		tmpl, err := template.New(m.Name).Parse(m.Template)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := s.conn.Exec(ctx, b.String()); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.Name, err)
		}
		if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".tracehound_migrations (version, name) VALUES (?, ?)",
			uint32(m.Version), m.Name); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.Name, err)
		}
		s.log.Info("applied schema migration", "migration", m.Name)
	}
	return s.applyRetention(ctx)
}

// retentionTTL matches the retention part of a table's TTL clause as
// ClickHouse prints it in system.tables.engine_full.
var retentionTTL = regexp.MustCompile(`TTL (.+?) \+ toIntervalSecond\((\d+)\)`)

// applyRetention changes the TTL of tables created with an earlier
// --retention. Existing parts are not rewritten (materialize_ttl_after_modify
// = 0): old rows expire as parts merge or their partitions age out.
func (s *Store) applyRetention(ctx context.Context) error {
	want := int64(s.retention / time.Second)
	rows, err := s.conn.Query(ctx, "SELECT name, engine_full FROM system.tables WHERE database = ?", s.db)
	if err != nil {
		return fmt.Errorf("reading table definitions: %w", err)
	}
	type change struct{ table, expr string }
	var changes []change
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			rows.Close()
			return fmt.Errorf("reading table definitions: %w", err)
		}
		m := retentionTTL.FindStringSubmatch(engine)
		if m == nil || m[2] == strconv.FormatInt(want, 10) {
			continue
		}
		changes = append(changes, change{name, m[1]})
	}
	rows.Close()
	actx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"materialize_ttl_after_modify": 0}))
	for _, c := range changes {
		q := fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL %s + toIntervalSecond(%d)", s.db, c.table, c.expr, want)
		if err := s.conn.Exec(actx, q); err != nil {
			return fmt.Errorf("changing retention of %s: %w", c.table, err)
		}
		s.log.Info("changed retention", "table", c.table, "retention", s.retention)
	}
	return nil
}

// ServerNow is ClickHouse's clock, which stamps ingested_at; the analyzer
// uses it so collector clock skew cannot misplace windows.
func (s *Store) ServerNow(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("reading ClickHouse time: %w", err)
	}
	return t.UTC(), nil
}
