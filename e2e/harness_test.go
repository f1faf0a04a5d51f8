package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// weirBin is the weir binary TestMain builds. It is written once before any
// test runs and only read afterwards.
var weirBin string

// pythonBin is Debian's interpreter, which has python3-kafka and
// python3-confluent-kafka; a python3 earlier on PATH (pyenv) may not.
const pythonBin = "/usr/bin/python3"

const (
	buildTimeout   = 5 * time.Minute
	startTimeout   = 15 * time.Second // process start to port answering
	stopTimeout    = 15 * time.Second // SIGTERM to exit
	commandTimeout = 60 * time.Second // any one CLI or client run
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "weir-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildWeir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building weir:", err)
		return 1
	}
	weirBin = bin
	return m.Run()
}

// buildWeir builds ./cmd/weir from the module root into dir.
func buildWeir(dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	bin := filepath.Join(dir, "weir")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/weir")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
}

// requireE2E reports whether a missing client is a failure (CI) rather than
// a reason to skip.
func requireE2E() bool { return os.Getenv("WEIR_E2E_REQUIRE") == "1" }

func missingTool(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (install with `make deps`)"
	if requireE2E() {
		t.Fatalf("WEIR_E2E_REQUIRE=1 and %s", msg)
	}
	t.Skipf("skipping: %s; set WEIR_E2E_REQUIRE=1 to make this a failure", msg)
}

// needKcat returns kcat's path or skips (fails under WEIR_E2E_REQUIRE=1).
func needKcat(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missingTool(t, "kcat is not installed")
	return ""
}

// needPython checks that /usr/bin/python3 can import module.
func needPython(t *testing.T, module string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, pythonBin, "-c", "import "+module).CombinedOutput()
	if err != nil {
		missingTool(t, "%s cannot import %s: %v: %s", pythonBin, module, err, bytes.TrimSpace(out))
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writer goroutine and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one `weir serve` data dir and address, run as successive
// processes (incarnations) by start, stop and kill.
type server struct {
	t       *testing.T
	addr    string   // 127.0.0.1:port, kept across restarts
	dataDir string   // kept across restarts
	extra   []string // more serve flags (--config, --node-id)

	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error         // set before exited is closed

	incarnations []*syncBuffer // every incarnation's stderr, for the failure log
}

// startServer starts a broker on a fresh data dir and a free port and
// registers its cleanup: kill if still running, and its stderr in the test
// log if the test failed.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := newServer(t, t.TempDir(), extra...)
	s.start()
	return s
}

// newServer prepares a broker on dataDir without starting it.
func newServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, extra: extra}
	t.Cleanup(func() {
		if s.running() {
			s.kill()
		}
		if t.Failed() {
			for i, b := range s.incarnations {
				t.Logf("weir serve (%s) incarnation %d stderr:\n%s", s.addr, i+1, b.String())
			}
		}
	})
	return s
}

func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before weir binds it; start retries with a new port when that happens.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs a new incarnation and waits until its port answers. The first
// start picks a free port; later ones reuse it, as a restarted broker would.
func (s *server) start() {
	s.t.Helper()
	pickPort := s.addr == ""
	for attempt := 1; ; attempt++ {
		if pickPort {
			s.addr = freePort(s.t)
		}
		err := s.tryStart()
		if err == nil {
			return
		}
		if pickPort && attempt < 5 && strings.Contains(s.stderr.String(), "address already in use") {
			continue
		}
		s.t.Fatalf("weir serve on %s: %v\nstderr:\n%s", s.addr, err, s.stderr.String())
	}
}

