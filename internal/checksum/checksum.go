// Package checksum is the one convention of Weir's small state files
// (producer ids, producer state snapshots, the clean-shutdown marker, the
// metadata): a CRC-32C (Castagnoli, the checksum of Kafka's record batches)
// of the content, stored big endian after it.
//
// Invariant: Split accepts exactly what Append produced, for any bytes
// before it: a file whose checksum does not match is refused, never read
// as other content.
package checksum

import (
	"encoding/binary"
	"hash/crc32"
)

var table = crc32.MakeTable(crc32.Castagnoli)

// Of returns the CRC-32C of b.
func Of(b []byte) uint32 { return crc32.Checksum(b, table) }

// Append appends the CRC-32C of buf[from:] to buf.
func Append(buf []byte, from int) []byte {
	return binary.BigEndian.AppendUint32(buf, Of(buf[from:]))
}

// Split checks the CRC-32C stored in the last 4 bytes of b against the
// bytes before them and returns those bytes. ok is false if b is shorter
// than a checksum or it does not match.
func Split(b []byte) (body []byte, got, stored uint32, ok bool) {
	if len(b) < 4 {
		return nil, 0, 0, false
	}
	body = b[:len(b)-4]
	got, stored = Of(body), binary.BigEndian.Uint32(b[len(body):])
	return body, got, stored, got == stored
}
