package simnet_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/sim/simnet"
)

func newNet(t *testing.T, opts simnet.Options) *simnet.Network {
	t.Helper()
	if opts.LatencyMax == 0 {
		opts.LatencyMin, opts.LatencyMax = 100*time.Microsecond, time.Millisecond
	}
	return simnet.New(rand.New(rand.NewPCG(1, 2)), opts)
}

// serveEcho accepts on host's :port and echoes every connection until the
// listener closes. It returns when the listener is open.
func serveEcho(t *testing.T, h env.Net, addr string) net.Listener {
	t.Helper()
	ln, err := h.Listen(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, h env.Net, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEcho(t *testing.T) {
	n := newNet(t, simnet.Options{})
	ln := serveEcho(t, n.Host("s"), ":7")
	if got := ln.Addr().String(); got != "s:7" {
		t.Fatalf("listener addr = %q, want s:7", got)
	}
	c := dial(t, n.Host("c"), "s:7")
	if c.RemoteAddr().String() != "s:7" || !strings.HasPrefix(c.LocalAddr().String(), "c:") {
		t.Fatalf("addrs local=%v remote=%v", c.LocalAddr(), c.RemoteAddr())
	}
	msg := []byte("hello, simulated world")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func TestCloseDeliversDataThenEOF(t *testing.T) {
	n := newNet(t, simnet.Options{})
	ln, err := n.Host("s").Listen(context.Background(), "s:1")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, n.Host("c"), "s:1")
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("last words"))
	c.Close()
	got, err := io.ReadAll(sc)
	if err != nil || string(got) != "last words" {
		t.Fatalf("ReadAll = %q, %v; want the bytes, then EOF", got, err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v, want net.ErrClosed", err)
	}
	if _, err := sc.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write to a closed peer: %v, want ECONNRESET", err)
	}
}

// TestOrderingUnderJitter: jitter far above the latency must not reorder a
// stream, nor lose or duplicate bytes.
func TestOrderingUnderJitter(t *testing.T) {
	n := newNet(t, simnet.Options{LatencyMin: 0, LatencyMax: 200 * time.Microsecond, Jitter: 2 * time.Millisecond, BufferBytes: 512})
	ln, err := n.Host("s").Listen(context.Background(), ":9")
	if err != nil {
		t.Fatal(err)
	}
	const count = 3000
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		var buf [4]byte
		for i := range uint32(count) {
			if _, err := io.ReadFull(c, buf[:]); err != nil {
				done <- err
				return
			}
			if got := binary.BigEndian.Uint32(buf[:]); got != i {
				done <- fmt.Errorf("read %d at position %d", got, i)
				return
			}
		}
		if _, err := c.Read(buf[:]); err != io.EOF {
			done <- fmt.Errorf("after the last record: %v, want EOF", err)
			return
		}
		done <- nil
	}()
	c := dial(t, n.Host("c"), "s:9")
	for i := range uint32(count) {
		var buf [4]byte
		binary.BigEndian.PutUint32(buf[:], i)
		if _, err := c.Write(buf[:]); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestManyConnections: concurrent streams through small buffers (so writers
// block on backpressure) each come back intact.
func TestManyConnections(t *testing.T) {
	n := newNet(t, simnet.Options{Jitter: 200 * time.Microsecond, BufferBytes: 4096})
	serveEcho(t, n.Host("s"), ":7")
	const conns, size = 40, 64 << 10
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := n.Host(fmt.Sprintf("c%d", i%5)).Dial(ctx, "tcp", "s:7")
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i)}, size)
			for j := range msg {
				msg[j] += byte(j)
			}
			go c.Write(msg)
			got := make([]byte, size)
			if _, err := io.ReadFull(c, got); err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: echoed bytes differ", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

func TestDeadlines(t *testing.T) {
	n := newNet(t, simnet.Options{BufferBytes: 100})
	ln, err := n.Host("s").Listen(context.Background(), ":1")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, n.Host("c"), "s:1")
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	// A read with nothing to read times out at the deadline, not before.
	start := time.Now()
	c.SetReadDeadline(start.Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 10)); !isTimeout(err) {
		t.Fatalf("read: %v, want a timeout", err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Fatalf("read timed out after %v, before its deadline", el)
	}
	// Clearing the deadline makes reads work again.
	c.SetReadDeadline(time.Time{})
	sc.Write([]byte("ok"))
	if b := make([]byte, 2); func() error { _, err := io.ReadFull(c, b); return err }() != nil {
		t.Fatal("read after clearing the deadline failed")
	}

	// A write into a full buffer that no one drains times out, reporting
	// what was queued.
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	nw, err := c.Write(make([]byte, 300))
	if !isTimeout(err) || nw != 100 {
		t.Fatalf("write = %d, %v; want 100 bytes and a timeout", nw, err)
	}

	// Moving the deadline into the past wakes a blocked read.
	res := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 1000))
		_, err = sc.Read(make([]byte, 1000))
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	sc.SetReadDeadline(time.Now().Add(-time.Second))
	select {
	case err := <-res:
		if !isTimeout(err) {
			t.Fatalf("blocked read: %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline in the past did not wake a blocked read")
	}
}

