package simnet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weir-dev/weir/env"
)

// Options configure a Network. The zero value is a network with no latency,
// 1 MiB per direction, on the real clock, without a trace.
type Options struct {
	// LatencyMin and LatencyMax bound the one-way latency of a link (an
	// ordered pair of hosts), drawn uniformly once, at the link's first use.
	LatencyMin, LatencyMax time.Duration
	// Jitter is the most extra delay a Write's bytes may get on top of the
	// link's latency, drawn per Write; it never reorders a stream.
	Jitter time.Duration
	// BufferBytes bounds the bytes written and not yet read in one direction
	// of a connection; 0 means 1 MiB.
	BufferBytes int
	// Backlog bounds the connections a listener holds before Accept; 0
	// means 128. A dial to a full backlog is refused.
	Backlog int
	// DialTimeout, if positive, makes a dial to an unreachable host hang this
	// long (or until its context ends) and fail with a timeout, as a dropped
	// SYN does; 0 refuses it after one round trip.
	DialTimeout time.Duration
	// Clock tells time and makes timers; nil means env.RealClock (in the
	// guest, Go's runtime clock is the virtual clock).
	Clock env.Clock
	// Trace, if set, receives every connect, refused dial, close, reset,
	// listen, kill and fault change, with the time since New. It is called
	// with the network's mutex held: it must be quick and must not call the
	// Network.
	Trace func(at time.Duration, event string)
	// TraceWrites adds one trace event per Write (bytes and due time);
	// off by default because it is the hot path.
	TraceWrites bool
}

const (
	defaultBufferBytes = 1 << 20
	defaultBacklog     = 128
	firstEphemeralPort = 49152
)

// Network is a set of simulated hosts and the connections between them. Its
// methods are safe for concurrent use.
type Network struct {
	opts  Options
	clock env.Clock
	start time.Time

	mu       sync.Mutex
	rng      *rand.Rand
	hosts    map[string]*host
	links    map[link]time.Duration
	conns    map[uint64]*connection // live connections by id
	nextConn uint64

	isolated map[string]bool
	groups   [][]string
	cuts     map[link]bool
	flaky    map[string]float64
	stalled  map[string]bool
	// lateArms are the armed late deliveries (HoldNextWrite), by the
	// host whose write they wait for.
	lateArms map[string]*lateArm
}

// lateArm is one armed late delivery: the first write of its host that
// match accepts is held back hold.
type lateArm struct {
	match func([]byte) bool
	hold  time.Duration
	why   string
}

// HoldNextWrite arms a late delivery on one flow: the first Write by host
// whose bytes match accepts is delivered hold later than the link would
// deliver it, and so is everything written after it in that direction of
// that connection (a stream stays in order), the writer's close included;
// the host's other connections, and new ones, flow as before. This is a
// TCP segment lost and retransmitted late (a flapping route, a middlebox
// holding one flow): the sender may give up on the connection and go on
// over another, and the receiver still gets the old bytes, then the
// close. why is for the trace. A second arm for the host replaces the
// first; CancelHold or Heal disarms it.
func (n *Network) HoldNextWrite(host string, match func([]byte) bool, hold time.Duration, why string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lateArms[host] = &lateArm{match: match, hold: max(hold, 0), why: why}
	n.traceLocked("fault late delivery armed: the next write by %s matching %s: held %v", host, why, hold)
}

// CancelHold disarms host's late delivery and reports whether it was still
// armed (no write had matched).
func (n *Network) CancelHold(host string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, armed := n.lateArms[host]
	delete(n.lateArms, host)
	return armed
}

// holdLocked returns how long c's write of b is held: its host's armed
// late delivery, if b matches (disarming it).
func (n *Network) holdLocked(c *Conn, b []byte) time.Duration {
	a := n.lateArms[c.local.Host]
	if a == nil || !a.match(b) {
		return 0
	}
	delete(n.lateArms, c.local.Host)
	n.traceLocked("fault late delivery: conn %d %s->%s: a write of %dB (%s) and what follows it held %v", c.conn.id, c.local, c.remote, len(b), a.why, a.hold)
	return a.hold
}

