package broker

// Requests from this broker to another one (the transaction coordinator's
// WriteTxnMarkers to partition leaders, a partition leader's
// AddPartitionsToTxn verification to a coordinator), over env.Net, encoded
// by kmsg with Kafka's framing. Brokers of one cluster run the same build,
// so the versions are fixed rather than negotiated with ApiVersions.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// peerRequestTimeout bounds one request to another broker, as Kafka's
// request.timeout.ms does its inter-broker requests.
const peerRequestTimeout = 30 * time.Second

// maxPeerResponse bounds a response from another broker.
const maxPeerResponse = 16 << 20

// errPeerUnknown: the image has no live broker of that id.
var errPeerUnknown = errors.New("broker is not in the metadata image or is fenced")

// peers keeps at most one idle connection per other broker; a request
// takes it (or dials one), and gives it back when it is done, so
// concurrent requests to one broker use several connections.
type peers struct {
	mu   sync.Mutex
	idle map[int32]*peerConn
}

type peerConn struct {
	c      net.Conn
	rd     *bufio.Reader
	format *kmsg.RequestFormatter
	corr   int32
}

// peerRequest sends req to broker id and returns its response. An error
// means no usable answer (unreachable, timed out, malformed); the caller
// retries or gives up.
func (b *Broker) peerRequest(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	pc, err := b.peerConn(ctx, id)
	if err != nil {
		return nil, err
	}
	// A request that outlives its timeout or its context closes the
	// connection, which ends the blocked read.
	timer := b.clock.AfterFunc(peerRequestTimeout, func() { pc.c.Close() })
	stop := context.AfterFunc(ctx, func() { pc.c.Close() })
	resp, err := pc.roundTrip(req)
	timer.Stop()
	stopped := stop()
	if err != nil || !stopped {
		pc.c.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("request to broker %d: %w", id, err)
	}
	b.peers.mu.Lock()
	if b.peers.idle == nil {
		b.peers.idle = map[int32]*peerConn{}
	}
	if b.peers.idle[id] == nil && b.ctx.Err() == nil {
		b.peers.idle[id], pc = pc, nil
	}
	b.peers.mu.Unlock()
	if pc != nil {
		pc.c.Close()
	}
	return resp, nil
}

func (b *Broker) peerConn(ctx context.Context, id int32) (*peerConn, error) {
	b.peers.mu.Lock()
	pc := b.peers.idle[id]
	delete(b.peers.idle, id)
	b.peers.mu.Unlock()
	if pc != nil {
		return pc, nil
	}
	addr := ""
	for _, br := range b.liveBrokers(b.image()) {
		if br.id == id {
			addr = net.JoinHostPort(br.host, strconv.Itoa(int(br.port)))
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("broker %d: %w", id, errPeerUnknown)
	}
	c, err := b.net.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing broker %d at %s: %w", id, addr, err)
	}
	return &peerConn{
		c: c, rd: bufio.NewReaderSize(c, 16<<10),
		format: kmsg.NewRequestFormatter(kmsg.FormatterClientID("weir-broker-" + strconv.Itoa(int(b.cfg.NodeID)))),
	}, nil
}

// closePeers closes the idle connections (the broker is stopping).
func (b *Broker) closePeers() {
	b.peers.mu.Lock()
	defer b.peers.mu.Unlock()
	for id, pc := range b.peers.idle {
		pc.c.Close()
		delete(b.peers.idle, id)
	}
}

func (pc *peerConn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	pc.corr++
	if _, err := pc.c.Write(pc.format.AppendRequest(nil, req, pc.corr)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(pc.rd, size[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(size[:])))
	if n < 4 || n > maxPeerResponse {
		return nil, fmt.Errorf("response of %d bytes (limit %d)", n, maxPeerResponse)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(pc.rd, frame); err != nil {
		return nil, err
	}
	return decodePeerResponse(req, pc.corr, frame)
}

// decodePeerResponse decodes one response frame (after its size) to req.
func decodePeerResponse(req kmsg.Request, corr int32, frame []byte) (resp kmsg.Response, err error) {
	rd := kbin.Reader{Src: frame}
	if got := rd.Int32(); !rd.Ok() || got != corr {
		return nil, fmt.Errorf("response for correlation id %d, want %d", got, corr)
	}
	resp = req.ResponseKind()
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		if err := skipHeaderTags(&rd); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, fmt.Errorf("decoding %s: %v", kmsg.NameForKey(req.Key()), r)
		}
	}()
	if err := resp.ReadFrom(rd.Src); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

// timeoutContext is context.WithTimeout on the broker's clock.
func (b *Broker) timeoutContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	t := b.clock.AfterFunc(d, cancel)
	return ctx, func() { t.Stop(); cancel() }
}