func TestDialErrors(t *testing.T) {
	n := newNet(t, simnet.Options{})
	n.Host("s")
	ctx := context.Background()
	var dnsErr *net.DNSError
	if _, err := n.Host("c").Dial(ctx, "tcp", "nowhere:1"); !errors.As(err, &dnsErr) {
		t.Fatalf("dial unknown host: %v, want a DNS error", err)
	}
	if _, err := n.Host("c").Dial(ctx, "tcp", "s:1"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial with no listener: %v, want ECONNREFUSED", err)
	}
	if _, err := n.Host("c").Listen(ctx, "s:1"); err == nil {
		t.Fatal("c listened on s's address")
	}
	if _, err := n.Host("s").Listen(ctx, ":1"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Host("s").Listen(ctx, ":1"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listen on a port: %v, want EADDRINUSE", err)
	}
}

// expectReset reads from c until an error and requires ECONNRESET.
func expectReset(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%s: read got %v, want ECONNRESET", what, err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("%s: write got %v, want ECONNRESET", what, err)
	}
}

func canDial(n *simnet.Network, from, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := n.Host(from).Dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// Prove the connection carries bytes both ways.
	if _, err := c.Write([]byte("p")); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadFull(c, make([]byte, 1))
	return err
}

func TestPartitionsResetRefuseAndHeal(t *testing.T) {
	n := newNet(t, simnet.Options{})
	for _, h := range []string{"a", "b", "c"} {
		serveEcho(t, n.Host(h), ":7")
	}
	n.Host("client")
	ab := dial(t, n.Host("a"), "b:7")
	ac := dial(t, n.Host("a"), "c:7")

	// Majority/minority: [a] | [b c].
	n.Partition([]string{"a"}, []string{"b", "c"})
	expectReset(t, ab, "a->b across the split")
	expectReset(t, ac, "a->c across the split")
	if err := canDial(n, "a", "b:7"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial across the split: %v, want ECONNREFUSED", err)
	}
	if err := canDial(n, "b", "c:7"); err != nil {
		t.Fatalf("dial inside the majority: %v", err)
	}
	if err := canDial(n, "client", "a:7"); err != nil {
		t.Fatalf("a host in no group must reach every side: %v", err)
	}

	// Bridge: b is in both groups.
	n.Partition([]string{"a", "b"}, []string{"b", "c"})
	if err := canDial(n, "a", "b:7"); err != nil {
		t.Fatalf("bridge a->b: %v", err)
	}
	if err := canDial(n, "c", "b:7"); err != nil {
		t.Fatalf("bridge c->b: %v", err)
	}
	if err := canDial(n, "a", "c:7"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("bridge a->c: %v, want refused", err)
	}

	n.Heal()
	if err := canDial(n, "a", "c:7"); err != nil {
		t.Fatalf("after heal: %v", err)
	}

	// Isolation cuts the host off from everyone, clients included.
	cl := dial(t, n.Host("client"), "b:7")
	n.Isolate("b")
	expectReset(t, cl, "client->b after isolate")
	if err := canDial(n, "client", "b:7"); err == nil {
		t.Fatal("dial to an isolated host worked")
	}
	if err := canDial(n, "b", "b:7"); err != nil {
		t.Fatalf("an isolated host must still reach itself: %v", err)
	}
	n.Rejoin("b")
	if err := canDial(n, "client", "b:7"); err != nil {
		t.Fatalf("after rejoin: %v", err)
	}

	// One-way cut: a->c dials fail, c->a dials work, live ones reset.
	ca := dial(t, n.Host("c"), "a:7")
	n.CutOneWay("a", "c")
	expectReset(t, ca, "c->a after cut a->c")
	if err := canDial(n, "a", "c:7"); err == nil {
		t.Fatal("dial a->c through a one-way cut worked")
	}
	if err := canDial(n, "c", "a:7"); err != nil {
		t.Fatalf("dial c->a against a one-way cut a->c: %v", err)
	}
	n.Uncut("a", "c")
	if err := canDial(n, "a", "c:7"); err != nil {
		t.Fatalf("after uncut: %v", err)
	}
}

