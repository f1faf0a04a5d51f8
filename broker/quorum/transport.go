package quorum

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/env"
)

// The transport between the nodes of the quorum, over env.Net. Every
// connection starts with a hello frame naming its purpose and the dialing
// node; then frames
//
//	length u32 | kind u8 | payload
//
// Raft streams are one-way (the dialer sends raftpb.Messages); RPC
// connections carry requests and their responses, matched by a
// correlation id, so a node forwards controller requests to the leader.
// A node keeps one RPC connection per peer and lane (rpcLane): the
// leaders' AlterPartition requests on one of their own, everything else
// (registration, heartbeats, admin requests, joins) on the other, as
// Kafka's brokers keep the AlterPartitionManager's controller channel
// apart from the heartbeats'. A late AlterPartition then holds only what
// follows it on its own connection, never the heartbeats that keep the
// broker unfenced. Each RPC frame is written whole, in one write, so a
// write that begins a forwarded request can be told by its first bytes
// (ForwardedRequestKey).
//
// Sending never blocks the Raft loop: each peer has a bounded queue and a
// goroutine that dials, writes and redials after a backoff; when the queue
// is full or the peer is unreachable the message is dropped and Raft is
// told (ReportUnreachable, and ReportSnapshot for a snapshot), as etcd's
// rafthttp does. Raft retransmits what it needs.

const (
	wireHello    = 1
	wireRaft     = 2
	wireRequest  = 3
	wireResponse = 4

	purposeRaft = 1
	purposeRPC  = 2

	maxWireFrame  = 512 << 20
	peerQueueLen  = 1024
	writeTimeout  = 5 * time.Second
	backoffMin    = 20 * time.Millisecond
	backoffMax    = time.Second
	rpcStatusOK   = 0
	rpcStatusFail = 1
)

// report is what the transport tells the Raft loop about a peer.
type report struct {
	to       uint64
	snapshot bool // a MsgSnap was sent (ok) or lost (!ok)
	ok       bool
}

// transport is safe for concurrent use; its goroutines end with ctx.
type transport struct {
	ctx   context.Context
	self  uint64
	net   env.Net
	clock env.Clock
	log   *slog.Logger

	// deliver hands an inbound Raft message to the loop; reports tells
	// the loop about failed and finished sends; handle serves an RPC.
	deliver func(pb.Message)
	reports chan<- report
	handle  func(ctx context.Context, from uint64, op byte, body []byte) ([]byte, error)

	mu      sync.Mutex
	addrs   map[uint64]string
	peers   map[uint64]*peer
	clients map[clientKey]*rpcClient
	conns   map[net.Conn]struct{}
}

func newTransport(ctx context.Context, self uint64, n env.Net, clock env.Clock, log *slog.Logger) *transport {
	t := &transport{
		ctx: ctx, self: self, net: n, clock: clock, log: log,
		addrs: map[uint64]string{}, peers: map[uint64]*peer{}, clients: map[clientKey]*rpcClient{}, conns: map[net.Conn]struct{}{},
	}
	go func() {
		<-ctx.Done()
		t.mu.Lock()
		defer t.mu.Unlock()
		for c := range t.conns {
			c.Close()
		}
	}()
	return t
}

// setAddr records where a node listens.
func (t *transport) setAddr(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addrs[id] = addr
}

func (t *transport) addr(id uint64) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.addrs[id]
	return a, ok
}

// track registers a live connection so that the end of ctx closes it;
// it reports false (and closes c) if ctx has ended.
func (t *transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *transport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// send queues messages for their peers; it never blocks.
func (t *transport) send(msgs []pb.Message) {
	for _, m := range msgs {
		p := t.peer(m.To)
		if p == nil {
			t.tell(report{to: m.To, snapshot: m.Type == pb.MsgSnap})
			continue
		}
		select {
		case p.queue <- m:
		default:
			t.tell(report{to: m.To, snapshot: m.Type == pb.MsgSnap})
		}
	}
}

// tell passes a report to the loop without blocking: a lost report of an
// unreachable peer is repeated by the next failure; a lost snapshot
// report would leave Raft waiting, so those wait for room (or the end).
func (t *transport) tell(r report) {
	if r.snapshot {
		select {
		case t.reports <- r:
		case <-t.ctx.Done():
		}
		return
	}
	select {
	case t.reports <- r:
	default:
	}
}

func (t *transport) peer(id uint64) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[id]; ok {
		return p
	}
	addr, ok := t.addrs[id]
	if !ok || t.ctx.Err() != nil {
		return nil
	}
	p := &peer{t: t, id: id, addr: addr, queue: make(chan pb.Message, peerQueueLen)}
	t.peers[id] = p
	go p.run()
	return p
}

// peer is the outbound Raft stream to one node.
type peer struct {
	t     *transport
	id    uint64
	addr  string
	queue chan pb.Message
}

