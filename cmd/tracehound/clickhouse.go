package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/storage/embedded"
)

// runClickHouse runs only the supervised embedded ClickHouse in the
// foreground, e.g. to stand in for an external server in tests.
func runClickHouse(args []string) error {
	fs := flag.NewFlagSet("clickhouse", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "data", "directory for the ClickHouse data")
	tcpPort := fs.Int("tcp-port", 9000, "native-protocol port on 127.0.0.1")
	httpPort := fs.Int("http-port", 8123, "HTTP port on 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ch, err := embedded.New(embedded.Config{DataDir: *dataDir, TCPPort: *tcpPort, HTTPPort: *httpPort, Logger: newLogger("info")})
	if err != nil {
		return err
	}
	if err := ch.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ClickHouse is ready: native %s, HTTP %s (DSN %s). Ctrl-C stops it.\n", ch.TCPAddr(), ch.HTTPAddr(), ch.DSN())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ch.Shutdown(sctx)
}

func runClickHouseChild(args []string) error {
	a, err := embedded.ChildArgsFromFlags(args)
	if err != nil {
		return err
	}
	return embedded.RunChild(a)
}