func TestDialTimeoutWhenUnreachable(t *testing.T) {
	n := newNet(t, simnet.Options{DialTimeout: 30 * time.Millisecond})
	serveEcho(t, n.Host("s"), ":7")
	n.Isolate("s")
	start := time.Now()
	_, err := n.Host("c").Dial(context.Background(), "tcp", "s:7")
	if !isTimeout(err) {
		t.Fatalf("dial: %v, want a timeout", err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("dial gave up after %v, before DialTimeout", el)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := n.Host("c").Dial(ctx, "tcp", "s:7"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial with a shorter context: %v, want the context's error", err)
	}
}

func TestKillHost(t *testing.T) {
	n := newNet(t, simnet.Options{})
	old := n.Host("s")
	ln := serveEcho(t, old, ":7")
	c := dial(t, n.Host("c"), "s:7")
	out := dial(t, old, "s:7") // the old incarnation's own outgoing conn

	n.KillHost("s")
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after kill: %v, want net.ErrClosed", err)
	}
	expectReset(t, c, "client conn to a killed host")
	expectReset(t, out, "the killed host's own conn")
	if err := canDial(n, "c", "s:7"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial a killed host: %v, want ECONNREFUSED", err)
	}
	// The old incarnation is fenced.
	if _, err := old.Listen(context.Background(), ":7"); err == nil {
		t.Fatal("the killed incarnation listened again")
	}
	if _, err := old.Dial(context.Background(), "tcp", "c:1"); err == nil {
		t.Fatal("the killed incarnation dialed")
	}
	// The next incarnation works.
	serveEcho(t, n.Host("s"), ":7")
	if err := canDial(n, "c", "s:7"); err != nil {
		t.Fatalf("dial the new incarnation: %v", err)
	}
}

func TestStallHoldsThenDelivers(t *testing.T) {
	n := newNet(t, simnet.Options{})
	ln, err := n.Host("s").Listen(context.Background(), ":1")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, n.Host("c"), "s:1")
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	n.Stall("s")
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatalf("write to a stalled host must queue: %v", err)
	}
	sc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := sc.Read(make([]byte, 4)); !isTimeout(err) {
		t.Fatalf("read on a stalled host: %v, want a timeout (nothing delivered)", err)
	}
	sc.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(10 * time.Millisecond)
		n.Resume("s")
	}()
	got := make([]byte, 4)
	if _, err := io.ReadFull(sc, got); err != nil || string(got) != "held" {
		t.Fatalf("after resume: %q, %v", got, err)
	}
}

