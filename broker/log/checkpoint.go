package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// Two small files in the log's directory keep what the segment files cannot
// say, each written whole with env.WriteFileAtomic and carrying a CRC-32C:
//
//	log-start-offset (Kafka's log-start-offset-checkpoint, per log):
//	  magic "weirlso1", start int64, crc
//	cleaner-offset (Kafka's cleaner-offset-checkpoint, per log):
//	  magic "weircof2", cleanedTo int64, dirtyFrom int64, horizon int64,
//	  tombstones below int64, tombstones gen int64, crc
//	  (an older "weircof1" file has no tombstone mark: it reads as none)
//
// The start offset file is written, durably, before any segment below the
// new start is removed and before a DeleteRecords is answered, so after a
// crash the start never goes back. The cleaner file is written before a
// cleaned segment is swapped in (see commitGroup), raising cleanedTo:
// recovery allows gaps in the active segment only below it (a truncation
// may make a cleaned segment active again), so that a batch whose base
// offset jumped forward is still caught as corrupt in the active segment of
// a log whose tail the cleaner never touched. dirtyFrom (Kafka's first
// dirty offset) and horizon are set only when a pass completes, so a pass
// cut short by a crash is done again. A lost cleaner file costs a whole
// pass, and the tombstone mark (see TombstoneMark).
//
// The cleaner file also carries the tombstone mark (TombstoneMark): raised
// in the same write that precedes the swap removing a tombstone, so no
// crash can leave a log that lacks a tombstone its mark does not cover.
const (
	startFile    = "log-start-offset"
	startMagic   = "weirlso1"
	cleanerFile  = "cleaner-offset"
	cleanerMagic = "weircof2"
	// cleanerMagicV1: the cleaner file before the tombstone mark.
	cleanerMagicV1 = "weircof1"
	cleanerValsV1  = 3
	cleanerVals    = 5
	// checkpointReads: a checkpoint that fails its CRC is read again this
	// many times before it is taken for corrupt (a flip on the way).
	checkpointReads = 5
)

var errBadCheckpoint = errors.New("log: checkpoint file is corrupt")

func encodeCheckpoint(magic string, vals ...int64) []byte {
	buf := make([]byte, 0, len(magic)+8*len(vals)+4)
	buf = append(buf, magic...)
	for _, v := range vals {
		buf = binary.BigEndian.AppendUint64(buf, uint64(v))
	}
	return checksum.Append(buf, 0)
}

func decodeCheckpoint(b []byte, magic string, n int) ([]int64, error) {
	if len(b) != len(magic)+8*n+4 || string(b[:len(magic)]) != magic {
		return nil, errBadCheckpoint
	}
	if _, _, _, ok := checksum.Split(b); !ok {
		return nil, errBadCheckpoint
	}
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(binary.BigEndian.Uint64(b[len(magic)+8*i:]))
	}
	return vals, nil
}

// readCheckpoint reads a checkpoint file of at most limit bytes with
// decode; found is false when there is none. A file that never reads back
// whole is errBadCheckpoint.
func (l *Log) readCheckpoint(name string, limit int64, decode func([]byte) ([]int64, error)) (vals []int64, found bool, err error) {
	path := filepath.Join(l.dir, name)
	err = env.ReadFileVerified(l.fs, path, limit, checkpointReads, func(b []byte) (err error) {
		vals, err = decode(b)
		return err
	})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, false, nil
	case err != nil && !errors.Is(err, errBadCheckpoint):
		return nil, false, fmt.Errorf("reading %s: %w", path, err)
	}
	return vals, true, err
}

// writeStart records the log start offset durably. Call with maintMu held
// (or during Open).
func (l *Log) writeStart(start int64) error {
	return env.WriteFileAtomic(l.fs, filepath.Join(l.dir, startFile), encodeCheckpoint(startMagic, start))
}

// writeCleaner records the cleaner's checkpoint durably. Call with ckptMu
// held.
func (l *Log) writeCleaner(cleanedTo, dirtyFrom, horizon int64, mark TombstoneMark) error {
	return env.WriteFileAtomic(l.fs, filepath.Join(l.dir, cleanerFile), encodeCheckpoint(cleanerMagic, cleanedTo, dirtyFrom, horizon, mark.Below, mark.Gen))
}

// decodeCleaner decodes the cleaner file, either version; a v1 file has
// no tombstone mark (its vals[3:] are zero).
func decodeCleaner(b []byte) ([]int64, error) {
	if len(b) == len(cleanerMagicV1)+8*cleanerValsV1+4 {
		vals, err := decodeCheckpoint(b, cleanerMagicV1, cleanerValsV1)
		return append(vals, 0, 0), err
	}
	return decodeCheckpoint(b, cleanerMagic, cleanerVals)
}

// loadCheckpoints reads both files at Open. A missing start file means the
// first segment's base; a missing cleaner file, a log never cleaned. A
// start file that is corrupt fails Open (the start must not go back); a
// corrupt cleaner file allows gaps anywhere, since where the cleaner left
// them is unknown, and asks for a whole clean; its tombstone mark is lost
// with it (see TombstoneMark for why it is not guessed).
func (l *Log) loadCheckpoints() error {
	l.horizon = math.MaxInt64
	vals, found, err := l.readCheckpoint(startFile, int64(len(startMagic)+8+4), func(b []byte) ([]int64, error) {
		return decodeCheckpoint(b, startMagic, 1)
	})
	switch {
	case err != nil:
		return fmt.Errorf("log start offset: %w", err)
	case found && vals[0] < 0:
		return fmt.Errorf("log start offset %d: %w", vals[0], errBadCheckpoint)
	case found:
		l.start = vals[0]
	}
	vals, found, err = l.readCheckpoint(cleanerFile, int64(len(cleanerMagic)+8*cleanerVals+4), decodeCleaner)
	switch {
	case errors.Is(err, errBadCheckpoint):
		// recover lowers cleanedTo to the end once the segments are read.
		l.cleanedTo, l.dirtyFrom, l.horizon = math.MaxInt64, 0, math.MinInt64
		l.recovery.CleanerCheckpointLost = true
	case err != nil:
		return err
	case found:
		l.cleanedTo, l.dirtyFrom, l.horizon = max(vals[0], 0), max(vals[1], 0), vals[2]
		l.tombstones = TombstoneMark{Below: max(vals[3], 0), Gen: max(vals[4], 0)}
	}
	return nil
}
