package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// errFindingsFound makes `analyze --fail-on` exit with status 3.
var errFindingsFound = errors.New("findings of a --fail-on kind were found")

type cliFinding struct {
	Kind            string          `json:"kind"`
	Service         string          `json:"service"`
	Operation       string          `json:"operation"`
	Peer            string          `json:"peer"`
	Severity        string          `json:"severity"`
	Score           float64         `json:"score"`
	Summary         string          `json:"summary"`
	Evidence        json.RawMessage `json:"evidence"`
	ExampleTraceIDs []string        `json:"example_trace_ids"`
	FirstSeen       time.Time       `json:"first_seen"`
	LastSeen        time.Time       `json:"last_seen"`
}

// runAnalyze prints the findings of a time window from a running server and
// optionally fails when some are of the given kinds (for CI gates).
func runAnalyze(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	server := fs.String("server", envOr("TRACEHOUND_SERVER", "http://localhost:8080"), "tracehound UI/API address (env TRACEHOUND_SERVER)")
	since := fs.Duration("since", time.Hour, "window length, ending at --to")
	to := fs.String("to", "", "window end (RFC 3339 or Unix ms; default now)")
	from := fs.String("from", "", "window start (RFC 3339 or Unix ms; overrides --since)")
	kind := fs.String("kind", "", "only this kind: bottleneck, chatty or oversized_payload")
	service := fs.String("service", "", "only findings of this service")
	format := fs.String("format", "table", "table or json")
	failOn := fs.String("fail-on", "", "comma-separated kinds (or 'any') that make the command exit with status 3 when found")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("--format %q: want table or json", *format)
	}
	failKinds := map[string]bool{}
	for _, k := range strings.Split(*failOn, ",") {
		switch k = strings.TrimSpace(k); k {
		case "":
		case "any", "bottleneck", "chatty", "oversized_payload":
			failKinds[k] = true
		default:
			return fmt.Errorf("--fail-on: unknown kind %q (want bottleneck, chatty, oversized_payload or any)", k)
		}
	}
	end := time.Now()
	if *to != "" {
		t, err := parseCLITime(*to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		end = t
	}
	start := end.Add(-*since)
	if *from != "" {
		t, err := parseCLITime(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		start = t
	}
	q := url.Values{"from": {fmt.Sprint(start.UnixMilli())}, "to": {fmt.Sprint(end.UnixMilli())}}
	if *kind != "" {
		q.Set("kind", *kind)
	}
	if *service != "" {
		q.Set("service", *service)
	}
	findings, err := fetchFindings(strings.TrimSuffix(*server, "/") + "/api/v1/findings?" + q.Encode())
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"findings": findings}); err != nil {
			return err
		}
	} else {
		printFindings(stdout, findings)
	}
	for _, f := range findings {
		if failKinds["any"] || failKinds[f.Kind] {
			return errFindingsFound
		}
	}
	return nil
}

func fetchFindings(u string) ([]cliFinding, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if tok := os.Getenv("TRACEHOUND_API_TOKEN"); tok != "" { // servers with auth.api_tokens
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reaching tracehound (is `tracehound serve` running? set --server): %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET findings: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Findings []cliFinding `json:"findings"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding findings: %w", err)
	}
	return out.Findings, nil
}

func printFindings(w io.Writer, fs []cliFinding) {
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings in this window.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tKIND\tSERVICE\tOPERATION\tPEER\tLAST SEEN\tEXAMPLE TRACE")
	for _, f := range fs {
		ex := ""
		if len(f.ExampleTraceIDs) > 0 {
			ex = f.ExampleTraceIDs[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Kind, f.Service, truncate(f.Operation, 60), f.Peer,
			f.LastSeen.Local().Format(time.DateTime), ex)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, f := range fs {
		fmt.Fprintf(w, "• %s\n", f.Summary)
	}
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseCLITime accepts RFC 3339 or Unix milliseconds, like the API.
func parseCLITime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix milliseconds", v)
	}
	return t, nil
}
