package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression codec ids of the batch attributes.
const (
	CodecNone   = 0
	CodecGzip   = 1
	CodecSnappy = 2
	CodecLZ4    = 3
	CodecZstd   = 4
)

// ErrTooLarge means a batch's records decompress to more than the limit the
// caller set: a decompression bomb, or a batch larger than the caller can
// hold.
var ErrTooLarge = errors.New("record: records decompress past the limit")

// Codecs compresses and decompresses record sections with the codecs of the
// batch attributes, in the formats Kafka's own broker writes: gzip, snappy
// in the xerial framing of the Java client (raw snappy is read too), the
// LZ4 frame format and zstd. It keeps its encoders and decoders between
// calls, so one Codecs serves a whole pass over a log; the zero value is
// ready to use. It starts no goroutine. Not safe for concurrent use. Close
// releases what it holds.
type Codecs struct {
	zdec    *zstd.Decoder
	zdecMem int // the memory bound zdec was made with
	zenc    *zstd.Encoder
	gzr     *gzip.Reader
	gzw     *gzip.Writer
	lzr     *lz4.Reader
	lzw     *lz4.Writer
	buf     bytes.Buffer
	src     bytes.Reader // what gzip and LZ4 read from
}

// Close releases the zstd encoder and decoder.
func (c *Codecs) Close() {
	if c.zdec != nil {
		c.zdec.Close()
		c.zdec = nil
	}
	if c.zenc != nil {
		_ = c.zenc.Close()
		c.zenc = nil
	}
}

// zstdMinMemory is the least memory a zstd decode may use: enough for the
// windows producers use (franz-go 64 KiB, librdkafka and Java up to 8 MiB).
const zstdMinMemory = 8 << 20

// Decompress appends the decompression of src with codec to dst[:0] and
// returns it; never more than limit bytes (ErrTooLarge past that). A
// corrupt input is ErrCorrupt.
func (c *Codecs) Decompress(codec int8, dst, src []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	var out []byte
	var err error
	switch codec {
	case CodecNone:
		if len(src) > limit {
			return nil, ErrTooLarge
		}
		return append(dst, src...), nil
	case CodecGzip:
		if c.gzr == nil {
			c.gzr = new(gzip.Reader)
		}
		c.src.Reset(src)
		if err := c.gzr.Reset(&c.src); err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		c.gzr.Multistream(true)
		out, err = readLimited(dst, c.gzr, limit)
	case CodecSnappy:
		out, err = decodeSnappy(dst, src, limit)
	case CodecLZ4:
		if c.lzr == nil {
			c.lzr = lz4.NewReader(nil)
		}
		c.src.Reset(src)
		c.lzr.Reset(&c.src)
		out, err = readLimited(dst, c.lzr, limit)
	case CodecZstd:
		// The decoder's memory bound (which also bounds the window a
		// frame may ask for) is the limit, but at least zstdMinMemory so
		// that a small limit still decodes ordinary frames.
		if mem := max(limit, zstdMinMemory); c.zdec == nil || c.zdecMem != mem {
			if c.zdec != nil {
				c.zdec.Close()
			}
			// Concurrency 1 and DecodeAll start no goroutine.
			c.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxMemory(uint64(mem)))
			if err != nil {
				return nil, err
			}
			c.zdecMem = mem
		}
		out, err = c.zdec.DecodeAll(src, dst)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || (err == nil && len(out) > limit) {
			return nil, ErrTooLarge
		}
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
	if err != nil && !errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("%w: decompressing (codec %d): %v", ErrCorrupt, codec, err)
	}
	return out, err
}

// readLimited appends everything r yields to dst, failing past limit.
func readLimited(dst []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return nil, ErrTooLarge
		}
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// xerialHeader opens the Java snappy framing: a magic prefix, version 1 and
// minimum compatible version 1; then each block is a 4-byte big endian
// length and a raw snappy block.
var xerialHeader = [16]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

// xerialBlockSize is the block size of the Java client's snappy stream.
const xerialBlockSize = 32 << 10

func decodeSnappy(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < 16 || !bytes.Equal(src[:8], xerialHeader[:8]) {
		return decodeSnappyBlock(dst, src, limit)
	}
	src = src[16:]
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, errors.New("xerial block length torn")
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return nil, errors.New("xerial block runs past the data")
		}
		var err error
		if dst, err = decodeSnappyBlock(dst, src[:n], limit); err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return dst, nil
}

// decodeSnappyBlock appends one raw snappy block's decoding to dst.
func decodeSnappyBlock(dst, src []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > limit-len(dst) {
		return nil, ErrTooLarge
	}
	if cap(dst)-len(dst) < n {
		dst = append(dst, make([]byte, n)...)[:len(dst)]
	}
	out, err := s2.Decode(dst[len(dst):len(dst)+n], src)
	if err != nil {
		return nil, err
	}
	return dst[:len(dst)+len(out)], nil
}

// Compress appends the compression of src with codec to dst and returns
// it. codec must be one of the codec ids; CodecNone appends src as is.
func (c *Codecs) Compress(codec int8, dst, src []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		c.buf.Reset()
		if c.gzw == nil {
			c.gzw = gzip.NewWriter(&c.buf)
		} else {
			c.gzw.Reset(&c.buf)
		}
		if _, err := c.gzw.Write(src); err != nil {
			return nil, err
		}
		if err := c.gzw.Close(); err != nil {
			return nil, err
		}
		return append(dst, c.buf.Bytes()...), nil
	case CodecSnappy:
		dst = append(dst, xerialHeader[:]...)
		for len(src) > 0 {
			chunk := src[:min(len(src), xerialBlockSize)]
			src = src[len(chunk):]
			at := len(dst)
			dst = append(dst, 0, 0, 0, 0)
			dst = append(dst, make([]byte, s2.MaxEncodedLen(len(chunk)))...)
			enc := s2.EncodeSnappy(dst[at+4:], chunk)
			binary.BigEndian.PutUint32(dst[at:], uint32(len(enc)))
			dst = dst[:at+4+len(enc)]
		}
		return dst, nil
	case CodecLZ4:
		c.buf.Reset()
		if c.lzw == nil {
			c.lzw = lz4.NewWriter(&c.buf)
		} else {
			c.lzw.Reset(&c.buf)
		}
		if _, err := c.lzw.Write(src); err != nil {
			return nil, err
		}
		if err := c.lzw.Close(); err != nil {
			return nil, err
		}
		return append(dst, c.buf.Bytes()...), nil
	case CodecZstd:
		if c.zenc == nil {
			var err error
			// Concurrency 1 and EncodeAll start no goroutine. A 64 KiB
			// window, as franz-go uses, keeps each batch cheap to decode.
			c.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(64<<10), zstd.WithZeroFrames(true))
			if err != nil {
				return nil, err
			}
		}
		return c.zenc.EncodeAll(src, dst), nil
	}
	return nil, fmt.Errorf("record: unknown compression codec %d", codec)
}
