package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// request is one decoded request of a connection.
type request struct {
	key, version int16
	corr         int32
	clientID     string
	kreq         kmsg.Request
	conn         *conn
}

// reply is what a handler returns. The reader goroutine runs handlers in
// request order, so appends happen in the order a producer pipelined them;
// anything slow (waiting for fsync, a long-poll fetch) goes in finish, which
// the writer goroutine runs, also in order, before sending resp.
type reply struct {
	corr   int32
	resp   kmsg.Response // nil: send nothing (acks=0 produce)
	finish func(ctx context.Context)
	// closeConn closes the connection after this reply (acks=0 produce
	// errors: Kafka's only way to tell such a producer).
	closeConn bool
	// frame is the request's buffer, which the decoded request, resp and
	// finish may alias; the writer recycles it once resp is written.
	frame []byte
}

// conn is one client connection.
type conn struct {
	b       *Broker
	c       net.Conn
	remote  string
	replies chan reply
	// frames holds request buffers the writer is done with, for the
	// reader to reuse: a fresh buffer per request costs a large
	// allocation, its zeroing and GC work, and on VMs that hand freed
	// memory back to the host, page faults on first touch.
	frames chan []byte
	// readDone is closed when the reader stops: the client is gone (or
	// broke the protocol), so a finish step waiting for something only a
	// reply to this client needs (a parked JoinGroup) may stop waiting.
	readDone chan struct{}
}

// maxPipelined bounds the requests of one connection that are handled but
// not yet answered, so a client cannot make the broker buffer without limit.
const maxPipelined = 64

// A connection keeps at most keptFrames request buffers of at most
// maxKeptFrame bytes each for reuse (8 MiB per connection at most), enough
// for a producer's usual 1 to 5 requests in flight.
const (
	keptFrames   = 4
	maxKeptFrame = 2 << 20
)

// frameBuf returns a buffer of n bytes for a request frame, reused if one
// large enough is free. Its contents are not zeroed: the reader fills all n.
func (cc *conn) frameBuf(n int) []byte {
	select {
	case buf := <-cc.frames:
		if cap(buf) >= n {
			return buf[:n]
		}
		// Too small: let it go; the new one is sized to be reused.
	default:
	}
	size := 4 << 10
	for size < n {
		size <<= 1
	}
	if size > maxKeptFrame {
		size = n // will not be kept anyway
	}
	return make([]byte, n, size)
}

// recycle returns a request buffer nothing refers to any more.
func (cc *conn) recycle(buf []byte) {
	if cap(buf) == 0 || cap(buf) > maxKeptFrame || cc.frames == nil {
		return
	}
	select {
	case cc.frames <- buf[:0]:
	default:
	}
}

func (b *Broker) serveConn(c net.Conn) {
	cc := &conn{b: b, c: c, remote: c.RemoteAddr().String(), replies: make(chan reply, maxPipelined), frames: make(chan []byte, keptFrames), readDone: make(chan struct{})}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cc.writeLoop(ctx)
		// A failed write ends the connection: stop the reader too.
		c.Close()
		cancel()
	}()
	err := cc.readLoop(ctx)
	close(cc.readDone)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		b.log.Warn("closing connection", "remote", cc.remote, "err", err)
	}
	close(cc.replies) // the writer drains what was handled, then stops
	<-writerDone
	c.Close()
}

func (cc *conn) readLoop(ctx context.Context) error {
	r := bufio.NewReaderSize(cc.c, 64<<10)
	var size [4]byte
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return err
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 8 || n > cc.b.cfg.SocketRequestMaxBytes {
			return fmt.Errorf("request frame of %d bytes is outside [8, socket.request.max.bytes=%d]", n, cc.b.cfg.SocketRequestMaxBytes)
		}
		// Each request has a buffer of its own until the writer has sent
		// its reply: decoded requests alias it, and so may the reply and
		// its finish step. Topic names that outlive a request are cloned
		// where they are kept; a produce's batch is copied by the append.
		body := cc.frameBuf(int(n))
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("truncated request frame: %w", err)
		}
		rep, err := cc.handleFrame(ctx, body)
		if err != nil {
			return err
		}
		rep.frame = body
		select {
		case cc.replies <- rep:
		case <-ctx.Done():
			return ctx.Err()
		}
		if rep.closeConn {
			return errors.New("acks=0 produce failed")
		}
	}
}

