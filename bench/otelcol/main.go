// Command otelcol-bench is a minimal OpenTelemetry Collector distribution,
// the peer system of tracehound's benchmark (docs/benchmarks.md): the OTLP
// receiver, the batch processor and the contrib ClickHouse exporter, with
// the file: and env: config providers. It is what the collector builder
// (ocb) would generate for that component list, written by hand.
//
// It is its own Go module so that the collector's large dependency tree
// stays out of both tracehound's module and the benchmark driver's module.
// Every collector module in go.mod is at one release. Build it with
// `make otelcol-bench` (bin/otelcol-bench).
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// Module paths of the components; `otelcol-bench components` lists them with
// the versions this binary was built with.
const (
	modOTelCol     = "go.opentelemetry.io/collector/otelcol"
	modOTLP        = "go.opentelemetry.io/collector/receiver/otlpreceiver"
	modBatch       = "go.opentelemetry.io/collector/processor/batchprocessor"
	modClickHouse  = "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	unknownVersion = "(unknown version)"
)

// moduleVersions maps the dependencies of this binary to their versions, from
// the build information the Go linker embeds.
func moduleVersions() map[string]string {
	out := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		out[d.Path] = d.Version
	}
	return out
}

func withVersion(versions map[string]string, mod string) string {
	v, ok := versions[mod]
	if !ok {
		v = unknownVersion
	}
	return mod + " " + v
}

func components(versions map[string]string) func() (otelcol.Factories, error) {
	return func() (otelcol.Factories, error) {
		receivers, err := otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory())
		if err != nil {
			return otelcol.Factories{}, fmt.Errorf("receiver factories: %w", err)
		}
		processors, err := otelcol.MakeFactoryMap[processor.Factory](batchprocessor.NewFactory())
		if err != nil {
			return otelcol.Factories{}, fmt.Errorf("processor factories: %w", err)
		}
		exporters, err := otelcol.MakeFactoryMap[exporter.Factory](clickhouseexporter.NewFactory())
		if err != nil {
			return otelcol.Factories{}, fmt.Errorf("exporter factories: %w", err)
		}
		f := otelcol.Factories{
			Receivers:        receivers,
			Processors:       processors,
			Exporters:        exporters,
			Telemetry:        otelconftelemetry.NewFactory(),
			ReceiverModules:  map[component.Type]string{},
			ProcessorModules: map[component.Type]string{},
			ExporterModules:  map[component.Type]string{},
		}
		f.ReceiverModules[otlpreceiver.NewFactory().Type()] = withVersion(versions, modOTLP)
		f.ProcessorModules[batchprocessor.NewFactory().Type()] = withVersion(versions, modBatch)
		f.ExporterModules[clickhouseexporter.NewFactory().Type()] = withVersion(versions, modClickHouse)
		return f, nil
	}
}

func main() {
	versions := moduleVersions()
	// The collector's release, without the leading "v" as the official
	// distributions print it; the ClickHouse exporter also sends it to the
	// server as its client product version ("otelcol/<version>").
	version := versions[modOTelCol]
	if len(version) > 1 && version[0] == 'v' {
		version = version[1:]
	}
	if version == "" {
		version = "unknown"
	}
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-bench",
			Description: "Minimal OpenTelemetry Collector (otlp receiver, batch processor, clickhouse exporter) for tracehound's benchmark",
			Version:     version,
		},
		Factories: components(versions),
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
				},
			},
		},
	}
	// The command prints its own errors ("Error: …").
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		os.Exit(1)
	}
}
