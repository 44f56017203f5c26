package sut

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/bench/internal/procstat"
)

// embeddedChildArg is the hidden subcommand of the tracehound binary that
// runs the embedded ClickHouse as a child process.
const embeddedChildArg = "clickhouse-embedded"

// findEmbeddedClickHouse finds the `tracehound clickhouse-embedded` child of
// parent (a `tracehound serve` or `tracehound clickhouse`) and its HTTP port.
func findEmbeddedClickHouse(parentName string, parent int) (pid, port int, err error) {
	kids, err := procstat.Children(parent)
	if err != nil {
		return 0, 0, fmt.Errorf("listing the children of %s (pid %d): %w", parentName, parent, err)
	}
	for _, k := range kids {
		args, err := procstat.Cmdline(k)
		if err != nil || len(args) < 2 || args[1] != embeddedChildArg {
			continue
		}
		for i := 2; i+1 < len(args); i++ {
			if args[i] == "--http-port" {
				p, err := strconv.Atoi(args[i+1])
				if err != nil {
					return 0, 0, fmt.Errorf("clickhouse child %d: bad --http-port %q", k, args[i+1])
				}
				return k, p, nil
			}
		}
		return 0, 0, fmt.Errorf("clickhouse child %d has no --http-port: %q", k, args)
	}
	return 0, 0, fmt.Errorf("no %s child of %s (pid %d) found; children: %v", embeddedChildArg, parentName, parent, kids)
}

// alive reports whether pid is a live process that is still the ClickHouse
// child (not a zombie, not a reused pid).
func alive(pid int) bool {
	args, err := procstat.Cmdline(pid)
	return err == nil && len(args) >= 2 && args[1] == embeddedChildArg
}

// proc is a started child process whose output goes to a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	exited  chan struct{}
}

// startProc starts bin with args, its output appended to logPath. If the
// driver dies, the process gets SIGTERM (and shuts down in order).
func startProc(name, bin string, args, env []string, logPath string) (*proc, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s binary: %w", name, err)
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, log: f, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// hasExited reports whether the process has exited.
func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// logTail is the last n lines of the process's output.
func (p *proc) logTail(n int) string {
	return tailLines(p.logText(), n)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop sends SIGTERM and waits up to timeout for the exit, then kills.
// Killing the process (timeout or ctx) is reported, as is a non-zero exit.
func (p *proc) stop(done <-chan struct{}, timeout time.Duration) StopResult {
	defer p.log.Close()
	if p.hasExited() {
		return StopResult{ExitCode: p.cmd.ProcessState.ExitCode(), Error: "exited before the stop request: " + p.cmd.ProcessState.String()}
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return StopResult{ExitCode: -1, Error: fmt.Sprintf("SIGTERM to %s: %v", p.name, err)}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var res StopResult
	select {
	case <-p.exited:
		res.ExitCode = p.cmd.ProcessState.ExitCode()
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		res = StopResult{ExitCode: -1, Killed: true, Error: fmt.Sprintf("%s did not exit within %v of SIGTERM; killed", p.name, timeout)}
	case <-done:
		_ = p.cmd.Process.Kill()
		<-p.exited
		res = StopResult{ExitCode: -1, Killed: true, Error: "interrupted; killed"}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.ExitCode != 0 && res.Error == "" {
		res.Error = p.name + " exit status: " + p.cmd.ProcessState.String()
	}
	return res
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
