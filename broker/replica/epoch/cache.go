package epoch

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/weir-dev/weir/broker/replica/internal/assert"
	"github.com/weir-dev/weir/env"
)

// Undefined and UndefinedOffset are Kafka's UNDEFINED_EPOCH and
// UNDEFINED_EPOCH_OFFSET: the answer when no epoch fits.
const (
	Undefined       int32 = -1
	UndefinedOffset int64 = -1
)

// Entry says that leader epoch Epoch's batches start at StartOffset.
type Entry struct {
	Epoch       int32
	StartOffset int64
}

// Cache maps leader epochs to the offset their first batch has (or will
// have) in one partition's log: Kafka's LeaderEpochFileCache. It is safe
// for concurrent use: OffsetForLeaderEpoch answers and divergence checks
// read it while the append path assigns.
//
// A Cache made by Open writes its checkpoint (atomically, fsynced) after
// every change, before the method returns; a Cache made by New lives in
// memory only. A failed write is returned; the partition must then stop
// writing its log, as after any failed fsync (the change stays in memory,
// and the file keeps what it had, which a reopen repairs against the log).
type Cache struct {
	mu      sync.RWMutex
	entries []Entry // strictly increasing in Epoch and in StartOffset
	fs      env.FS  // nil: no checkpoint
	path    string
	buf     []byte // reused checkpoint encoding
}

// New returns an in-memory cache holding entries, which must be strictly
// increasing in both fields.
func New(entries []Entry) (*Cache, error) {
	c := &Cache{}
	for _, e := range entries {
		if e.Epoch < 0 || e.StartOffset < 0 {
			return nil, fmt.Errorf("epoch: invalid entry %+v", e)
		}
		if n := len(c.entries); n > 0 && (e.Epoch <= c.entries[n-1].Epoch || e.StartOffset <= c.entries[n-1].StartOffset) {
			return nil, fmt.Errorf("epoch: entry %+v does not follow %+v", e, c.entries[n-1])
		}
		c.entries = append(c.entries, e)
	}
	return c, nil
}

func newFileCache(fs env.FS, dir string, entries []Entry) *Cache {
	return &Cache{fs: fs, path: filepath.Join(dir, CheckpointFile), entries: entries}
}

// Assign records that epoch starts at start, with Kafka's rules: nothing
// changes if epoch is already the latest and starts at or before start (the
// common case: another batch of the current epoch). Otherwise every entry
// from the end whose epoch is >= epoch or whose start is >= start is
// removed (they contradict the new one: a log truncated and rewritten), and
// the entry is added. Called when a replica becomes leader (epoch, its log
// end) and for every appended batch (its partition leader epoch, its base
// offset); batches with a negative epoch (from producers before leader
// epochs were stamped) are not recorded.
func (c *Cache) Assign(epoch int32, start int64) error {
	if epoch < 0 {
		return nil
	}
	if start < 0 {
		return fmt.Errorf("epoch: assign epoch %d at negative offset %d", epoch, start)
	}
	c.mu.RLock()
	needed := c.updateNeeded(epoch, start)
	c.mu.RUnlock()
	if !needed {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.updateNeeded(epoch, start) {
		return nil
	}
	c.assignLocked(epoch, start)
	return c.flushLocked()
}

func (c *Cache) updateNeeded(epoch int32, start int64) bool {
	n := len(c.entries)
	return n == 0 || c.entries[n-1].Epoch != epoch || start < c.entries[n-1].StartOffset
}

func (c *Cache) assignLocked(epoch int32, start int64) {
	n := len(c.entries)
	for n > 0 && (c.entries[n-1].Epoch >= epoch || c.entries[n-1].StartOffset >= start) {
		n--
	}
	c.entries = append(c.entries[:n], Entry{Epoch: epoch, StartOffset: start})
	c.check()
}

// Latest returns the newest entry.
func (c *Cache) Latest() (Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return Entry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// LatestEpoch returns the newest epoch, or Undefined when the cache is
// empty.
func (c *Cache) LatestEpoch() int32 {
	if e, ok := c.Latest(); ok {
		return e.Epoch
	}
	return Undefined
}

// Earliest returns the oldest entry.
func (c *Cache) Earliest() (Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.entries) == 0 {
		return Entry{}, false
	}
	return c.entries[0], true
}

// Entries returns a copy of the entries, oldest first.
func (c *Cache) Entries() []Entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.entries)
}

