package simnet

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// connection is one simulated TCP connection: two pipes and two endpoints.
type connection struct {
	id               uint64
	dialer, listener Addr
	ab, ba           *pipe // dialer->listener, listener->dialer
	ea, eb           *Conn // the dialer's end, the listener's end
}

func (n *Network) newConnLocked(dialer, listener Addr) *connection {
	n.nextConn++
	stalled := n.stalled[dialer.Host] || n.stalled[listener.Host]
	c := &connection{id: n.nextConn, dialer: dialer, listener: listener}
	c.ab = newPipe(n, dialer.Host, listener.Host, stalled)
	c.ba = newPipe(n, listener.Host, dialer.Host, stalled)
	c.ea = &Conn{n: n, conn: c, local: dialer, remote: listener, in: c.ba, out: c.ab}
	c.eb = &Conn{n: n, conn: c, local: listener, remote: dialer, in: c.ab, out: c.ba}
	n.conns[c.id] = c
	return c
}

// chunk is the bytes of one Write (or part of one), deliverable from due on.
// A chunk with eof set and no data is the writer's close.
type chunk struct {
	data []byte
	due  time.Time
	eof  bool
}

// pipe is one direction of a connection. The writer's end sets wdeadline and
// writerClosed; the reader's end sets rdeadline and readerClosed.
type pipe struct {
	n        *Network
	from, to string
	latency  time.Duration

	mu           sync.Mutex
	chunks       []chunk
	bytes        int // data bytes in chunks
	lastDue      time.Time
	stalled      bool
	wasReset     bool // the connection was reset: both ends fail
	writerClosed bool
	readerClosed bool
	rdeadline    time.Time
	wdeadline    time.Time
	// notify is closed and replaced on every change, waking every waiter.
	notify chan struct{}
}

func newPipe(n *Network, from, to string, stalled bool) *pipe {
	return &pipe{n: n, from: from, to: to, latency: n.latencyLocked(from, to), stalled: stalled, notify: make(chan struct{})}
}

func (p *pipe) wakeLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

func (p *pipe) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wasReset = true
	p.chunks, p.bytes = nil, 0
	p.wakeLocked()
}

func (p *pipe) setStalled(s bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled != s {
		p.stalled = s
		p.wakeLocked()
	}
}

// wait blocks until ch is closed or, if d >= 0, until d has passed.
func (p *pipe) wait(ch <-chan struct{}, d time.Duration) {
	if d < 0 {
		<-ch
		return
	}
	t := p.n.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C():
	}
}

// until returns how long from now until t, at least 1ns so a timer is armed.
func until(t, now time.Time) time.Duration { return max(t.Sub(now), time.Nanosecond) }

// Conn is one end of a simulated connection; it implements net.Conn.
type Conn struct {
	n             *Network
	conn          *connection
	local, remote Addr
	in, out       *pipe
	closeOnce     sync.Once
}

var _ net.Conn = (*Conn)(nil)

func (c *Conn) LocalAddr() net.Addr  { return c.local }
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

var errReset = syscall.ECONNRESET

