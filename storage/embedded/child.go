package embedded

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ChildArgs are the arguments of the hidden `tracehound clickhouse-embedded`
// subcommand, which runs ClickHouse from libchdb.so in its own process.
type ChildArgs struct {
	LibPath    string // path of libchdb.so
	ConfigFile string // generated ClickHouse XML config
	DataPath   string // ClickHouse --path
	TCPPort    int
	HTTPPort   int
	// PipeFD is an inherited file descriptor: the read end of a pipe whose
	// write end the supervisor holds. ClickHouse serves until it reads EOF.
	PipeFD int
}

// RunChild starts ClickHouse in the current process and blocks until the
// supervisor closes the lifeline pipe (or the parent dies). It is meant to be
// the whole body of a dedicated child process: the library can only run one
// server per process.
func RunChild(a ChildArgs) error {
	if a.LibPath == "" || a.DataPath == "" || a.ConfigFile == "" || a.TCPPort == 0 || a.HTTPPort == 0 || a.PipeFD < 3 {
		return errors.New("clickhouse-embedded: --lib, --path, --config, --tcp-port, --http-port and --pipe-fd are required")
	}
	saved := saveSignalHandlers()
	lib, err := purego.Dlopen(a.LibPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("loading %s: %w", a.LibPath, err)
	}
	var (
		setSignalHandlers func(int32)
		queryCmdline      func(int32, **byte) uintptr
		resultError       func(uintptr) *byte
	)
	purego.RegisterLibFunc(&setSignalHandlers, lib, "chdb_set_signal_handlers_enabled")
	purego.RegisterLibFunc(&queryCmdline, lib, "chdb_query_cmdline")
	purego.RegisterLibFunc(&resultError, lib, "chdb_result_error")
	setSignalHandlers(0)

	query := "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
		"SELECT count() FROM file('/proc/self/fd/" + strconv.Itoa(a.PipeFD) + "', 'LineAsString') FORMAT Null"
	args := []string{
		"clickhouse",
		"--config-file=" + a.ConfigFile,
		"--path=" + a.DataPath,
		"--listen_host=127.0.0.1",
		"--tcp_port=" + strconv.Itoa(a.TCPPort),
		"--http_port=" + strconv.Itoa(a.HTTPPort),
		"--poll_interval=1",
		"--query=" + query,
	}
	cargs := make([]*byte, len(args)+1)
	for i, s := range args {
		b := append([]byte(s), 0)
		cargs[i] = &b[0]
	}

	// Once ClickHouse listens, put back any Go runtime signal handler the
	// library replaced, so a Go panic in this process still reports normally.
	go func() {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.TCPPort))
		for range 600 {
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				restoreSignalHandlers(saved)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	res := queryCmdline(int32(len(args)), &cargs[0])
	if res == 0 {
		return errors.New("clickhouse exited without a result")
	}
	if e := resultError(res); e != nil {
		if msg := cString(e); msg != "" {
			return fmt.Errorf("clickhouse: %s", msg)
		}
	}
	return nil
}

func cString(p *byte) string {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// kernelSigaction mirrors struct sigaction as the rt_sigaction syscall sees it
// on linux/amd64.
type kernelSigaction struct {
	handler, flags, restorer, mask uint64
}

// goCriticalSignals are the signals whose handlers the Go runtime needs.
var goCriticalSignals = []syscall.Signal{
	syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGURG,
	syscall.SIGPIPE, syscall.SIGCHLD, syscall.SIGPROF, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
}

func saveSignalHandlers() map[syscall.Signal]kernelSigaction {
	saved := make(map[syscall.Signal]kernelSigaction, len(goCriticalSignals))
	for _, s := range goCriticalSignals {
		var sa kernelSigaction
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), 0, uintptr(unsafe.Pointer(&sa)), 8, 0, 0); errno == 0 {
			saved[s] = sa
		}
	}
	return saved
}

func restoreSignalHandlers(saved map[syscall.Signal]kernelSigaction) {
	for s, sa := range saved {
		var cur kernelSigaction
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), 0, uintptr(unsafe.Pointer(&cur)), 8, 0, 0)
		if cur != sa {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
		}
	}
}

// ChildArgsFromFlags parses the hidden subcommand's arguments.
func ChildArgsFromFlags(args []string) (ChildArgs, error) {
	var a ChildArgs
	for i := 0; i < len(args); i++ {
		name := args[i]
		if i+1 >= len(args) {
			return a, fmt.Errorf("clickhouse-embedded: flag %s needs a value", name)
		}
		val := args[i+1]
		i++
		var err error
		switch name {
		case "--lib":
			a.LibPath = val
		case "--config":
			a.ConfigFile = val
		case "--path":
			a.DataPath = val
		case "--tcp-port":
			a.TCPPort, err = strconv.Atoi(val)
		case "--http-port":
			a.HTTPPort, err = strconv.Atoi(val)
		case "--pipe-fd":
			a.PipeFD, err = strconv.Atoi(val)
		default:
			return a, fmt.Errorf("clickhouse-embedded: unknown flag %s", name)
		}
		if err != nil {
			return a, fmt.Errorf("clickhouse-embedded: %s: %w", name, err)
		}
	}
	if _, err := os.Stat(a.LibPath); err != nil {
		return a, fmt.Errorf("clickhouse-embedded: %w", err)
	}
	return a, nil
}
