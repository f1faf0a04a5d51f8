package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// cluster starts a one-broker kfake cluster seeded with topics of the given
// partition count and returns its bootstrap address.
func cluster(t *testing.T, partitions int32, topics ...string) string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// deadAddr returns an address nothing listens on: a port we just closed.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs a command in-process with a bounded context.
func run(t *testing.T, f Func, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := f(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// want checks the exit code and exact stdout.
func (r result) want(t *testing.T, code int, stdout string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Fatalf("exit %d, want %d\nstdout:\n%q\nwant:\n%q\nstderr:\n%s", r.code, code, r.stdout, stdout, r.stderr)
	}
}

// wantErr checks a failure: the exit code and a single stderr line that
// starts with prefix and contains every part.
func (r result) wantErr(t *testing.T, code int, prefix string, parts ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	ok := r.code == code && len(lines) == 1 && strings.HasPrefix(lines[0], prefix)
	for _, p := range parts {
		ok = ok && strings.Contains(lines[0], p)
	}
	if !ok {
		t.Fatalf("exit %d, want %d; stderr want one line %q... containing %q, got:\n%s(stdout %q)", r.code, code, prefix, parts, r.stderr, r.stdout)
	}
}

// signalWriter is a concurrency-safe buffer that reports each write, so a
// test can wait for output without polling.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newSignalWriter() *signalWriter { return &signalWriter{wrote: make(chan struct{}, 1)} }

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor blocks until the output contains s or the deadline passes.
func (w *signalWriter) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(w.String(), s) {
		select {
		case <-w.wrote:
		case <-deadline:
			t.Fatalf("timed out waiting for %q; have %q", s, w.String())
		}
	}
}