// Read reads bytes that have arrived: written by the peer and past their due
// time. It returns io.EOF once the peer closed and everything before the
// close was read.
func (c *Conn) Read(b []byte) (int, error) {
	p := c.in
	for {
		p.mu.Lock()
		switch {
		case p.readerClosed:
			p.mu.Unlock()
			return 0, opErr("read", c.local, c.remote, net.ErrClosed)
		case p.wasReset:
			p.mu.Unlock()
			return 0, opErr("read", c.local, c.remote, sysErr("read", errReset))
		}
		now := p.n.clock.Now()
		if !p.rdeadline.IsZero() && !now.Before(p.rdeadline) {
			p.mu.Unlock()
			return 0, opErr("read", c.local, c.remote, os.ErrDeadlineExceeded)
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		if len(p.chunks) > 0 && !p.stalled && !p.chunks[0].due.After(now) {
			if p.chunks[0].eof {
				p.mu.Unlock()
				return 0, io.EOF
			}
			n := 0
			for n < len(b) && len(p.chunks) > 0 && !p.chunks[0].eof && !p.chunks[0].due.After(now) {
				k := copy(b[n:], p.chunks[0].data)
				n += k
				if k == len(p.chunks[0].data) {
					p.chunks[0] = chunk{}
					p.chunks = p.chunks[1:]
				} else {
					p.chunks[0].data = p.chunks[0].data[k:]
				}
			}
			p.bytes -= n
			p.wakeLocked() // room for the writer
			p.mu.Unlock()
			return n, nil
		}
		d := time.Duration(-1)
		if len(p.chunks) > 0 && !p.stalled {
			d = until(p.chunks[0].due, now)
		}
		if !p.rdeadline.IsZero() {
			if dd := until(p.rdeadline, now); d < 0 || dd < d {
				d = dd
			}
		}
		ch := p.notify
		p.mu.Unlock()
		p.wait(ch, d)
	}
}

// Write queues b for delivery, blocking while the direction's buffer is
// full. It returns len(b) and nil, or how much was queued and why not more.
func (c *Conn) Write(b []byte) (int, error) {
	n := c.n
	p := c.out
	n.mu.Lock()
	if _, live := n.conns[c.conn.id]; live && n.flakyLocked(c.local.Host, c.remote.Host) {
		n.resetLocked(c.conn, "flaky")
	}
	jitter := n.jitterLocked()
	// A late delivery (HoldNextWrite) holds this write: its chunks are due
	// later, and the chunks after them are never due before them.
	jitter += n.holdLocked(c, b)
	n.mu.Unlock()

	written := 0
	for {
		p.mu.Lock()
		switch {
		case p.writerClosed:
			p.mu.Unlock()
			return written, opErr("write", c.local, c.remote, net.ErrClosed)
		case p.wasReset, p.readerClosed:
			p.mu.Unlock()
			return written, opErr("write", c.local, c.remote, sysErr("write", errReset))
		}
		now := n.clock.Now()
		if !p.wdeadline.IsZero() && !now.Before(p.wdeadline) {
			p.mu.Unlock()
			return written, opErr("write", c.local, c.remote, os.ErrDeadlineExceeded)
		}
		if written == len(b) {
			p.mu.Unlock()
			break
		}
		if room := n.opts.BufferBytes - p.bytes; room > 0 {
			k := min(room, len(b)-written)
			due := now.Add(p.latency + jitter)
			if due.Before(p.lastDue) {
				due = p.lastDue // never overtake earlier bytes
			}
			p.lastDue = due
			p.chunks = append(p.chunks, chunk{data: append([]byte(nil), b[written:written+k]...), due: due})
			p.bytes += k
			written += k
			// A reader waits for the first chunk's due time, and chunks
			// never overtake each other: only a first chunk changes what
			// it waits for. (Waking it for every chunk cost a wake-up and
			// a new timer per write, in a guest where each is dear.)
			// Writers wait for room, which a write never makes.
			if len(p.chunks) == 1 {
				p.wakeLocked()
			}
			p.mu.Unlock()
			if n.opts.TraceWrites {
				n.mu.Lock()
				n.traceLocked("write conn %d %s->%s %dB due +%v", c.conn.id, c.local, c.remote, k, due.Sub(now))
				n.mu.Unlock()
			}
			continue
		}
		d := time.Duration(-1)
		if !p.wdeadline.IsZero() {
			d = until(p.wdeadline, now)
		}
		ch := p.notify
		p.mu.Unlock()
		p.wait(ch, d)
	}
	return written, nil
}

// Close closes this end: the peer reads what was written before, then
// io.EOF; the peer's later writes fail with a reset, as after a RST.
func (c *Conn) Close() error {
	err := opErr("close", c.local, c.remote, net.ErrClosed)
	c.closeOnce.Do(func() {
		err = nil
		n := c.n
		n.mu.Lock()
		defer n.mu.Unlock()
		now := n.clock.Now()

		out := c.out
		out.mu.Lock()
		out.writerClosed = true
		if !out.wasReset {
			due := now.Add(out.latency)
			if due.Before(out.lastDue) {
				due = out.lastDue
			}
			out.lastDue = due
			out.chunks = append(out.chunks, chunk{due: due, eof: true})
		}
		out.wakeLocked()
		out.mu.Unlock()

		in := c.in
		in.mu.Lock()
		in.readerClosed = true
		in.chunks, in.bytes = nil, 0
		in.wakeLocked()
		peerClosed := in.writerClosed
		in.mu.Unlock()

		if _, live := n.conns[c.conn.id]; live {
			n.traceLocked("close conn %d by %s (peer %s)", c.conn.id, c.local, c.remote)
			if peerClosed {
				delete(n.conns, c.conn.id)
			}
		}
	})
	return err
}

func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error {
	t = c.n.deadlineOf(c.local.Host, t)
	p := c.in
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rdeadline = t
	p.wakeLocked()
	return nil
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	t = c.n.deadlineOf(c.local.Host, t)
	p := c.out
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wdeadline = t
	p.wakeLocked()
	return nil
}
