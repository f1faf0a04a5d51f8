package fetcher

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

	"github.com/weir-dev/weir/env"
)

// apiVersionsKey: the one response whose header has no tag section even
// when the body is flexible.
const apiVersionsKey = 18

// conn is one connection to a leader broker carrying one request at a
// time: Kafka framing around kmsg's encodings, nothing hand-encoded.
type conn struct {
	c           net.Conn
	rd          *bufio.Reader
	format      *kmsg.RequestFormatter
	corr        int32
	buf         []byte
	maxResponse int
}

func dial(ctx context.Context, n env.Net, addr, clientID string, maxResponse int) (*conn, error) {
	c, err := n.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{
		c:           c,
		rd:          bufio.NewReaderSize(c, 64<<10),
		format:      kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)),
		maxResponse: maxResponse,
	}, nil
}

func (c *conn) close() error { return c.c.Close() }

// roundTrip sends req and reads its response. Any error leaves the
// connection unusable: the caller closes it.
func (c *conn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	c.buf = c.format.AppendRequest(c.buf[:0], req, c.corr)
	if _, err := c.c.Write(c.buf); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.rd, size[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(size[:])))
	if n < 4 || n > c.maxResponse {
		return nil, fmt.Errorf("fetcher: response of %d bytes (limit %d)", n, c.maxResponse)
	}
	frame := make([]byte, n) // the records in it are handed on: never reused
	if _, err := io.ReadFull(c.rd, frame); err != nil {
		return nil, err
	}
	return decodeResponse(req, c.corr, frame)
}

// decodeResponse decodes one response frame (after the size) to req.
func decodeResponse(req kmsg.Request, corr int32, frame []byte) (resp kmsg.Response, err error) {
	rd := kbin.Reader{Src: frame}
	if got := rd.Int32(); !rd.Ok() || got != corr {
		return nil, fmt.Errorf("fetcher: response for correlation id %d, want %d", got, corr)
	}
	resp = req.ResponseKind()
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		if err := skipTags(&rd); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, fmt.Errorf("fetcher: decoding %s: %v", kmsg.NameForKey(req.Key()), r)
		}
	}()
	if err := resp.ReadFrom(rd.Src); err != nil {
		return nil, fmt.Errorf("fetcher: decoding %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

var errBadTags = errors.New("fetcher: malformed response header tags")

// skipTags skips a header's tagged fields, refusing counts and sizes larger
// than the bytes left (kmsg would loop on a huge count).
func skipTags(rd *kbin.Reader) error {
	n := rd.Uvarint()
	if !rd.Ok() || int64(n) > int64(len(rd.Src)) {
		return errBadTags
	}
	for ; n > 0; n-- {
		rd.Uvarint()
		size := rd.Uvarint()
		if !rd.Ok() || int64(size) > int64(len(rd.Src)) {
			return errBadTags
		}
		rd.Span(int(size))
	}
	return nil
}
