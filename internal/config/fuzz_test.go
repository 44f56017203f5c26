package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig loads arbitrary YAML as a --config file: it is rejected
// with an error or loaded, never a crash; a configuration that validates
// renders to YAML that loads back to the same rendering.
func FuzzLoadConfig(f *testing.F) {
	def, err := DefaultYAML()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add([]byte("http_addr: file:1\ndata_dir: /from/file\nlog_level: warn\nclickhouse:\n  retention: 48h\n"))
	f.Add([]byte("wal:\n  sync: always\n  max_bytes: 1\nauth:\n  otlp_tokens: [short]\notlp:\n  rate_limit: {spans_per_second: -1}\n  tls: {cert_file: /x}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("otlp: {max_request_bytes: 99999999999999999999}\nunknown: 1\n"))
	f.Add([]byte("alerting:\n  rules:\n    - name: x\n      expr: 'finding{kind=\"chatty\"}'\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, yaml, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := Default()
		if err := LoadFile(path, &cfg); err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			return
		}
		out, err := yamlString(cfg)
		if err != nil {
			t.Fatalf("valid config does not render: %v", err)
		}
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		again := Default()
		if err := LoadFile(path, &again); err != nil {
			t.Fatalf("rendered config does not load: %v\n%s", err, out)
		}
		if out2, _ := yamlString(again); out2 != out {
			t.Fatalf("render/load/render changed the config:\n%s\nvs\n%s", out, out2)
		}
	})
}
