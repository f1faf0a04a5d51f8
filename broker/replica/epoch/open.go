package epoch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// Log is what Open needs of a partition's log: its bounds, and its batches
// to rebuild a damaged checkpoint from. *log.Log has these methods.
type Log interface {
	StartOffset() int64
	EndOffset() int64
	// Batches calls fn for each batch from the one holding from up to the
	// end, in order; see log.Log.Batches.
	Batches(from int64, fn func(b *record.Batch) error) error
}

// Recovery says what Open did.
type Recovery struct {
	// Rebuilt: the checkpoint was missing, damaged or could not be read
	// consistently, and the cache was rebuilt from the batches' partition
	// leader epochs. Reason says why.
	Rebuilt bool
	Reason  error
	// Trimmed: entries past the log's end (a crash cut the tail, or a
	// leader recorded its epoch before writing in it) or before its start
	// were removed.
	Trimmed bool
}

const (
	// agreeingReads identical reads in a row are needed before the file's
	// bytes are trusted: the format has no checksum, and a bit flipped on
	// the way from the disk can still decode (a digit for a digit). Three,
	// as the log's recovery uses, make two identical flips harmless too.
	agreeingReads = 3
	// readRounds bounds the rounds of agreeingReads reads tried before the
	// file counts as unreadable and the cache is rebuilt from the log.
	readRounds = 8
)

// Open loads dir's checkpoint for a log that recovery has opened, and
// makes it agree with the log:
//   - a missing file (a new partition, or a log written before leader
//     epochs) and a damaged one (does not decode, or reads never agree)
//     are rebuilt from the log: Kafka's assign rule applied to every
//     batch's partition leader epoch, in offset order;
//   - entries starting at or after the log's end are removed, and the
//     start is moved up to the log's start (TruncateFromEnd,
//     TruncateFromStart);
//   - if anything changed, the checkpoint is rewritten before Open returns.
//
// A file that decodes and is consistent but lies (written by something
// else) is not detected: Kafka's format has no checksum.
func Open(fs env.FS, dir string, l Log) (*Cache, Recovery, error) {
	var rec Recovery
	path := filepath.Join(dir, CheckpointFile)
	entries, err := readCheckpoint(fs, path)
	dirty := false
	switch {
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrBadCheckpoint) || errors.Is(err, errUnstable):
		rec.Rebuilt, rec.Reason = true, err
		entries, err = rebuild(l)
		if err != nil {
			return nil, rec, fmt.Errorf("epoch: rebuilding %s from the log: %w", path, err)
		}
		dirty = true
	case err != nil:
		return nil, rec, fmt.Errorf("epoch: reading %s: %w", path, err)
	}
	c := newFileCache(fs, dir, entries)
	before := slices.Clone(c.entries)
	c.truncateFromEndLocked(l.EndOffset())
	c.truncateFromStartLocked(l.StartOffset())
	if !slices.Equal(before, c.entries) {
		rec.Trimmed, dirty = true, true
	}
	if dirty {
		if err := c.flushLocked(); err != nil {
			return nil, rec, err
		}
	}
	return c, rec, nil
}

// errUnstable: the reads of the file never agreed.
var errUnstable = errors.New("epoch: reads of the checkpoint do not agree")

// readCheckpoint returns the decoded file once agreeingReads reads in a row
// returned the same bytes.
func readCheckpoint(fs env.FS, path string) ([]Entry, error) {
	for range readRounds {
		data, err := readFile(fs, path)
		if err != nil {
			return nil, err
		}
		agreed := true
		for range agreeingReads - 1 {
			again, err := readFile(fs, path)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(again, data) {
				agreed = false
				break
			}
		}
		if agreed {
			return decodeCheckpoint(data)
		}
	}
	return nil, errUnstable
}

func readFile(fs env.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCheckpointBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadCheckpoint, maxCheckpointBytes)
	}
	return data, nil
}

// rebuild derives the entries from the log's batches.
func rebuild(l Log) ([]Entry, error) {
	c := &Cache{}
	err := l.Batches(l.StartOffset(), func(b *record.Batch) error {
		if b.PartitionLeaderEpoch >= 0 && c.updateNeeded(b.PartitionLeaderEpoch, b.FirstOffset) {
			c.assignLocked(b.PartitionLeaderEpoch, b.FirstOffset)
		}
		return nil
	})
	return c.entries, err
}

func (c *Cache) truncateFromEndLocked(end int64) {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= end {
		n--
	}
	c.entries = c.entries[:n]
}

func (c *Cache) truncateFromStartLocked(start int64) {
	i := 0
	for i < len(c.entries) && c.entries[i].StartOffset <= start {
		i++
	}
	if i == 0 || (i == 1 && c.entries[0].StartOffset == start) {
		return
	}
	kept := Entry{Epoch: c.entries[i-1].Epoch, StartOffset: start}
	c.entries = append([]Entry{kept}, c.entries[i:]...)
}
