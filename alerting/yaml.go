package alerting

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The configuration is decoded from yaml.Nodes so that every message can
// name the line of the bad value. yaml.v3 does not pass a decoder's
// KnownFields setting on to custom unmarshalers, so UnmarshalYAML checks
// keys itself (checkNode) before decoding.

// lineMap maps a key path inside a node ("metric.threshold",
// "receivers[2]", "" for the node itself) to its line in the file.
type lineMap map[string]int

// line returns the line of key, or of its closest parent that has one.
func (m lineMap) line(key string) int {
	for {
		if l, ok := m[key]; ok {
			return l
		}
		if key == "" {
			return 0
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			key = ""
		} else {
			key = key[:i]
		}
	}
}

// errorf formats "config line L: prefix.key: message" (without the line when
// the value did not come from a file).
func (m lineMap) errorf(prefix, key, format string, args ...any) error {
	p := prefix
	if key != "" {
		p += "." + key
	}
	msg := fmt.Sprintf(format, args...)
	if l := m.line(key); l > 0 {
		return fmt.Errorf("config line %d: %s: %s", l, p, msg)
	}
	return fmt.Errorf("%s: %s", p, msg)
}

func collectLines(n *yaml.Node) lineMap {
	m := lineMap{"": n.Line}
	var walk func(n *yaml.Node, p string)
	walk = func(n *yaml.Node, p string) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				if p != "" {
					name = p + "." + name
				}
				m[name] = n.Content[i].Line
				walk(n.Content[i+1], name)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				name := fmt.Sprintf("%s[%d]", p, i)
				m[name] = e.Line
				walk(e, name)
			}
		}
	}
	walk(n, "")
	return m
}

var durationType = reflect.TypeOf(time.Duration(0))

// checkNode verifies that n can be decoded into a value of type t: known
// keys only, no duplicates, the right shapes and parsable scalars. Each
// error names the path and line.
func checkNode(n *yaml.Node, t reflect.Type, p string) []error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	at := func(format string, args ...any) []error {
		return []error{fmt.Errorf("config line %d: %s: %s", n.Line, p, fmt.Sprintf(format, args...))}
	}
	if t == durationType {
		if n.Kind != yaml.ScalarNode {
			return at("want a duration like 30s, 5m or 1h")
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			return at("%q is not a duration (want e.g. 30s, 5m or 1h)", n.Value)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return at("want a mapping (key: value lines)")
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		var errs []error
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			fp := k.Value
			if p != "" {
				fp = p + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				sort.Strings(names)
				errs = append(errs, fmt.Errorf("config line %d: %s: unknown key (known keys: %s)", k.Line, fp, strings.Join(names, ", ")))
				continue
			}
			if seen[k.Value] {
				errs = append(errs, fmt.Errorf("config line %d: %s: key given twice", k.Line, fp))
				continue
			}
			seen[k.Value] = true
			errs = append(errs, checkNode(v, ft, fp)...)
		}
		return errs
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return at("want a list")
		}
		var errs []error
		for i, e := range n.Content {
			errs = append(errs, checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", p, i))...)
		}
		return errs
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return at("want a mapping (key: value lines)")
		}
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkNode(n.Content[i+1], t.Elem(), p+"."+n.Content[i].Value)...)
		}
		return errs
	}
	if n.Kind != yaml.ScalarNode {
		return at("want a single value, not a %s", kindName(n.Kind))
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		want := "a value of type " + t.String()
		switch t.Kind() {
		case reflect.Bool:
			want = "true or false"
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
			want = "a whole number"
		case reflect.Float64, reflect.Float32:
			want = "a number"
		case reflect.String:
			want = "text"
		}
		return at("%q: want %s", n.Value, want)
	}
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// collectFields maps the YAML keys of struct t (following ",inline"
// embedded structs) to their types.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			collectFields(f.Type, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
}

// UnmarshalYAML decodes the alerting section strictly on top of c (keys not
// given keep their values, so defaults survive), remembering the line of
// every key for Validate.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if errs := checkNode(n, reflect.TypeOf(*c), "alerting"); len(errs) > 0 {
		return errors.Join(errs...)
	}
	type plain Config
	if err := n.Decode((*plain)(c)); err != nil {
		return fmt.Errorf("config line %d: alerting: %w", n.Line, err)
	}
	c.lines = collectLines(n)
	return nil
}

// UnmarshalYAML decodes a rule and remembers its lines.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	if errs := checkNode(n, reflect.TypeOf(*r), "rule"); len(errs) > 0 {
		return errors.Join(errs...)
	}
	type plain Rule
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.lines = collectLines(n)
	return nil
}

// UnmarshalYAML decodes a receiver and remembers its lines.
func (r *Receiver) UnmarshalYAML(n *yaml.Node) error {
	if errs := checkNode(n, reflect.TypeOf(*r), "receiver"); len(errs) > 0 {
		return errors.Join(errs...)
	}
	type plain Receiver
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.lines = collectLines(n)
	return nil
}

// ValidateNode decodes an alerting section (the value node of the
// "alerting" key) on top of the defaults and validates it, with every
// message naming its line.
func ValidateNode(n *yaml.Node) error {
	c := NewDefaultConfig()
	if err := n.Decode(&c); err != nil {
		return err
	}
	return c.Validate()
}

// LoadYAML reads the "alerting" section of a tracehound configuration file
// (other sections are ignored), on top of the defaults, and validates it.
// A file without the section yields the defaults.
func LoadYAML(r io.Reader) (Config, error) {
	c := NewDefaultConfig()
	b, err := io.ReadAll(r)
	if err != nil {
		return c, err
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root := doc.Content[0]
		if root.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(root.Content); i += 2 {
				if root.Content[i].Value == "alerting" {
					if err := root.Content[i+1].Decode(&c); err != nil {
						return c, err
					}
				}
			}
		}
	}
	return c, c.Validate()
}
