package nullsink

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Limits and sizes. Kafka's socket.request.max.bytes default is 100 MiB.
const (
	defaultMaxRequestBytes = 100 << 20
	defaultMaxTopics       = 10_000
	maxPartitions          = 1 << 16

	// readBufBytes is the per-connection read buffer. Frames that fit are
	// handled in place (bufio.Peek), larger ones are copied into a
	// per-connection body buffer that is kept for reuse.
	readBufBytes = 256 << 10
	// flushBytes bounds how much response data is held back while more
	// pipelined requests are already buffered.
	flushBytes = 64 << 10
)

// Options configures a Sink. The zero value is usable.
type Options struct {
	// Partitions is the number of partitions of every topic; default 1.
	Partitions int32
	// NodeID is this broker's node ID; default 0.
	NodeID int32
	// AdvertisedAddr is the host:port returned in Metadata. Default: the
	// listener's address, with an unspecified IP replaced by 127.0.0.1.
	AdvertisedAddr string
	// ClusterID is returned in Metadata; default "weir-nullsink".
	ClusterID string
	// MaxRequestBytes bounds a request frame; a larger one closes the
	// connection. Default 100 MiB.
	MaxRequestBytes int32
	// MaxTopics bounds the number of topics created; beyond it new topics
	// are answered UNKNOWN_TOPIC_OR_PARTITION. Default 10000.
	MaxTopics int
	// Logf, if not nil, receives one line per connection closed by an
	// error.
	Logf func(format string, args ...any)
}

// Sink is a null broker. Create it with New; a Sink may serve several
// listeners at once, all sharing its topics and offsets.
type Sink struct {
	opts Options

	nextProducerID atomic.Int64

	mu     sync.RWMutex // guards byName, byID; topics are immutable once made
	byName map[string]*topic
	byID   map[[16]byte]*topic
}

// topic is one topic; only the offset counters change after creation.
type topic struct {
	name string
	id   [16]byte
	// next[p] is the offset the next record of partition p gets.
	next []atomic.Int64
}

// New returns a Sink with opts applied over the defaults.
func New(opts Options) *Sink {
	if opts.Partitions <= 0 {
		opts.Partitions = 1
	}
	if opts.Partitions > maxPartitions {
		opts.Partitions = maxPartitions
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "weir-nullsink"
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = defaultMaxRequestBytes
	}
	if opts.MaxTopics <= 0 {
		opts.MaxTopics = defaultMaxTopics
	}
	return &Sink{
		opts:   opts,
		byName: make(map[string]*topic),
		byID:   make(map[[16]byte]*topic),
	}
}

// Serve is New(opts).Serve(ctx, ln).
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	return New(opts).Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends or Accept fails, then
// closes ln and every connection and waits for their goroutines. It returns
// nil when ctx ended, otherwise the Accept error.
func (s *Sink) Serve(ctx context.Context, ln net.Listener) error {
	host, port, err := s.advertised(ln.Addr())
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ln.Close()
			return fmt.Errorf("nullsink: accept: %w", err)
		}
		wg.Go(func() {
			c := newConn(s, nc, nc, host, port)
			if err := c.serve(ctx, nc); err != nil && s.opts.Logf != nil && ctx.Err() == nil {
				s.opts.Logf("nullsink: connection from %s closed: %v", nc.RemoteAddr(), err)
			}
		})
	}
}

