package log

import "fmt"

// TombstoneMark says which tombstones a log may lack: every tombstone ever
// written to it (or to the logs it copied from) that it no longer holds
// is at an offset below Below; Gen grows each time that set may have
// grown (a cleaner pass removed a tombstone, or the mark was raised by
// InheritTombstoneMark), so that two reads of the mark that are equal
// mean no tombstone went in between.
//
// Why it exists: the cleaner removes a tombstone delete.retention.ms
// after it first keeps it, together with every older record of its key.
// A follower that was away meanwhile still holds an older record of the
// key below its log end, and catching up it copies the leader's log past
// that end, where the tombstone no longer is: it would keep the deleted
// value forever, and serve it once it leads (seed 23094). A follower whose
// log ends below its leader's Below therefore restarts its log at the
// leader's start (replica.Follower), and a replica that copies a leader's
// batches inherits the leader's mark, since its log then lacks what the
// leader's lacked.
//
// A leader with a follower catching up cleans with KeepTombstones, so its
// mark does not move, and restart that follower's copy, before the copy
// is done (replica.Leader.FollowerCatchingUp).
//
// Below never passes a high watermark the log's partition reached: the
// cleaner removes nothing at or above its MaxOffset, and an inherited
// mark was the leader's. So a replica in the ISR, which holds every
// offset below any high watermark reached, never ends below it, and the
// restart never empties an ISR member. For the same reason the mark is
// not guessed when the cleaner's checkpoint is lost, or was written
// before the mark existed (weircof1): it reads as none, since a guess as
// high as the log end could empty an ISR member. Such a log forgets the
// tombstones it removed before, as every log did before the mark: a
// follower that was away across those removals may keep a deleted key.
type TombstoneMark struct {
	Below int64
	Gen   int64
}

func (m TombstoneMark) String() string { return fmt.Sprintf("below %d gen %d", m.Below, m.Gen) }

// TombstoneMark is the log's mark. A leader reads it after the records it
// serves (it is raised before a swap removes a tombstone), so a read that
// lacks a tombstone comes with a mark above it.
func (l *Log) TombstoneMark() TombstoneMark {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tombstones
}

// InheritTombstoneMark raises the log's mark to m.Below, durably (in the
// cleaner's checkpoint), if it is below, and then moves Gen on: a follower
// calls it before it appends batches copied from a leader whose mark is m.
// It changes no data, and writes nothing when the mark is already that
// high.
func (l *Log) InheritTombstoneMark(m TombstoneMark) error {
	l.ckptMu.Lock()
	defer l.ckptMu.Unlock()
	l.mu.RLock()
	err := l.writable()
	mark := l.tombstones
	to, dirty, h := l.cleanedTo, l.dirtyFrom, l.horizon
	l.mu.RUnlock()
	if m.Below <= mark.Below {
		return nil
	}
	if err != nil {
		return err
	}
	mark = TombstoneMark{Below: m.Below, Gen: mark.Gen + 1}
	if err := l.writeCleaner(to, dirty, h, mark); err != nil {
		return err
	}
	l.mu.Lock()
	l.tombstones = mark
	l.mu.Unlock()
	return nil
}