// handleFrame decodes one request and runs its handler. A Go error closes the
// connection; Kafka errors are answers inside the reply.
func (cc *conn) handleFrame(ctx context.Context, body []byte) (rep reply, err error) {
	rd := kbin.Reader{Src: body}
	req := request{key: rd.Int16(), version: rd.Int16(), corr: rd.Int32(), conn: cc}
	if cid := rd.UnsafeNullableString(); cid != nil {
		req.clientID = *cid
	}
	if !rd.Ok() {
		return reply{}, errors.New("malformed request header")
	}
	h, known := handlers[req.key]
	if req.key == apiVersionsKey && (!known || req.version > h.max) {
		// Kafka answers a too-new ApiVersions with a v0 response listing what
		// it supports, so the client can retry with a version both know.
		return reply{corr: req.corr, resp: unsupportedAPIVersions()}, nil
	}
	kreq := kmsg.RequestForKey(req.key)
	if kreq == nil || req.version < 0 || req.version > kreq.MaxVersion() {
		return reply{}, fmt.Errorf("unknown API key %d version %d", req.key, req.version)
	}
	kreq.SetVersion(req.version)
	if kreq.IsFlexible() {
		if err := skipHeaderTags(&rd); err != nil {
			return reply{}, err
		}
	}
	if err := decodeSafely(kreq, rd.Src); err != nil {
		return reply{}, fmt.Errorf("malformed %s v%d request: %w", kmsg.NameForKey(req.key), req.version, err)
	}
	req.kreq = kreq
	if !known || req.version < h.min || req.version > h.max {
		rep, err = unsupportedReply(&req)
	} else {
		rep, err = h.fn(ctx, cc.b, &req)
	}
	rep.corr = req.corr
	return rep, err
}

// skipHeaderTags skips the request header's tagged fields. kmsg.SkipTags
// trusts the tag count and loops that many times even past the end of the
// bytes, so a six-byte header could cost seconds of CPU; a count larger than
// the bytes left is malformed.
func skipHeaderTags(rd *kbin.Reader) error {
	n := rd.Uvarint()
	if !rd.Ok() || int64(n) > int64(len(rd.Src)) {
		return errors.New("malformed request header tags")
	}
	for ; n > 0; n-- {
		rd.Uvarint()
		size := rd.Uvarint()
		if !rd.Ok() || int64(size) > int64(len(rd.Src)) {
			return errors.New("malformed request header tags")
		}
		rd.Span(int(size))
	}
	return nil
}

func decodeSafely(kreq kmsg.Request, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return kreq.(kmsg.UnsafeReadFrom).UnsafeReadFrom(b)
}

func (cc *conn) writeLoop(ctx context.Context) {
	w := bufio.NewWriterSize(cc.c, 64<<10)
	var buf []byte
	for rep := range cc.replies {
		if rep.finish != nil {
			rep.finish(ctx)
		}
		if rep.resp == nil {
			cc.recycle(rep.frame)
			continue
		}
		buf = appendReply(buf[:0], &rep)
		cc.recycle(rep.frame) // the response is encoded: nothing aliases it now
		if _, err := w.Write(buf); err != nil {
			return
		}
		// Flush when nothing else is ready, so pipelined responses share
		// a syscall but none waits for a later one.
		if len(cc.replies) == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
	w.Flush()
}

// appendReply appends rep's response frame (size, header, body) to buf.
func appendReply(buf []byte, rep *reply) []byte {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0) // size, filled below
	buf = binary.BigEndian.AppendUint32(buf, uint32(rep.corr))
	// Flexible responses carry a header tag section, except ApiVersions,
	// whose response header is always v0 so a client can read it before
	// it knows what the broker speaks.
	if rep.resp.IsFlexible() && rep.resp.Key() != apiVersionsKey {
		buf = append(buf, 0)
	}
	buf = rep.resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf
}
