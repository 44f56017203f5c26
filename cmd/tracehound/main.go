// Command tracehound is a distributed-tracing collector and analyzer: it
// receives OTLP traces, stores them in ClickHouse and serves the service
// map, traces and findings.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/tracehound/tracehound/internal/config"
)

const usage = `tracehound — distributed-tracing collector and analyzer

Usage:
  tracehound serve [flags]        receive OTLP, store in ClickHouse, serve UI and API
  tracehound demo [flags]         send realistic traffic with planted problems to a server
  tracehound analyze [flags]      print the findings of a time window (--fail-on for CI gates)
  tracehound alerts test|check    send a test notification to each receiver / validate alert rules
  tracehound clickhouse [flags]   run only the embedded ClickHouse (for tests and tooling)
  tracehound config defaults      print the default configuration as YAML
  tracehound version              print the version

Run 'tracehound serve -h' for the serve flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "demo":
		err = runDemo(os.Args[2:])
	case "analyze":
		err = runAnalyze(os.Args[2:], os.Stdout)
		if errors.Is(err, errFindingsFound) {
			fmt.Fprintln(os.Stderr, "tracehound:", err)
			os.Exit(3)
		}
	case "alerts":
		err = runAlerts(os.Args[2:])
	case "clickhouse":
		err = runClickHouse(os.Args[2:])
	case "clickhouse-embedded": // hidden: the child process of the embedded ClickHouse
		err = runClickHouseChild(os.Args[2:])
	case "config":
		if len(os.Args) != 3 || os.Args[2] != "defaults" {
			err = errors.New("usage: tracehound config defaults")
			break
		}
		var b []byte
		if b, err = config.DefaultYAML(); err == nil {
			_, err = os.Stdout.Write(b)
		}
	case "version", "--version":
		fmt.Println("tracehound", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "tracehound: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracehound:", err)
		os.Exit(1)
	}
}
