package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// cleanFile marks a log closed cleanly (Kafka's .kafka_cleanshutdown, per
// log): the active segment was synced with its indexes, so the next Open
// checks those indexes as it does a rolled segment's instead of scanning the
// whole segment. It names the segment it vouches for:
//
//	magic [8]byte "weircln1"
//	base  int64   the active segment's base offset
//	size  int64   its size in bytes
//	next  int64   the offset after its last batch
//	crc   uint32  CRC-32C of the above
//
// Open removes it, durably, before the log is written again, so it never
// speaks for a segment that changed after it was written.
const (
	cleanFile      = "clean-shutdown"
	cleanMagic     = "weircln1"
	cleanFileSize  = len(cleanMagic) + 3*8 + 4
	cleanFileReads = 5 // more than the simulator's fault atlas flips in a row
)

type cleanMarker struct{ base, size, next int64 }

func (m cleanMarker) encode() []byte {
	buf := make([]byte, 0, cleanFileSize)
	buf = append(buf, cleanMagic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.base))
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.size))
	buf = binary.BigEndian.AppendUint64(buf, uint64(m.next))
	return checksum.Append(buf, 0)
}

var errBadMarker = errors.New("log: clean-shutdown marker is corrupt")

func decodeCleanMarker(b []byte) (cleanMarker, error) {
	if len(b) != cleanFileSize || string(b[:len(cleanMagic)]) != cleanMagic {
		return cleanMarker{}, errBadMarker
	}
	if _, _, _, ok := checksum.Split(b); !ok {
		return cleanMarker{}, errBadMarker
	}
	m := cleanMarker{
		base: int64(binary.BigEndian.Uint64(b[8:])),
		size: int64(binary.BigEndian.Uint64(b[16:])),
		next: int64(binary.BigEndian.Uint64(b[24:])),
	}
	if m.base < 0 || m.size < 0 || m.next < m.base {
		return cleanMarker{}, errBadMarker
	}
	return m, nil
}

// markClean writes the active segment's indexes and then the marker. The
// segment's data must be synced. Call with mu held for writing, at close.
func (l *Log) markClean() error {
	seg := l.active()
	if err := l.writeIndexes(seg); err != nil {
		return err
	}
	m := cleanMarker{base: seg.base, size: seg.size, next: l.end}
	return env.WriteFileAtomic(l.fs, filepath.Join(l.dir, cleanFile), m.encode())
}

// takeCleanMarker reads and removes the marker (the caller syncs the
// directory). found is false when there is none; ok is false when it could
// not be read whole, and then it is only removed.
func (l *Log) takeCleanMarker() (m cleanMarker, found, ok bool, err error) {
	path := filepath.Join(l.dir, cleanFile)
	err = env.ReadFileVerified(l.fs, path, int64(cleanFileSize), cleanFileReads, func(b []byte) (err error) {
		m, err = decodeCleanMarker(b)
		return err
	})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return cleanMarker{}, false, false, nil
	case err != nil && !errors.Is(err, errBadMarker):
		return cleanMarker{}, false, false, fmt.Errorf("reading %s: %w", path, err)
	}
	if rerr := l.fs.Remove(path); rerr != nil {
		return cleanMarker{}, false, false, rerr
	}
	return m, true, err == nil, nil
}
