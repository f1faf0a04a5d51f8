package log

import (
	"encoding/binary"
	"errors"
)

// ErrUnexpectedOffset means a replicated batch does not start where the log
// ends (Kafka's UnexpectedAppendOffsetException): appending it would leave a
// gap or overwrite offsets. The follower must truncate or refetch instead.
var ErrUnexpectedOffset = errors.New("log: replicated batch does not continue the log")

// AppendReplicated appends one batch that a leader already placed: its
// base offset must be EndOffset(), else ErrUnexpectedOffset, and its bytes
// are stored unchanged, so a follower's log holds the leader's bytes at the
// leader's offsets. raw must have passed record.Parse. It rolls, indexes and
// defers the fsync exactly as Append does, and returns the offset after the
// batch.
//
// A follower whose log is empty at an offset below the leader's log start
// first calls TruncateFullyAndStartAt(leaderStart); AppendReplicated never
// moves the log start itself.
func (l *Log) AppendReplicated(raw []byte) (int64, error) {
	if len(raw) < hdrPrefix {
		return 0, ErrInvalidBatch
	}
	base := int64(binary.BigEndian.Uint64(raw))
	if base < 0 {
		return 0, ErrInvalidBatch
	}
	if _, err := l.appendBatch(raw, base); err != nil {
		return 0, err
	}
	return base + int64(int32(binary.BigEndian.Uint32(raw[hdrLastOffsetDelta:]))) + 1, nil
}
