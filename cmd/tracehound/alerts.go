package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracehound/tracehound/alerting"
)

const alertsUsage = `Usage:
  tracehound alerts test [--config FILE] [--receiver NAME]...
      send a sample notification to each configured receiver and report
      per receiver whether it was accepted (exit status 1 if any failed)
  tracehound alerts check [--config FILE]
      validate the alerting section of the configuration and list the rules
`

// runAlerts dispatches the alerts subcommands.
func runAlerts(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, alertsUsage)
		return errors.New("alerts: missing subcommand (test or check)")
	}
	switch args[0] {
	case "test":
		return runAlertsTest(args[1:], os.Stdout)
	case "check":
		return runAlertsCheck(args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(alertsUsage)
		return nil
	}
	fmt.Fprint(os.Stderr, alertsUsage)
	return fmt.Errorf("alerts: unknown subcommand %q", args[0])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// loadAlertingConfig reads the alerting section of --config (or
// TRACEHOUND_CONFIG) and validates it, resolving url_env secrets.
func loadAlertingConfig(path string) (alerting.Config, error) {
	if path == "" {
		return alerting.Config{}, errors.New("no configuration: pass --config FILE (or set TRACEHOUND_CONFIG)")
	}
	f, err := os.Open(path)
	if err != nil {
		return alerting.Config{}, fmt.Errorf("reading config file: %w", err)
	}
	defer f.Close()
	cfg, err := alerting.LoadYAML(f)
	if err != nil {
		return cfg, fmt.Errorf("config file %s:\n%w", path, err)
	}
	return cfg, nil
}

func runAlertsTest(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("alerts test", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("TRACEHOUND_CONFIG"), "YAML config file with an alerting section (env TRACEHOUND_CONFIG)")
	var only multiFlag
	fs.Var(&only, "receiver", "only this receiver (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("alerts test takes no arguments, got %q", fs.Args())
	}
	cfg, err := loadAlertingConfig(*configPath)
	if err != nil {
		return err
	}
	if len(cfg.Receivers) == 0 {
		return errors.New("no receivers are configured under alerting.receivers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	results, err := alerting.SendTest(ctx, cfg, only, nil)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECEIVER\tTYPE\tRESULT\tHTTP\tTIME\tDETAIL")
	failed := 0
	for _, r := range results {
		res, detail, status := "ok", "", "-"
		if r.HTTPStatus > 0 {
			status = fmt.Sprint(r.HTTPStatus)
		}
		if r.Err != nil {
			res, detail = "FAILED", r.Err.Error()
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Receiver, r.Integration, res, status, r.Duration.Round(time.Millisecond), detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d receivers failed the test notification", failed, len(results))
	}
	return nil
}

func runAlertsCheck(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("alerts check", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("TRACEHOUND_CONFIG"), "YAML config file with an alerting section (env TRACEHOUND_CONFIG)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := loadAlertingConfig(*configPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "alerting configuration is valid: %d rules, %d receivers, evaluated every %s\n",
		len(cfg.Rules), len(cfg.Receivers), cfg.EvaluationInterval)
	for _, r := range cfg.Rules {
		typ := "finding"
		if r.Metric != nil {
			typ = "metric"
		}
		to := strings.Join(r.Receivers, ", ")
		if to == "" {
			to = "all receivers"
		}
		fmt.Fprintf(stdout, "  rule %s (%s, for %s) → %s\n", r.Name, typ, r.For, to)
	}
	for _, r := range cfg.Receivers {
		fmt.Fprintf(stdout, "  receiver %s\n", r.Name)
	}
	return nil
}