type link struct{ from, to string }

// host is the network's record of one host name across incarnations.
type host struct {
	name      string
	inc       uint64 // incarnation: bumped by KillHost, fencing older handles
	nextPort  int
	listeners map[int]*Listener
	// clock is the clock the host's connection deadlines are read on (nil:
	// the network's).
	clock env.Clock
}

// New returns an empty network drawing latencies, jitter and flaky resets
// from rng. rng must not be used by anyone else while the network lives.
func New(rng *rand.Rand, opts Options) *Network {
	if rng == nil {
		panic("simnet: nil rng")
	}
	if opts.LatencyMin < 0 || opts.LatencyMax < 0 || opts.Jitter < 0 {
		panic("simnet: negative latency or jitter")
	}
	if opts.LatencyMax < opts.LatencyMin {
		opts.LatencyMax = opts.LatencyMin
	}
	if opts.BufferBytes <= 0 {
		opts.BufferBytes = defaultBufferBytes
	}
	if opts.Backlog <= 0 {
		opts.Backlog = defaultBacklog
	}
	clock := opts.Clock
	if clock == nil {
		clock = env.RealClock{}
	}
	return &Network{
		opts: opts, clock: clock, start: clock.Now(), rng: rng,
		hosts: map[string]*host{}, links: map[link]time.Duration{}, conns: map[uint64]*connection{},
		isolated: map[string]bool{}, cuts: map[link]bool{}, flaky: map[string]float64{}, stalled: map[string]bool{}, lateArms: map[string]*lateArm{},
	}
}

// Host returns name's view of the network, creating the host on first use.
// The view belongs to the host's current incarnation: after KillHost(name),
// its Listen and Dial fail; call Host again for the next incarnation.
func (n *Network) Host(name string) env.Net {
	if name == "" || strings.ContainsAny(name, ": ") {
		panic(fmt.Sprintf("simnet: bad host name %q", name))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(name)
	return &hostNet{n: n, name: name, inc: h.inc}
}

// SetHostClock makes name's connections read the deadlines name sets on
// clock, the host's own (whose wall clock may be stepped away from the
// network's): a deadline t set when clock reads now falls due t-now later
// on the network's clock, as an operating system measures a deadline on
// its own clock. Without it, a host whose wall clock is behind would set
// deadlines that passed long ago, and one ahead deadlines that come the
// jump too late.
func (n *Network) SetHostClock(name string, clock env.Clock) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hostLocked(name).clock = clock
}

// deadlineOf is, on the network's clock, the deadline t that host set.
func (n *Network) deadlineOf(host string, t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	n.mu.Lock()
	var clock env.Clock
	if h := n.hosts[host]; h != nil {
		clock = h.clock
	}
	n.mu.Unlock()
	if clock == nil {
		return t
	}
	return n.clock.Now().Add(t.Sub(clock.Now()))
}

func (n *Network) hostLocked(name string) *host {
	h := n.hosts[name]
	if h == nil {
		h = &host{name: name, nextPort: firstEphemeralPort, listeners: map[int]*Listener{}}
		n.hosts[name] = h
		n.traceLocked("host %s added", name)
	}
	return h
}

func (n *Network) traceLocked(format string, args ...any) {
	if n.opts.Trace != nil {
		n.opts.Trace(n.clock.Now().Sub(n.start), fmt.Sprintf(format, args...))
	}
}

// latencyLocked is the link's one-way latency, drawn at first use.
func (n *Network) latencyLocked(from, to string) time.Duration {
	l := link{from, to}
	d, ok := n.links[l]
	if !ok {
		d = n.opts.LatencyMin
		if span := n.opts.LatencyMax - n.opts.LatencyMin; span > 0 {
			d += time.Duration(n.rng.Int64N(int64(span) + 1))
		}
		n.links[l] = d
		n.traceLocked("link %s->%s latency %v", from, to, d)
	}
	return d
}

func (n *Network) jitterLocked() time.Duration {
	if n.opts.Jitter <= 0 {
		return 0
	}
	return time.Duration(n.rng.Int64N(int64(n.opts.Jitter) + 1))
}

