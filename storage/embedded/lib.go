// Package embedded runs ClickHouse from libchdb.so as a supervised child
// process bound to loopback. It is the default storage backend when no
// ClickHouse DSN is configured.
//
// The parent (Server) generates a config, starts `<this binary>
// clickhouse-embedded …` with the read end of a "lifeline" pipe, waits until
// ClickHouse answers, and restarts it if it crashes. Closing the pipe (or the
// parent dying, which closes it too) makes ClickHouse shut down cleanly, so
// no orphan survives the collector.
package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LibEnvVar overrides where libchdb.so is looked for.
const LibEnvVar = "TRACEHOUND_CHDB_LIB"

// ErrLibraryNotFound is returned by FindLibrary when libchdb.so is nowhere to
// be found.
var ErrLibraryNotFound = errors.New("libchdb.so not found")

// LibraryCandidates lists, in order, where FindLibrary looks: $TRACEHOUND_CHDB_LIB,
// then lib/libchdb.so next to the binary's directory (bin/../lib, where
// `make` puts it), the binary's own directory, and /usr/local/lib/tracehound.
func LibraryCandidates() []string {
	var c []string
	if p := os.Getenv(LibEnvVar); p != "" {
		return []string{p}
	}
	if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dir := filepath.Dir(exe)
		c = append(c, filepath.Join(dir, "..", "lib", "libchdb.so"), filepath.Join(dir, "libchdb.so"))
	}
	return append(c, "/usr/local/lib/tracehound/libchdb.so")
}

// FindLibrary returns the path of libchdb.so, or an error that says where it
// looked and how to fetch it.
func FindLibrary() (string, error) {
	cands := LibraryCandidates()
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("%w (looked in %s): run `make chdb` in the tracehound checkout to fetch it, "+
		"set %s to its path, or pass --clickhouse-dsn to use an existing ClickHouse server",
		ErrLibraryNotFound, strings.Join(cands, ", "), LibEnvVar)
}
