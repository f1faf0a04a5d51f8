package epoch

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// CheckpointFile is the cache's file in a partition's directory, named and
// laid out as Kafka's (LeaderEpochCheckpointFile), so a reader of Kafka's
// data directories reads Weir's too:
//
//	0                  format version
//	2                  number of entries
//	0 0                epoch, start offset, separated by one space
//	3 150
//
// Lines end with "\n". The format carries no checksum (Kafka's does not
// either): a read is trusted only when several reads agree (see Open), and
// a file that does not decode, or whose entries are not strictly
// increasing, is rebuilt from the log.
const CheckpointFile = "leader-epoch-checkpoint"

const checkpointVersion = 0

// maxCheckpointBytes bounds a checkpoint read: a million entries, far more
// than any log has leader changes it still holds.
const maxCheckpointBytes = 1 << 26

// ErrBadCheckpoint means the checkpoint's bytes are not a valid file.
var ErrBadCheckpoint = errors.New("epoch: leader-epoch-checkpoint is damaged")

// appendCheckpoint appends the file form of entries to dst.
func appendCheckpoint(dst []byte, entries []Entry) []byte {
	dst = strconv.AppendInt(dst, checkpointVersion, 10)
	dst = append(dst, '\n')
	dst = strconv.AppendInt(dst, int64(len(entries)), 10)
	dst = append(dst, '\n')
	for _, e := range entries {
		dst = strconv.AppendInt(dst, int64(e.Epoch), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, e.StartOffset, 10)
		dst = append(dst, '\n')
	}
	return dst
}

// decodeCheckpoint parses a checkpoint strictly: the version, a count that
// matches the entry lines exactly, decimal numbers without signs or
// padding, entries strictly increasing in both epoch and start offset (the
// only shape Cache.Assign produces), nothing after the last line.
func decodeCheckpoint(b []byte) ([]Entry, error) {
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines) < 3 || len(lines[len(lines)-1]) != 0 {
		return nil, fmt.Errorf("%w: %d lines, or no final newline", ErrBadCheckpoint, len(lines)-1)
	}
	lines = lines[:len(lines)-1]
	version, err := parseDecimal(lines[0], 1<<31-1)
	if err != nil || version != checkpointVersion {
		return nil, fmt.Errorf("%w: version %q", ErrBadCheckpoint, lines[0])
	}
	count, err := parseDecimal(lines[1], 1<<31-1)
	if err != nil || count != int64(len(lines)-2) {
		return nil, fmt.Errorf("%w: count %q for %d entries", ErrBadCheckpoint, lines[1], len(lines)-2)
	}
	entries := make([]Entry, 0, count)
	for i, line := range lines[2:] {
		epochText, offsetText, ok := bytes.Cut(line, []byte{' '})
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is %q", ErrBadCheckpoint, i, line)
		}
		epoch, err1 := parseDecimal(epochText, 1<<31-1)
		offset, err2 := parseDecimal(offsetText, 1<<63-1)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: entry %d is %q", ErrBadCheckpoint, i, line)
		}
		e := Entry{Epoch: int32(epoch), StartOffset: offset}
		if n := len(entries); n > 0 && (e.Epoch <= entries[n-1].Epoch || e.StartOffset <= entries[n-1].StartOffset) {
			return nil, fmt.Errorf("%w: entry %d (%d %d) does not follow (%d %d)", ErrBadCheckpoint, i, e.Epoch, e.StartOffset, entries[n-1].Epoch, entries[n-1].StartOffset)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// parseDecimal parses a non-negative decimal with no sign and no leading
// zero (but "0"), at most max.
func parseDecimal(b []byte, max int64) (int64, error) {
	if len(b) == 0 || len(b) > 19 || (len(b) > 1 && b[0] == '0') {
		return 0, ErrBadCheckpoint
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrBadCheckpoint
		}
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || v > max {
		return 0, ErrBadCheckpoint
	}
	return v, nil
}