// flakyLocked draws whether an operation between a and b fails; it draws
// only when one of them is flaky, so healthy traffic consumes no randomness.
func (n *Network) flakyLocked(a, b string) bool {
	p := max(n.flaky[a], n.flaky[b])
	return p > 0 && n.rng.Float64() < p
}

// sameSideLocked: no partition separates a and b.
func (n *Network) sameSideLocked(a, b string) bool {
	if len(n.groups) == 0 {
		return true
	}
	inA, inB := false, false
	for _, g := range n.groups {
		ha, hb := slices.Contains(g, a), slices.Contains(g, b)
		if ha && hb {
			return true
		}
		inA, inB = inA || ha, inB || hb
	}
	return !inA || !inB
}

// dialableLocked: a new connection from -> to can be opened.
func (n *Network) dialableLocked(from, to string) bool {
	if from == to {
		return true
	}
	return !n.isolated[from] && !n.isolated[to] && !n.cuts[link{from, to}] && n.sameSideLocked(from, to)
}

// connectedLocked: an existing connection between a and b may live.
func (n *Network) connectedLocked(a, b string) bool {
	if a == b {
		return true
	}
	return !n.isolated[a] && !n.isolated[b] && !n.cuts[link{a, b}] && !n.cuts[link{b, a}] && n.sameSideLocked(a, b)
}

// sortedConnsLocked returns the live connections in id order.
func (n *Network) sortedConnsLocked() []*connection {
	ids := make([]uint64, 0, len(n.conns))
	for id := range n.conns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*connection, len(ids))
	for i, id := range ids {
		out[i] = n.conns[id]
	}
	return out
}

// enforceLocked resets every connection the current faults separate and
// updates the stall state of every connection.
func (n *Network) enforceLocked(why string) {
	for _, c := range n.sortedConnsLocked() {
		if !n.connectedLocked(c.dialer.Host, c.listener.Host) {
			n.resetLocked(c, why)
			continue
		}
		stalled := n.stalled[c.dialer.Host] || n.stalled[c.listener.Host]
		c.ab.setStalled(stalled)
		c.ba.setStalled(stalled)
	}
}

func (n *Network) resetLocked(c *connection, why string) {
	if _, live := n.conns[c.id]; !live {
		return
	}
	delete(n.conns, c.id)
	c.ab.reset()
	c.ba.reset()
	n.traceLocked("reset conn %d %s->%s (%s)", c.id, c.dialer, c.listener, why)
}

// Isolate cuts host off from every other host.
func (n *Network) Isolate(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[host] = true
	n.traceLocked("fault isolate %s", host)
	n.enforceLocked("isolate " + host)
}

// Rejoin undoes Isolate(host).
func (n *Network) Rejoin(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.isolated, host)
	n.traceLocked("heal rejoin %s", host)
	n.enforceLocked("rejoin")
}

// Partition replaces the current split with groups: two hosts reach each
// other only if a group holds both, or if either is in no group. Groups may
// overlap (a bridge). Partition() with no groups removes the split.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = make([][]string, len(groups))
	parts := make([]string, len(groups))
	for i, g := range groups {
		n.groups[i] = slices.Clone(g)
		parts[i] = "[" + strings.Join(g, " ") + "]"
	}
	if len(groups) == 0 {
		n.traceLocked("heal partition")
	} else {
		n.traceLocked("fault partition %s", strings.Join(parts, " "))
	}
	n.enforceLocked("partition")
}

// CutOneWay stops new connections from -> to and resets the existing ones
// between them; see the package comment.
func (n *Network) CutOneWay(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cuts[link{from, to}] = true
	n.traceLocked("fault cut %s->%s", from, to)
	n.enforceLocked("cut " + from + "->" + to)
}

// Uncut undoes CutOneWay(from, to).
func (n *Network) Uncut(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cuts, link{from, to})
	n.traceLocked("heal cut %s->%s", from, to)
	n.enforceLocked("uncut")
}