// EndOffsetFor answers OffsetForLeaderEpoch for requested on a log ending
// at logEnd, with Kafka's rules (LeaderEpochFileCache.endOffsetFor):
//   - requested is Undefined: (Undefined, UndefinedOffset);
//   - requested is the latest epoch: (requested, logEnd), the epoch is
//     still being written;
//   - otherwise, with the largest known epoch <= requested and the first
//     epoch > requested: that epoch and the next one's start offset. So an
//     epoch the cache does not know, between two it does, is answered with
//     the one before it, and the follower iterates;
//   - requested below every known epoch: (requested, the first entry's
//     start), which sends a follower back to the log start (the epochs
//     before it were removed with the data they covered);
//   - requested above every known epoch, or an empty cache: (Undefined,
//     UndefinedOffset).
func (c *Cache) EndOffsetFor(requested int32, logEnd int64) (int32, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := len(c.entries)
	switch {
	case requested == Undefined || n == 0:
		return Undefined, UndefinedOffset
	case c.entries[n-1].Epoch == requested:
		return requested, logEnd
	case requested > c.entries[n-1].Epoch:
		return Undefined, UndefinedOffset
	}
	// The first entry with an epoch above requested.
	i, _ := slices.BinarySearchFunc(c.entries, requested+1, func(e Entry, t int32) int {
		return int(e.Epoch) - int(t)
	})
	if i == 0 {
		return requested, c.entries[0].StartOffset
	}
	return c.entries[i-1].Epoch, c.entries[i].StartOffset
}

// EpochForOffset returns the epoch of the batch holding offset: the epoch
// of the last entry starting at or before it.
func (c *Cache) EpochForOffset(offset int64) (int32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, found := slices.BinarySearchFunc(c.entries, offset, func(e Entry, t int64) int {
		switch {
		case e.StartOffset < t:
			return -1
		case e.StartOffset > t:
			return 1
		}
		return 0
	})
	if found {
		return c.entries[i].Epoch, true
	}
	if i == 0 {
		return Undefined, false
	}
	return c.entries[i-1].Epoch, true
}

// TruncateFromEnd removes every entry starting at or after end: the log
// was truncated to end (a follower cutting a divergent suffix, or recovery
// cutting a torn tail).
func (c *Cache) TruncateFromEnd(end int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	c.truncateFromEndLocked(end)
	if n == len(c.entries) {
		return nil
	}
	return c.flushLocked()
}

// TruncateFromStart drops what lies before start, the log's new start
// offset (retention, DeleteRecords): the entries starting at or before it
// are removed, and the last of them comes back starting at start, since its
// epoch still covers the first batches kept.
func (c *Cache) TruncateFromStart(start int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.entries
	c.truncateFromStartLocked(start)
	if len(before) == len(c.entries) && (len(before) == 0 || before[0] == c.entries[0]) {
		return nil
	}
	c.check()
	return c.flushLocked()
}

// Clear removes every entry: the log was emptied and restarted elsewhere
// (log.TruncateFullyAndStartAt).
func (c *Cache) Clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		return nil
	}
	c.entries = c.entries[:0]
	return c.flushLocked()
}

// flushLocked writes the checkpoint: to a temporary file, fsynced, renamed
// over the old one, the directory fsynced. A crash leaves the old file or
// the new one. Call with mu held for writing.
func (c *Cache) flushLocked() error {
	if c.fs == nil {
		return nil
	}
	c.buf = appendCheckpoint(c.buf[:0], c.entries)
	if err := env.WriteFileAtomic(c.fs, c.path, c.buf); err != nil {
		return fmt.Errorf("epoch: writing %s: %w", c.path, err)
	}
	return nil
}

// check asserts the cache's shape. Call with mu held.
func (c *Cache) check() {
	if !assert.Enabled {
		return
	}
	for i := 1; i < len(c.entries); i++ {
		prev, e := c.entries[i-1], c.entries[i]
		assert.That(e.Epoch > prev.Epoch && e.StartOffset > prev.StartOffset,
			"leader epoch cache not increasing: %+v after %+v", e, prev)
	}
}