func TestFlakyResets(t *testing.T) {
	n := newNet(t, simnet.Options{})
	serveEcho(t, n.Host("s"), ":7")
	c := dial(t, n.Host("c"), "s:7")
	n.Flaky("s", 1)
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write with p=1: %v, want ECONNRESET", err)
	}
	if err := canDial(n, "c", "s:7"); err == nil {
		t.Fatal("dial with p=1 worked")
	}
	n.Flaky("s", 0)
	if err := canDial(n, "c", "s:7"); err != nil {
		t.Fatalf("after Flaky(s, 0): %v", err)
	}
}

// TestTraceIsAFunctionOfTheSeed: the same operations on two networks with
// the same seed give the same events (latencies included); another seed
// gives other latencies.
func TestTraceIsAFunctionOfTheSeed(t *testing.T) {
	run := func(seed uint64) []string {
		var events []string
		n := simnet.New(rand.New(rand.NewPCG(seed, 0)), simnet.Options{
			LatencyMin: time.Microsecond, LatencyMax: 300 * time.Microsecond,
			Trace: func(_ time.Duration, ev string) { events = append(events, ev) },
		})
		ln, err := n.Host("s").Listen(context.Background(), ":7")
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"a", "b", "c"} {
			c, err := n.Host(h).Dial(context.Background(), "tcp", "s:7")
			if err != nil {
				t.Fatal(err)
			}
			sc, _ := ln.Accept()
			c.Close()
			sc.Close()
		}
		n.Partition([]string{"a"}, []string{"s"})
		n.KillHost("s")
		n.Heal()
		return events
	}
	a, b, c := run(7), run(7), run(8)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("same seed, different traces:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Fatal("different seeds gave the same latencies")
	}
	for _, want := range []string{"connect conn 1 a:49152->s:7", "fault partition [a] [s]", "kill host s", "close listener s:7", "heal all"} {
		if !strings.Contains(strings.Join(a, "\n"), want) {
			t.Errorf("trace lacks %q:\n%s", want, strings.Join(a, "\n"))
		}
	}
}

// TestHoldNextWrite: the matching write and what follows it on its
// connection (the close included) arrive late, while a new connection
// between the same hosts flows at once; writes that do not match, and
// writes after the arm fired, are not held.
func TestHoldNextWrite(t *testing.T) {
	n := newNet(t, simnet.Options{})
	ln, err := n.Host("s").Listen(context.Background(), "s:1")
	if err != nil {
		t.Fatal(err)
	}
	c1 := dial(t, n.Host("c"), "s:1")
	s1, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	const hold = 200 * time.Millisecond
	n.HoldNextWrite("c", func(b []byte) bool { return bytes.HasPrefix(b, []byte("END")) }, hold, "END")
	c1.Write([]byte("ok;"))
	got := make([]byte, 3)
	if _, err := io.ReadFull(s1, got); err != nil || string(got) != "ok;" {
		t.Fatalf("a write that does not match: %q, %v", got, err)
	}
	start := time.Now()
	c1.Write([]byte("END1"))
	c1.Close() // the sender gives up on the connection
	c2 := dial(t, n.Host("c"), "s:1")
	s2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c2.Write([]byte("END2")) // the arm fired: not held
	if _, err := io.ReadFull(s2, got[:3]); err != nil || time.Since(start) >= hold {
		t.Fatalf("the new connection waited: %v after %v", err, time.Since(start))
	}
	rest, err := io.ReadAll(s1)
	if err != nil || string(rest) != "END1" || time.Since(start) < hold {
		t.Fatalf("held write: %q, %v after %v; want END1 then EOF after %v", rest, err, time.Since(start), hold)
	}
	if n.CancelHold("c") {
		t.Error("CancelHold: still armed after it fired")
	}
	n.HoldNextWrite("c", func([]byte) bool { return true }, hold, "any")
	if !n.CancelHold("c") {
		t.Error("CancelHold: not armed")
	}
}
