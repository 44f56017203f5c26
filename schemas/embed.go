// Package schemas holds tracehound's ClickHouse DDL as ordered migrations,
// one statement per file, named NNNN_description.sql. Files are Go
// text/templates: {{.Database}} is the (validated) database name and
// {{.TTLSeconds}} the retention in seconds. Every statement must be
// idempotent (IF NOT EXISTS), because several collectors may start at once.
package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Migration is one DDL statement with its version.
type Migration struct {
	Version  int
	Name     string // file name without the .sql suffix
	Template string
}

// Migrations returns every migration in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("reading embedded schemas: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("schema file %s: name must be NNNN_description.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("schema files %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading schema %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: name, Template: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