func (p *peer) run() {
	var conn net.Conn
	var w *bufio.Writer
	backoff := backoffMin
	defer func() {
		if conn != nil {
			p.t.untrack(conn)
		}
	}()
	for {
		var m pb.Message
		select {
		case <-p.t.ctx.Done():
			return
		case m = <-p.queue:
		}
		if conn == nil {
			c, err := p.t.dial(p.addr, purposeRaft)
			if err != nil {
				p.t.tell(report{to: p.id, snapshot: m.Type == pb.MsgSnap})
				if !p.sleep(backoff) {
					return
				}
				backoff = min(2*backoff, backoffMax)
				continue
			}
			conn, w, backoff = c, bufio.NewWriterSize(c, 64<<10), backoffMin
		}
		err := p.write(conn, w, m)
		if err != nil {
			p.t.untrack(conn)
			conn = nil
		}
		if m.Type == pb.MsgSnap {
			p.t.tell(report{to: p.id, snapshot: true, ok: err == nil})
		} else if err != nil {
			p.t.tell(report{to: p.id})
		}
	}
}

// write sends m and whatever else is queued, then flushes.
func (p *peer) write(conn net.Conn, w *bufio.Writer, m pb.Message) error {
	conn.SetWriteDeadline(p.t.clock.Now().Add(writeTimeout))
	for {
		data, err := m.Marshal()
		if err != nil {
			return err
		}
		if err := writeWireFrame(w, wireRaft, data); err != nil {
			return err
		}
		if m.Type == pb.MsgSnap {
			break // report it on its own
		}
		select {
		case m = <-p.queue:
			continue
		default:
		}
		break
	}
	return w.Flush()
}

// sleep waits d on the node's clock; false if the node ended first.
func (p *peer) sleep(d time.Duration) bool {
	tm := p.t.clock.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C():
		return true
	case <-p.t.ctx.Done():
		return false
	}
}

func (t *transport) dial(addr string, purpose byte) (net.Conn, error) {
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	tm := t.clock.AfterFunc(writeTimeout, cancel)
	defer tm.Stop()
	c, err := t.net.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if !t.track(c) {
		return nil, t.ctx.Err()
	}
	hello := []byte{purpose}
	hello = binary.BigEndian.AppendUint64(hello, t.self)
	c.SetWriteDeadline(t.clock.Now().Add(writeTimeout))
	if err := writeWireFrame(c, wireHello, hello); err != nil {
		t.untrack(c)
		return nil, err
	}
	return c, nil
}

// appendWireFrame appends one frame of kind carrying payload to dst.
func appendWireFrame(dst []byte, kind byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)+1))
	dst = append(dst, kind)
	return append(dst, payload...)
}

func writeWireFrame(w io.Writer, kind byte, payload []byte) error {
	var h [5]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(payload)+1))
	h[4] = kind
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func readWireFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < 1 || n > maxWireFrame {
		return 0, nil, fmt.Errorf("quorum: frame of %d bytes", n)
	}
	payload := make([]byte, n-1)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return h[4], payload, nil
}

// serve accepts connections on l until ctx ends.
func (t *transport) serve(l net.Listener) {
	go func() {
		<-t.ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		if !t.track(c) {
			return
		}
		go t.serveConn(c)
	}
}

func (t *transport) serveConn(c net.Conn) {
	defer t.untrack(c)
	r := bufio.NewReaderSize(c, 64<<10)
	kind, hello, err := readWireFrame(r)
	if err != nil || kind != wireHello || len(hello) != 9 {
		return
	}
	from := binary.BigEndian.Uint64(hello[1:])
	switch hello[0] {
	case purposeRaft:
		for {
			kind, payload, err := readWireFrame(r)
			if err != nil || kind != wireRaft {
				return
			}
			var m pb.Message
			if err := m.Unmarshal(payload); err != nil || m.From != from {
				return
			}
			t.deliver(m)
		}
	case purposeRPC:
		t.serveRPC(c, r, from)
	}
}

func (t *transport) serveRPC(c net.Conn, r *bufio.Reader, from uint64) {
	var wmu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		kind, payload, err := readWireFrame(r)
		if err != nil || kind != wireRequest || len(payload) < 9 {
			return
		}
		corr, op, body := binary.BigEndian.Uint64(payload), payload[8], payload[9:]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := t.handle(t.ctx, from, op, body)
			out := binary.BigEndian.AppendUint64(nil, corr)
			if err != nil {
				out = append(out, rpcStatusFail)
				out = append(out, err.Error()...)
			} else {
				out = append(out, rpcStatusOK)
				out = append(out, resp...)
			}
			wmu.Lock()
			defer wmu.Unlock()
			c.SetWriteDeadline(t.clock.Now().Add(writeTimeout))
			if _, err := c.Write(appendWireFrame(nil, wireResponse, out)); err != nil {
				c.Close()
			}
		}()
	}
}

// RemoteError is an error a peer returned for an RPC.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

var (
	// errNoConn: an RPC could not be sent (no address, dial failed):
	// the peer never saw it.
	errNoConn = errors.New("quorum: could not reach the peer")
	// errConnLost: the connection ended after the RPC was sent: the peer
	// may or may not have acted on it.
	errConnLost = errors.New("quorum: connection lost with an RPC in flight")
)

