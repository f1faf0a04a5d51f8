package partition

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/txn"
	"github.com/weir-dev/weir/env"
)

// Producer state snapshots (txn.PartitionProducers.AppendSnapshot), as in
// Kafka: <offset>.snapshot in the partition's directory holds the producer
// state of every batch below offset (20 digits, like segment names). One is
// written when a segment rolls (the rolled segment is synced by then) and
// one at a clean shutdown (the log is synced first), so a start replays the
// log from the newest snapshot that fits it, at most a segment after a
// crash and nothing after a clean shutdown, instead of from its start.
const snapshotSuffix = ".snapshot"

// keptSnapshots: the newest snapshots kept; older ones are removed when a
// new one is written. Two, so that a damaged newest one still leaves one.
const keptSnapshots = 2

// snapshotReads is how many times a snapshot is read before it is taken
// for corrupt rather than flipped on the way from the disk.
const snapshotReads = 5

// maxSnapshotBytes bounds a snapshot read: about 5 million producers.
const maxSnapshotBytes = 1 << 30

func (p *Partition) snapshotPath(offset int64) string {
	return filepath.Join(p.dir, fmt.Sprintf("%020d%s", offset, snapshotSuffix))
}

// SnapshotOffsets lists the offsets of the partition's producer state
// snapshots, newest first.
func (p *Partition) SnapshotOffsets() ([]int64, error) {
	names, err := p.fs.List(p.dir)
	if err != nil {
		return nil, err
	}
	var offsets []int64
	for _, name := range names {
		digits, ok := strings.CutSuffix(name, snapshotSuffix)
		if !ok || len(digits) != 20 {
			continue
		}
		if o, err := strconv.ParseInt(digits, 10, 64); err == nil && o >= 0 {
			offsets = append(offsets, o)
		}
	}
	slices.Sort(offsets)
	slices.Reverse(offsets)
	return offsets, nil
}

// loadProducers rebuilds the producer state at open: from the newest
// snapshot that fits the log (its offset between the log's start and end)
// and reads back whole, then by replaying the log from there; with none,
// from the log's start. It records where the replay started.
//
// A snapshot is right while the batches below its offset are the ones it
// saw: they were synced when it was written, and a crash cuts only unsynced
// batches. Recovery may still cut below it (a batch corrupt on disk): such
// a snapshot no longer fits, and is removed durably here, before anything
// is appended, so that the log growing past it again cannot make it fit.
// A follower's truncation (replicaLog.TruncateTo) rebuilds its producer
// state here too, after cutting its log.
func (p *Partition) loadProducers() error {
	if p.cfg.Defects.ForgetProducers {
		p.producers.Reset() // DEFECT: the producers' sequence numbers are gone
		p.replayedFrom = p.log.EndOffset()
		return nil
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		return err
	}
	start, end := p.log.StartOffset(), p.log.EndOffset()
	removed := false
	for _, o := range offsets {
		if o > end {
			if err := p.fs.Remove(p.snapshotPath(o)); err != nil {
				return err
			}
			removed = true
		}
	}
	if removed {
		if err := p.fs.SyncDir(p.dir); err != nil {
			return err
		}
	}
	from := start
	for _, o := range offsets {
		if o > end || o < start {
			continue
		}
		var upTo int64
		err := env.ReadFileVerified(p.fs, p.snapshotPath(o), maxSnapshotBytes, snapshotReads, func(data []byte) (err error) {
			upTo, err = p.producers.RestoreSnapshot(data)
			if err == nil && upTo != o {
				err = fmt.Errorf("%w: covers up to %d, named %d", txn.ErrSnapshotCorrupt, upTo, o)
			}
			return err
		})
		if err == nil {
			from = o
			break
		}
		p.logger.Warn("producer state snapshot unreadable; trying an older one", "topic", p.topic, "partition", p.index, "offset", o, "err", err)
	}
	if from == start {
		p.producers.Reset()
	}
	// A read that fails its CRC here is a transient fault (recovery has
	// just validated these bytes): start the replay over a few times
	// before giving up.
	snapshot := p.producers.AppendSnapshot(nil, from)
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			if _, err := p.producers.RestoreSnapshot(snapshot); err != nil {
				return err
			}
		}
		err = p.log.Batches(from, func(batch *record.Batch) error {
			p.producers.Replay(batch)
			return nil
		})
		if !errors.Is(err, record.ErrCorrupt) {
			break
		}
	}
	p.replayedFrom = from
	return err
}

// saveProducers writes the snapshot of the producer state, which must hold
// exactly the batches below upTo, all of them synced, and removes all but
// the keptSnapshots newest. An empty log needs none. Call with mu held.
func (p *Partition) saveProducers(upTo int64) error {
	if upTo == p.log.StartOffset() {
		return nil
	}
	if err := env.WriteFileAtomic(p.fs, p.snapshotPath(upTo), p.producers.AppendSnapshot(nil, upTo)); err != nil {
		return err
	}
	offsets, err := p.SnapshotOffsets()
	if err != nil {
		return err
	}
	for _, o := range offsets[min(keptSnapshots, len(offsets)):] {
		if err := p.fs.Remove(p.snapshotPath(o)); err != nil {
			return err
		}
	}
	return nil
}
