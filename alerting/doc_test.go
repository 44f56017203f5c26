package alerting

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDocsExamplesAreValid decodes every YAML example of docs/alerts.md
// (fragments of rules or receivers inside a minimal section) strictly and
// validates it, so the reference cannot drift from the code.
func TestDocsExamplesAreValid(t *testing.T) {
	b, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	old := getenv
	getenv = func(string) string { return "https://hooks.example.com/x" }
	defer func() { getenv = old }()
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d YAML examples", len(blocks))
	}
	for _, m := range blocks {
		doc := strings.ReplaceAll(m[1], "[...]", "[]")
		trimmed := strings.TrimSpace(doc)
		switch {
		case strings.HasPrefix(doc, "alerting:"):
		case strings.HasPrefix(trimmed, "- name") || strings.HasPrefix(trimmed, "#"):
			doc = "alerting:\n  receivers: [{name: slack, webhook: {url: 'http://x'}}, {name: pager, webhook: {url: 'http://x'}}]\n  rules:\n" + doc
		default:
			doc = "alerting:\n" + doc
		}
		var f struct {
			Alerting Config `yaml:"alerting"`
		}
		f.Alerting = NewDefaultConfig()
		dec := yaml.NewDecoder(strings.NewReader(doc))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("%v\n%s", err, doc)
			continue
		}
		if err := f.Alerting.Validate(); err != nil {
			t.Errorf("%v\n%s", err, doc)
		}
	}
}