// Flaky makes each Write on a connection of host, and each dial to or from
// it, fail with probability prob (a reset, or a refused dial). Flaky(host, 0)
// makes it reliable again.
func (n *Network) Flaky(host string, prob float64) {
	if !(prob >= 0 && prob <= 1) {
		panic("simnet: flaky probability outside [0, 1]")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if prob == 0 {
		delete(n.flaky, host)
		n.traceLocked("heal flaky %s", host)
		return
	}
	n.flaky[host] = prob
	n.traceLocked("fault flaky %s p=%.3f", host, prob)
}

// Stall holds every delivery to and from host until Resume(host).
func (n *Network) Stall(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stalled[host] = true
	n.traceLocked("fault stall %s", host)
	n.enforceLocked("stall")
}

// Resume undoes Stall(host); held bytes are delivered at once, in order.
func (n *Network) Resume(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.stalled, host)
	n.traceLocked("heal resume %s", host)
	n.enforceLocked("resume")
}

// Heal removes every isolation, partition, cut, flaky host and stall.
// Killed incarnations stay fenced.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.isolated)
	n.groups = nil
	clear(n.cuts)
	clear(n.flaky)
	clear(n.stalled)
	clear(n.lateArms)
	n.traceLocked("heal all")
	n.enforceLocked("heal")
}

// KillHost ends the current incarnation of host: its listeners close, every
// connection to or from it is reset, and env.Net handles obtained before
// this call are fenced. Faults naming the host stay in force.
func (n *Network) KillHost(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := n.hostLocked(name)
	h.inc++
	n.traceLocked("kill host %s (incarnation %d begins)", name, h.inc)
	for _, port := range slices.Sorted(maps.Keys(h.listeners)) {
		n.closeListenerLocked(h.listeners[port])
	}
	for _, c := range n.sortedConnsLocked() {
		if c.dialer.Host == name || c.listener.Host == name {
			n.resetLocked(c, "kill "+name)
		}
	}
}

// sleep waits d on the network's clock, or until ctx ends.
func (n *Network) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := n.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hostNet is one incarnation's env.Net.
type hostNet struct {
	n    *Network
	name string
	inc  uint64
}

var _ env.Net = (*hostNet)(nil)

var errFenced = errors.New("simnet: host incarnation was killed")

func (h *hostNet) fencedLocked() bool { return h.n.hosts[h.name].inc != h.inc }

func opErr(op string, src, dst net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: src, Addr: dst, Err: err}
}

func sysErr(call string, errno syscall.Errno) error { return os.NewSyscallError(call, errno) }

func splitAddr(addr string) (string, int, error) {
	hostName, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return hostName, port, nil
}

// Listen listens on "host:port" or ":port" of this host; port 0 picks a free
// port.
func (h *hostNet) Listen(ctx context.Context, addr string) (net.Listener, error) {
	name, port, err := splitAddr(addr)
	if err != nil {
		return nil, opErr("listen", nil, nil, err)
	}
	if name == "" {
		name = h.name
	}
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	la := Addr{Host: name, Port: port}
	if name != h.name {
		return nil, opErr("listen", nil, la, sysErr("bind", syscall.EADDRNOTAVAIL))
	}
	if h.fencedLocked() {
		return nil, opErr("listen", nil, la, errFenced)
	}
	hs := n.hosts[h.name]
	if port == 0 {
		port = n.freePortLocked(hs)
		la.Port = port
	}
	if hs.listeners[port] != nil {
		return nil, opErr("listen", nil, la, sysErr("bind", syscall.EADDRINUSE))
	}
	l := &Listener{n: n, addr: la, backlog: make(chan *Conn, n.opts.Backlog), done: make(chan struct{})}
	hs.listeners[port] = l
	n.traceLocked("listen %s", la)
	return l, nil
}

func (n *Network) freePortLocked(hs *host) int {
	for {
		p := hs.nextPort
		hs.nextPort++
		if hs.nextPort > 65535 {
			hs.nextPort = firstEphemeralPort
		}
		if hs.listeners[p] == nil {
			return p
		}
	}
}