// rpcLane is which of a node's RPC connections to a peer a call travels
// on: each lane is a connection of its own, so what is held or slow on
// one (a late AlterPartition) never delays the other.
type rpcLane uint8

const (
	// laneControl carries registration, heartbeats, admin requests and
	// joins: Kafka's broker-to-controller channel of the heartbeats.
	laneControl rpcLane = iota
	// laneAlterPartition carries the leaders' AlterPartition requests:
	// Kafka's AlterPartitionManager channel.
	laneAlterPartition
)

func (l rpcLane) String() string {
	if l == laneAlterPartition {
		return "alter-partition"
	}
	return "control"
}

// laneForKey is the lane a forwarded Kafka request of API key travels on.
func laneForKey(key int16) rpcLane {
	if key == kmsg.AlterPartition.Int16() {
		return laneAlterPartition
	}
	return laneControl
}

type clientKey struct {
	id   uint64
	lane rpcLane
}

// call sends an RPC to node id on lane and waits for its answer, ctx or
// the end of the connection.
func (t *transport) call(ctx context.Context, id uint64, lane rpcLane, op byte, body []byte) ([]byte, error) {
	addr, ok := t.addr(id)
	if !ok {
		return nil, fmt.Errorf("%w: no address for node %d", errNoConn, id)
	}
	t.mu.Lock()
	cl, ok := t.clients[clientKey{id, lane}]
	if !ok {
		cl = &rpcClient{t: t, addr: addr, pending: map[uint64]chan rpcResult{}}
		t.clients[clientKey{id, lane}] = cl
	}
	t.mu.Unlock()
	return cl.call(ctx, op, body)
}

// appendRequestFrame appends the frame of an RPC request: the correlation
// id, the operation, then its body.
func appendRequestFrame(dst []byte, corr uint64, op byte, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(1+8+1+len(body)))
	dst = append(dst, wireRequest)
	dst = binary.BigEndian.AppendUint64(dst, corr)
	dst = append(dst, op)
	return append(dst, body...)
}

// ForwardedRequestKey reports whether b begins the frame by which a node
// forwards a Kafka request to the quorum's leader (Submit on a node that
// does not lead), and that request's API key: the frame's length (u32),
// its kind, the correlation id (u64), the operation, then the request's
// key (u16). A node writes each such frame whole, in one write, so the
// simulated network can hold the write of one kind of request
// (simnet.HoldNextWrite), as it does a client's Kafka request.
func ForwardedRequestKey(b []byte) (int16, bool) {
	const keyAt = 4 + 1 + 8 + 1
	if len(b) < keyAt+2 || b[4] != wireRequest || b[13] != opRequest {
		return 0, false
	}
	return int16(binary.BigEndian.Uint16(b[keyAt:])), true
}

type rpcResult struct {
	body []byte
	err  error
}

// rpcClient is one RPC connection to a peer, redialed on demand.
type rpcClient struct {
	t    *transport
	addr string

	mu      sync.Mutex
	conn    net.Conn
	next    uint64
	pending map[uint64]chan rpcResult
}

func (cl *rpcClient) call(ctx context.Context, op byte, body []byte) ([]byte, error) {
	ch := make(chan rpcResult, 1)
	cl.mu.Lock()
	if cl.conn == nil {
		c, err := cl.t.dial(cl.addr, purposeRPC)
		if err != nil {
			cl.mu.Unlock()
			return nil, fmt.Errorf("%w: %s: %v", errNoConn, cl.addr, err)
		}
		cl.conn = c
		go cl.read(c)
	}
	cl.next++
	corr := cl.next
	cl.pending[corr] = ch
	cl.conn.SetWriteDeadline(cl.t.clock.Now().Add(writeTimeout))
	if _, err := cl.conn.Write(appendRequestFrame(nil, corr, op, body)); err != nil {
		cl.failLocked(cl.conn, err)
	}
	cl.mu.Unlock()
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		cl.mu.Lock()
		delete(cl.pending, corr)
		cl.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (cl *rpcClient) read(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		kind, payload, err := readWireFrame(r)
		if err == nil && (kind != wireResponse || len(payload) < 9) {
			err = errors.New("quorum: bad RPC response frame")
		}
		cl.mu.Lock()
		if err != nil {
			cl.failLocked(c, err)
			cl.mu.Unlock()
			return
		}
		corr := binary.BigEndian.Uint64(payload)
		ch, ok := cl.pending[corr]
		delete(cl.pending, corr)
		cl.mu.Unlock()
		if !ok {
			continue
		}
		if payload[8] == rpcStatusOK {
			ch <- rpcResult{body: payload[9:]}
		} else {
			ch <- rpcResult{err: &RemoteError{Msg: string(payload[9:])}}
		}
	}
}

// failLocked ends connection c: every call waiting on it fails.
func (cl *rpcClient) failLocked(c net.Conn, err error) {
	if cl.conn != c {
		return
	}
	cl.t.untrack(c)
	cl.conn = nil
	for corr, ch := range cl.pending {
		ch <- rpcResult{err: fmt.Errorf("%w: %s: %v", errConnLost, cl.addr, err)}
		delete(cl.pending, corr)
	}
}