func (s *server) tryStart() error {
	if s.running() {
		return errors.New("already running")
	}
	args := append([]string{"serve", "--listen", s.addr, "--data-dir", s.dataDir}, s.extra...)
	cmd := exec.Command(weirBin, args...)
	s.stderr = &syncBuffer{}
	s.incarnations = append(s.incarnations, s.stderr)
	cmd.Stdout = s.stderr
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)

	// Poll-dial until the port answers, the process dies or time is up.
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("exited before serving: %v", s.waitErr)
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			if s.alone() {
				// A single broker leads its partitions once the
				// controller (itself) has registered it again; wait
				// for that, as a user waits for "serving".
				return s.waitLogLine(readyLine, deadline)
			}
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("port did not answer within %v: %v", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readyLine is what weir serve logs once the controller has registered
// the broker and it leads its partitions.
const readyLine = "weir broker serving"

// alone reports whether the server is a cluster of one, which can get
// ready on its own; a member of a larger quorum needs its peers.
func (s *server) alone() bool {
	for _, a := range s.extra {
		if a == "--controller-quorum" || a == "--cluster" {
			return false
		}
	}
	return true
}

// waitLogLine waits until this incarnation's stderr has line, it exits, or
// the deadline passes.
func (s *server) waitLogLine(line string, deadline time.Time) error {
	for !strings.Contains(s.stderr.String(), line) {
		select {
		case <-s.exited:
			return fmt.Errorf("exited before %q: %v", line, s.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("no %q within %v", line, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop() int {
	s.t.Helper()
	return s.stopWith(syscall.SIGTERM)
}

// stopWith sends sig and returns the exit code (-1 if a signal ended the
// process); a broker that does not exit within stopTimeout is killed and the
// test fails.
func (s *server) stopWith(sig syscall.Signal) int {
	s.t.Helper()
	if !s.running() {
		s.t.Fatal("stop: broker is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("%v: %v", sig, err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.kill()
		s.t.Fatalf("weir serve did not exit within %v of %v", stopTimeout, sig)
	}
	return s.cmd.ProcessState.ExitCode()
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.t.Helper()
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.t.Errorf("weir serve pid %d still running %v after SIGKILL", s.cmd.Process.Pid, stopTimeout)
	}
}

// result is what a finished command printed and returned.
type result struct {
	code   int
	stdout string
	stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a program to completion with stdin, bounded by commandTimeout. A
// program that cannot start, or is killed by the timeout, fails the test.
func run(t *testing.T, stdin string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: killed after %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), commandTimeout, r.stdout, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// weir runs the weir CLI.
func weir(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return run(t, stdin, nil, weirBin, args...)
}

// mustWeir runs the weir CLI and fails the test unless it exits 0.
func mustWeir(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := weir(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("weir %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	t.Cleanup(cancel)
	return ctx
}

// client is a franz-go client of s, closed at the end of the test.
func (s *server) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (s *server) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(s.client(t))
}

func (s *server) createTopic(t *testing.T, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := s.admin(t).CreateTopic(testCtx(t), partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("creating topic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
}

// listSettled lists topic's offsets with list until no partition answers
// a retriable error: a leader elected a moment ago answers
// OFFSET_NOT_AVAILABLE until its high watermark reaches its epoch's start
// (KIP-207), and a partition between leaders NOT_LEADER_OR_FOLLOWER.
func (s *server) listSettled(t *testing.T, topic string, list func(context.Context, ...string) (kadm.ListedOffsets, error)) kadm.ListedOffsets {
	t.Helper()
	ctx := testCtx(t)
	var listed kadm.ListedOffsets
	var last error
	eventually(t, "offsets of "+topic+" without a retriable error", func() bool {
		var err error
		if listed, err = list(ctx, topic); err != nil {
			t.Fatalf("listing offsets of %s: %v", topic, err)
		}
		last = nil
		listed.Each(func(o kadm.ListedOffset) {
			if o.Err != nil && last == nil {
				last = o.Err
			}
		})
		return last == nil || !kerr.IsRetriable(last)
	})
	if last != nil {
		t.Fatalf("offsets of %s: %v", topic, last)
	}
	return listed
}

// readAll reads every partition of topic from its start offset to its end
// offset, as of when it is called, with a franz-go client; records come back
// per partition in offset order. Topics here are neither compacted nor
// transactional, so offsets must be dense: a gap fails the test.
func (s *server) readAll(t *testing.T, topic string) map[int32][]*kgo.Record {
	t.Helper()
	ctx := testCtx(t)
	ends := s.listSettled(t, topic, s.admin(t).ListEndOffsets)
	starts := s.listSettled(t, topic, s.admin(t).ListStartOffsets)
	want := map[int32]int64{}  // end offsets
	first := map[int32]int64{} // start offsets
	offsets := map[int32]kgo.Offset{}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, o.Partition, o.Err)
		}
		start, _ := starts.Lookup(topic, o.Partition)
		want[o.Partition] = o.Offset
		first[o.Partition] = start.Offset
		offsets[o.Partition] = kgo.NewOffset().At(start.Offset)
		remaining += int(o.Offset - start.Offset)
	})
	out := map[int32][]*kgo.Record{}
	for p := range want {
		out[p] = nil
	}
	if remaining == 0 {
		return out
	}
	cl := s.client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	for remaining > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %d records still missing when the context ended: %v", topic, remaining, ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) {
			t.Fatalf("fetching %s/%d: %v", tp, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= want[r.Partition] {
				return
			}
			next := first[r.Partition]
			if n := len(out[r.Partition]); n > 0 {
				next = out[r.Partition][n-1].Offset + 1
			}
			if r.Offset != next {
				t.Fatalf("reading %s/%d: got offset %d where %d was due: offsets are not dense", topic, r.Partition, r.Offset, next)
			}
			out[r.Partition] = append(out[r.Partition], r)
			remaining--
		})
	}
	cl.Close()
	return out
}