// Dial connects to "host:port". See the package comment for how dials fail.
func (h *hostNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, opErr("dial", nil, nil, fmt.Errorf("simnet: network %q not supported", network))
	}
	name, port, err := splitAddr(addr)
	if err != nil {
		return nil, opErr("dial", nil, nil, err)
	}
	n := h.n
	dst := Addr{Host: name, Port: port}
	n.mu.Lock()
	if h.fencedLocked() {
		n.mu.Unlock()
		return nil, opErr("dial", nil, dst, errFenced)
	}
	if n.hosts[name] == nil {
		n.mu.Unlock()
		return nil, opErr("dial", nil, dst, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true})
	}
	rtt := n.latencyLocked(h.name, name) + n.latencyLocked(name, h.name)
	reachable := n.dialableLocked(h.name, name) && !n.flakyLocked(h.name, name)
	if !reachable {
		n.traceLocked("dial %s->%s unreachable", h.name, dst)
	}
	n.mu.Unlock()

	if !reachable {
		if n.opts.DialTimeout > 0 {
			if err := n.sleep(ctx, n.opts.DialTimeout); err != nil {
				return nil, opErr("dial", nil, dst, err)
			}
			return nil, opErr("dial", nil, dst, os.ErrDeadlineExceeded)
		}
		if err := n.sleep(ctx, rtt); err != nil {
			return nil, opErr("dial", nil, dst, err)
		}
		return nil, opErr("dial", nil, dst, sysErr("connect", syscall.ECONNREFUSED))
	}
	// The handshake: one round trip.
	if err := n.sleep(ctx, rtt); err != nil {
		return nil, opErr("dial", nil, dst, err)
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if h.fencedLocked() {
		return nil, opErr("dial", nil, dst, errFenced)
	}
	if !n.dialableLocked(h.name, name) {
		n.traceLocked("dial %s->%s unreachable after handshake", h.name, dst)
		return nil, opErr("dial", nil, dst, sysErr("connect", syscall.ECONNREFUSED))
	}
	l := n.hosts[name].listeners[port]
	if l == nil || l.closed {
		n.traceLocked("dial %s->%s refused: nothing listening", h.name, dst)
		return nil, opErr("dial", nil, dst, sysErr("connect", syscall.ECONNREFUSED))
	}
	src := Addr{Host: h.name, Port: n.freePortLocked(n.hosts[h.name])}
	c := n.newConnLocked(src, dst)
	select {
	case l.backlog <- c.eb:
	default:
		delete(n.conns, c.id)
		n.traceLocked("dial %s->%s refused: backlog full", src, dst)
		return nil, opErr("dial", nil, dst, sysErr("connect", syscall.ECONNREFUSED))
	}
	n.traceLocked("connect conn %d %s->%s", c.id, src, dst)
	return c.ea, nil
}

// Addr is a simulated TCP address: a host name and a port.
type Addr struct {
	Host string
	Port int
}

func (a Addr) Network() string { return "tcp" }
func (a Addr) String() string  { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Listener accepts simulated connections; it implements net.Listener.
type Listener struct {
	n       *Network
	addr    Addr
	backlog chan *Conn
	done    chan struct{}
	closed  bool // guarded by n.mu
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for the next connection until the listener is closed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.done:
		return nil, opErr("accept", nil, l.addr, net.ErrClosed)
	}
}

// Close stops listening and resets the connections not yet accepted.
func (l *Listener) Close() error {
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	if l.closed {
		return opErr("close", nil, l.addr, net.ErrClosed)
	}
	l.n.closeListenerLocked(l)
	return nil
}

func (n *Network) closeListenerLocked(l *Listener) {
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	if hs := n.hosts[l.addr.Host]; hs.listeners[l.addr.Port] == l {
		delete(hs.listeners, l.addr.Port)
	}
	n.traceLocked("close listener %s", l.addr)
	for {
		select {
		case c := <-l.backlog:
			n.resetLocked(c.conn, "listener closed")
		default:
			return
		}
	}
}

func (l *Listener) Addr() net.Addr { return l.addr }
