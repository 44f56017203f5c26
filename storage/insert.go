package storage

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/clickhouse-go/v2"
)

// insertBlockRows is the size of the blocks a batch is sent in.
const insertBlockRows = 8192

// spanInserter sends span batches over one native-protocol connection of
// its own (ch-go), encoding the batch's columns directly: the query pool of
// clickhouse-go would build a Go value per cell. The connection is dialled
// on first use and again after an error. Inserts are serialised; the Writer
// inserts one batch at a time anyway.
type spanInserter struct {
	opts ch.Options
	// insertQuery names the columns the batch sends, so that the others
	// (ingested_at) get their DEFAULT.
	insertQuery string

	mu     sync.Mutex
	client *ch.Client
}

// newSpanInserter derives the insert connection's options from the parsed
// DSN. Inserts to a loopback address (the embedded ClickHouse) are not
// compressed, which only costs CPU on both ends there; others use LZ4.
func newSpanInserter(co *clickhouse.Options, db string) *spanInserter {
	opts := ch.Options{
		Address:     co.Addr[0],
		Database:    "default",
		User:        co.Auth.Username,
		Password:    co.Auth.Password,
		TLS:         co.TLS,
		DialTimeout: co.DialTimeout,
		ClientName:  "tracehound",
		Compression: ch.CompressionLZ4,
		ReadTimeout: -1, // bounded by the insert context instead
	}
	if host, _, err := net.SplitHostPort(opts.Address); err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			opts.Compression = ch.CompressionDisabled
		}
	}
	if opts.User == "" {
		opts.User = "default"
	}
	var cols []string
	for _, c := range (&SpanBatch{}).nativeInput() {
		cols = append(cols, c.Name)
	}
	return &spanInserter{opts: opts, insertQuery: "INSERT INTO " + db + ".spans (" + strings.Join(cols, ", ") + ") VALUES"}
}

// insert sends the batch as one INSERT with the deduplication token.
func (si *spanInserter) insert(ctx context.Context, b *SpanBatch, token string) error {
	si.mu.Lock()
	defer si.mu.Unlock()
	if si.client == nil || si.client.IsClosed() {
		c, err := ch.Dial(ctx, si.opts)
		if err != nil {
			return fmt.Errorf("connecting to ClickHouse at %s: %w", si.opts.Address, err)
		}
		si.client = c
	}
	// The batch goes in blocks of insertBlockRows rows: the connection
	// encodes a block at a time, so its buffer stays a few MB; the server
	// squashes the blocks of one INSERT into one part as before.
	n := b.Len()
	hi := min(n, insertBlockRows)
	input := b.nativeInputRange(0, hi)
	err := si.client.Do(ctx, ch.Query{
		Body:  si.insertQuery,
		Input: input,
		OnInput: func(context.Context) error {
			if hi == n {
				clear(input) // no rows left: the end of the input
				for i, c := range b.nativeInputRange(n, n) {
					input[i] = c
				}
				return io.EOF
			}
			lo := hi
			hi = min(n, hi+insertBlockRows)
			copy(input, b.nativeInputRange(lo, hi))
			return nil
		},
		Settings: []ch.Setting{
			{Key: "insert_deduplicate", Value: "1", Important: true},
			{Key: "insert_deduplication_token", Value: token, Important: true},
			{Key: "deduplicate_blocks_in_dependent_materialized_views", Value: "1", Important: true},
		},
	})
	if err != nil {
		// The connection's state is unknown after a failed insert: start
		// the next attempt on a new one.
		_ = si.client.Close()
		si.client = nil
		return err
	}
	return nil
}

func (si *spanInserter) close() error {
	si.mu.Lock()
	defer si.mu.Unlock()
	if si.client == nil {
		return nil
	}
	err := si.client.Close()
	si.client = nil
	return err
}

// InsertSpans writes one batch with the native protocol, column by column.
// token is the insert_deduplication_token: inserting the same rows with the
// same token again is a no-op on the server.
func (s *Store) InsertSpans(ctx context.Context, b *SpanBatch, token string) error {
	if b.Len() == 0 {
		return nil
	}
	start := time.Now()
	if err := s.ins.insert(ctx, b, token); err != nil {
		return fmt.Errorf("inserting %d spans (after %s): %w", b.Len(), time.Since(start).Round(time.Millisecond), err)
	}
	return nil
}