func (s *Sink) advertised(addr net.Addr) (string, int32, error) {
	hp := s.opts.AdvertisedAddr
	if hp == "" {
		hp = addr.String()
	}
	host, portStr, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("nullsink: advertised address %q: %w", hp, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("nullsink: advertised port %q: %w", portStr, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() || host == "" {
		host = "127.0.0.1"
	}
	return host, int32(port), nil
}

// NextOffset returns the offset the next record produced to topic/partition
// would get: the number of records acknowledged (or, with acks=0, accepted)
// so far. It is 0 for an unknown topic or partition.
func (s *Sink) NextOffset(topicName string, partition int32) int64 {
	s.mu.RLock()
	t := s.byName[topicName]
	s.mu.RUnlock()
	if t == nil || partition < 0 || int(partition) >= len(t.next) {
		return 0
	}
	return t.next[partition].Load()
}

// topicByName returns the topic, creating it if needed; nil only when
// MaxTopics topics exist already. name may alias a request buffer: it is
// cloned before it is kept.
func (s *Sink) topicByName(name string) *topic {
	s.mu.RLock()
	t := s.byName[name]
	s.mu.RUnlock()
	if t != nil {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.byName[name]; t != nil {
		return t
	}
	if len(s.byName) >= s.opts.MaxTopics {
		return nil
	}
	name = string([]byte(name))
	t = &topic{
		name: name,
		id:   topicID(name),
		next: make([]atomic.Int64, s.opts.Partitions),
	}
	s.byName[name] = t
	s.byID[t.id] = t
	return t
}

func (s *Sink) topicByID(id [16]byte) *topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// topics returns every topic, for a Metadata request for all topics.
func (s *Sink) topics() []*topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ts := make([]*topic, 0, len(s.byName))
	for _, t := range s.byName {
		ts = append(ts, t)
	}
	return ts
}

// topicID derives a stable topic ID from the name, so that IDs agree across
// restarts of the sink (clients cache them).
func topicID(name string) [16]byte {
	sum := sha256.Sum256([]byte("weir-nullsink/" + name))
	var id [16]byte
	copy(id[:], sum[:])
	return id
}

// conn is one client connection. Everything in it is owned by its single
// goroutine, which reads a request, appends its response to wbuf and writes
// wbuf when no further complete request is already buffered.
type conn struct {
	s    *Sink
	w    io.Writer
	host string
	port int32

	br   *bufio.Reader
	hdr  kbin.Reader
	body []byte // frames larger than the read buffer; reused
	wbuf []byte // pending responses; reused

	// last is the topic of the previous Produce, to skip the map lookup.
	last *topic

	// Reused between Produce requests: decoding into them reuses their
	// slices, so a steady stream of Produce requests allocates little.
	produceReq  kmsg.ProduceRequest
	produceResp kmsg.ProduceResponse
	batch       kmsg.RecordBatch
}

func newConn(s *Sink, r io.Reader, w io.Writer, host string, port int32) *conn {
	return &conn{
		s:    s,
		w:    w,
		host: host,
		port: port,
		br:   bufio.NewReaderSize(r, readBufBytes),
	}
}

// serve runs the connection until the peer closes it (nil), ctx ends, or a
// request cannot be served (error). It closes nc.
func (c *conn) serve(ctx context.Context, nc net.Conn) error {
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	for {
		err := c.serveOne()
		if err == nil {
			err = c.maybeFlush()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// serveOne reads and handles one request frame.
func (c *conn) serveOne() error {
	head, err := c.br.Peek(4)
	if err != nil {
		if len(head) > 0 && errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	size := int64(int32(binary.BigEndian.Uint32(head)))
	// key, version, correlation ID and client ID length at least.
	if size < 10 || size > int64(c.s.opts.MaxRequestBytes) {
		return fmt.Errorf("request frame of %d bytes", size)
	}
	n := 4 + int(size)
	if n <= c.br.Size() {
		frame, err := c.br.Peek(n)
		if err != nil {
			return unexpected(err)
		}
		err = c.handle(frame[4:])
		c.br.Discard(n) // cannot fail: n bytes are buffered
		return err
	}
	c.br.Discard(4)
	if cap(c.body) < int(size) {
		c.body = make([]byte, size)
	}
	c.body = c.body[:size]
	if _, err := io.ReadFull(c.br, c.body); err != nil {
		return unexpected(err)
	}
	return c.handle(c.body)
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maybeFlush writes pending responses unless the next request is already
// fully buffered (then it will be answered in the same write) and not too
// much is pending. It never waits for more input with responses held back.
func (c *conn) maybeFlush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	if len(c.wbuf) < flushBytes && c.nextBuffered() {
		return nil
	}
	_, err := c.w.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

func (c *conn) nextBuffered() bool {
	buffered := c.br.Buffered()
	if buffered < 4 {
		return false
	}
	head, _ := c.br.Peek(4)
	size := int64(int32(binary.BigEndian.Uint32(head)))
	return size >= 0 && int64(buffered) >= 4+size
}

// handle serves one request frame (without its size prefix). frame is only
// valid during the call: responses are encoded before it returns.
func (c *conn) handle(frame []byte) error {
	// The reader lives in c: a local one escapes through kmsg.SkipTags.
	r := &c.hdr
	*r = kbin.Reader{Src: frame}
	key := r.Int16()
	version := r.Int16()
	corr := r.Int32()
	// The client ID (a nullable string) is unused; skipping it by length
	// avoids the allocation of UnsafeNullableString's result.
	if n := r.Int16(); n > 0 {
		r.Span(int(n))
	}
	if !r.Ok() {
		return fmt.Errorf("short request header")
	}
	a := lookupAPI(key)
	if a == nil {
		return fmt.Errorf("unserved API key %d (v%d)", key, version)
	}
	if version < a.min || version > a.max {
		if key == kmsg.ApiVersions.Int16() {
			// Like Kafka: answer in v0 so any client can read it, and do
			// not decode a body whose layout we may not know.
			c.apiVersionsUnsupported(corr)
			return nil
		}
		return fmt.Errorf("unserved version %d of API key %d", version, key)
	}
	if a.flexible(version) {
		kmsg.SkipTags(r)
		if !r.Ok() {
			return fmt.Errorf("short flexible request header (key %d v%d)", key, version)
		}
	}
	return c.dispatch(a.key, version, corr, r.Src)
}

// appendResponse appends resp, framed, to the pending responses. The response
// header is v1 (with an empty tag section) for flexible versions, except for
// ApiVersions, whose response header is always v0.
func (c *conn) appendResponse(corr int32, resp kmsg.Response) {
	start := len(c.wbuf)
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, 0) // size, set below
	c.wbuf = binary.BigEndian.AppendUint32(c.wbuf, uint32(corr))
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		c.wbuf = append(c.wbuf, 0)
	}
	c.wbuf = resp.AppendTo(c.wbuf)
	binary.BigEndian.PutUint32(c.wbuf[start:], uint32(len(c.wbuf)-start-4))
}
