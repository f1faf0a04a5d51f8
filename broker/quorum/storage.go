package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// The Raft log on disk, in dir:
//
//	snap-<index>.snap   a snapshot: metadata length u32 | SnapshotMetadata | image snapshot | CRC-32C
//	wal-<seq>.log       frames: length u32 | CRC-32C u32 | kind u8 | payload
//
// Frames are entries (raftpb.Entry) and hard states (raftpb.HardState),
// appended and fsynced before the Ready's messages go out. A snapshot is
// written (file fsynced, directory fsynced) before the WAL is rotated.
//
// A rotation (every start, every compaction, every snapshot from the
// leader) writes a new WAL whose first frame, a rotation header, holds the
// length of the frames that follow it and belong to the rotation: the hard
// state and every entry after the compaction point. Header and frames go
// in one write and one fsync, then the directory is fsynced, and only then
// are older WALs and snapshots removed. A WAL whose rotation frames are all
// there is complete: with the newest snapshot it holds the whole log, so
// the WALs before it are never read again. One that a crash cut short
// (shorter than its header says, or without one whole frame) held nothing
// acknowledged: appends go to a WAL only once its rotation is durable.
//
// On start, the newest snapshot that checks out is loaded; then, from the
// newest WAL back, WALs that a crash cut short are dropped, and the newest
// complete WAL is replayed over the snapshot (entries at or below it
// skipped, later ones appended, a rewritten tail replacing the old one).
// WALs without a header, written before rotations had one, are all
// replayed in order, as they always were. A bad frame is a torn tail only
// at the end of the very last WAL: it is cut off, and the cut fsynced
// before the start rotates, so a crash in that rotation cannot leave the
// torn tail in front of a newer WAL. Anywhere else a bad frame was fsynced
// once, so the disk lost it, and the log is refused (errCorruptLog); so is
// a WAL written past the end of a rotation that is not all there.

const (
	frameEntry     = 1
	frameHardState = 2
	// frameRotation opens every WAL a rotation writes; its payload, a
	// u64, is the length of the frames after it that the rotation wrote.
	frameRotation = 3

	frameHeader   = 4 + 4 + 1
	maxFrameBytes = 256 << 20
)

// diskLog is the Raft log of one node: a MemoryStorage that raft reads,
// mirrored to a WAL and snapshots on an env.FS. Only the node's loop
// goroutine calls it.
type diskLog struct {
	fs  env.FS
	dir string
	*raft.MemoryStorage

	wal    env.File
	walSeq uint64
	buf    []byte
	// onDisk is the index of the newest snapshot file. The
	// MemoryStorage's snapshot may be newer (see Node.afterConfChange)
	// and only in memory; rotate must not remove the file it relies on.
	onDisk uint64
}

// errCorruptLog marks a log that cannot be recovered without losing
// fsynced data.
var errCorruptLog = errors.New("quorum: metadata log is corrupt")

// openLog recovers the log in dir. initial, if the dir holds no snapshot,
// is installed as the first one (the bootstrap snapshot of a voter); nil
// starts an empty log (a learner that waits for the leader's snapshot).
func openLog(fs env.FS, dir string, initial *pb.Snapshot) (*diskLog, pb.HardState, error) {
	if err := mkdirDurable(fs, dir); err != nil {
		return nil, pb.HardState{}, err
	}
	l := &diskLog{fs: fs, dir: dir, MemoryStorage: raft.NewMemoryStorage()}
	names, err := fs.List(dir)
	if err != nil {
		return nil, pb.HardState{}, err
	}
	snap, err := l.newestSnapshot(names)
	if err != nil {
		return nil, pb.HardState{}, err
	}
	if snap == nil && initial != nil {
		if err := l.writeSnapshot(*initial); err != nil {
			return nil, pb.HardState{}, err
		}
		snap = initial
	}
	if snap != nil {
		if err := l.ApplySnapshot(*snap); err != nil {
			return nil, pb.HardState{}, err
		}
	}
	hs, err := l.recoverWALs(filesWith(names, "wal-", ".log"))
	if err != nil {
		return nil, pb.HardState{}, err
	}
	first, _ := l.FirstIndex()
	lastIndex, _ := l.LastIndex()
	hs.Commit = min(max(hs.Commit, first-1), lastIndex)
	if !raft.IsEmptyHardState(hs) {
		if err := l.SetHardState(hs); err != nil {
			return nil, pb.HardState{}, err
		}
	}
	// Every start writes a fresh WAL: appends never go to a file whose
	// tail was cut, and the state above is durable in one place.
	if err := l.rotate(hs); err != nil {
		return nil, pb.HardState{}, err
	}
	return l, hs, nil
}

// mkdirDurable creates dir and makes its name, and its parents' names,
// durable: a crash must not take the folder of fsynced files with it.
func mkdirDurable(fs env.FS, dir string) error {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		parent := filepath.Dir(d)
		if err := fs.SyncDir(parent); err != nil {
			return err
		}
		if parent == d || parent == "." || parent == "/" {
			return nil
		}
	}
}

// filesWith returns the numbers in names prefix<N>suffix, ascending.
func filesWith(names []string, prefix, suffix string) []uint64 {
	var out []uint64
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, suffix) {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, prefix), suffix), 10, 64)
		if err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func snapName(index uint64) string { return fmt.Sprintf("snap-%020d.snap", index) }
func walName(seq uint64) string    { return fmt.Sprintf("wal-%020d.log", seq) }

// newestSnapshot loads the newest snapshot whose checksum matches; an
// older one is the fallback for a newest one that a crash tore before its
// WAL rotation made it the only one.
func (l *diskLog) newestSnapshot(names []string) (*pb.Snapshot, error) {
	idx := filesWith(names, "snap-", ".snap")
	for i := len(idx) - 1; i >= 0; i-- {
		var snap *pb.Snapshot
		// A checksum mismatch is read again: a bit flipped on the way
		// from the disk must not make the node fall back to an older
		// snapshot whose WALs are gone.
		err := env.ReadFileVerified(l.fs, filepath.Join(l.dir, snapName(idx[i])), maxSnapBytes, stableReads, func(data []byte) (err error) {
			snap, err = decodeSnapFile(data)
			return err
		})
		switch {
		case err == nil:
			l.onDisk = snap.Metadata.Index
			return snap, nil
		case !errors.Is(err, errCorruptLog):
			return nil, err
		}
	}
	return nil, nil
}

// stableReads is how many times a file whose checksums fail is read again
// before the failure is believed: more than the simulator's fault atlas
// flips in one window, so a transient flip never costs committed entries.
const stableReads = 5

// maxSnapBytes bounds a snapshot read.
const maxSnapBytes = 1 << 30

// readWAL reads a WAL whose frames all check out, reading it again while
// one does not: a torn tail reads the same every time, a flipped bit on the
// way from the disk does not. It returns the read with the longest run of
// good frames.
func (l *diskLog) readWAL(path string) ([]byte, error) {
	var best []byte
	bestGood := -1
	for range stableReads {
		data, err := readAll(l.fs, path)
		if err != nil {
			return nil, err
		}
		good := validFrames(data)
		if good == len(data) {
			return data, nil
		}
		if good > bestGood {
			best, bestGood = data, good
		}
	}
	return best, nil
}

// validFrames is the length of data's prefix of whole, checksummed frames.
func validFrames(data []byte) int {
	off := 0
	for off < len(data) {
		_, _, n, ok := readWALFrame(data[off:])
		if !ok {
			break
		}
		off += n
	}
	return off
}

func readAll(fs env.FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func encodeSnapFile(snap pb.Snapshot) ([]byte, error) {
	meta, err := snap.Metadata.Marshal()
	if err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(meta)))
	b = append(b, meta...)
	b = append(b, snap.Data...)
	return checksum.Append(b, 0), nil
}

func decodeSnapFile(b []byte) (*pb.Snapshot, error) {
	body, _, _, ok := checksum.Split(b)
	if !ok || len(body) < 4 {
		return nil, fmt.Errorf("%w: snapshot checksum", errCorruptLog)
	}
	n := binary.BigEndian.Uint32(body)
	if uint64(n) > uint64(len(body)-4) {
		return nil, fmt.Errorf("%w: snapshot metadata length", errCorruptLog)
	}
	var snap pb.Snapshot
	if err := snap.Metadata.Unmarshal(body[4 : 4+n]); err != nil {
		return nil, fmt.Errorf("%w: snapshot metadata: %v", errCorruptLog, err)
	}
	snap.Data = slices.Clone(body[4+n:])
	return &snap, nil
}

// writeSnapshot makes a snapshot durable under its index.
func (l *diskLog) writeSnapshot(snap pb.Snapshot) error {
	data, err := encodeSnapFile(snap)
	if err != nil {
		return err
	}
	if err := env.WriteFileAtomic(l.fs, filepath.Join(l.dir, snapName(snap.Metadata.Index)), data); err != nil {
		return err
	}
	l.onDisk = max(l.onDisk, snap.Metadata.Index)
	return nil
}

// walKind is what a start finds a WAL to be.
type walKind uint8

const (
	// walPlain: frames without a rotation header, as every WAL was before
	// rotations had one.
	walPlain walKind = iota + 1
	// walComplete: a rotation whose frames are all there.
	walComplete
	// walCutShort: a rotation that a crash cut short, or a file without
	// one whole frame. Nothing in it was acknowledged.
	walCutShort
)

// classifyWAL tells what data, a whole WAL as read, is. A rotation cut
// short is never longer than its header says: nothing is appended to a WAL
// before its rotation is durable. One that is longer lost bytes that were
// fsynced, and is refused.
func classifyWAL(data []byte) (walKind, error) {
	kind, payload, n, ok := readWALFrame(data)
	switch {
	case !ok:
		return walCutShort, nil
	case kind != frameRotation:
		return walPlain, nil
	case len(payload) != 8:
		return 0, fmt.Errorf("%w: rotation header of %d bytes", errCorruptLog, len(payload))
	}
	size := binary.BigEndian.Uint64(payload)
	if size > uint64(len(data)-n) {
		return walCutShort, nil
	}
	end := n + int(size)
	off := n
	for off < end {
		_, _, m, ok := readWALFrame(data[off:])
		if !ok {
			return 0, fmt.Errorf("%w: rotation cut short at byte %d of %d, but the WAL goes on to byte %d", errCorruptLog, off, end, len(data))
		}
		off += m
	}
	if off != end {
		return 0, fmt.Errorf("%w: a frame crosses the end of the rotation at byte %d", errCorruptLog, end)
	}
	return walComplete, nil
}

// recoverWALs replays the WALs (their numbers, ascending) over the
// snapshot in the MemoryStorage and returns the hard state they hold.
// From the newest back: WALs that a crash cut short are dropped; the
// first one that is not is the last that counts. If it is complete it
// holds the whole log and alone is replayed; otherwise every WAL up to it
// is (a log written before rotations had a header). A bad frame may end
// only the last WAL that counts, and only if none was dropped after it (a
// rotation begins only once the WAL before it has no torn tail); it is
// then cut off for good. rotate removes every WAL read or dropped here.
func (l *diskLog) recoverWALs(wals []uint64) (pb.HardState, error) {
	var hs pb.HardState
	if len(wals) == 0 {
		return hs, nil
	}
	l.walSeq = wals[len(wals)-1]
	n, kind := len(wals), walCutShort
	var data []byte
	for ; n > 0; n-- {
		var err error
		path := filepath.Join(l.dir, walName(wals[n-1]))
		if data, err = l.readWAL(path); err != nil {
			return hs, err
		}
		if kind, err = classifyWAL(data); err != nil {
			return hs, fmt.Errorf("%s: %w", path, err)
		}
		if kind != walCutShort {
			break
		}
	}
	if n == 0 {
		return hs, nil // nothing but rotations cut short: the snapshot is the log
	}
	from := 0
	if kind == walComplete {
		from = n - 1 // the WALs before it are older copies of what it holds
	}
	for i := from; i < n; i++ {
		path := filepath.Join(l.dir, walName(wals[i]))
		wal := data
		if i < n-1 {
			var err error
			if wal, err = l.readWAL(path); err != nil {
				return hs, err
			}
		}
		good, err := l.replay(path, wal, &hs)
		if err != nil {
			return hs, err
		}
		if good == len(wal) {
			continue
		}
		if i < n-1 || n < len(wals) {
			return hs, fmt.Errorf("%w: %s: bad frame at byte %d before a newer WAL", errCorruptLog, path, good)
		}
		if err := l.cutTail(path, good); err != nil {
			return hs, err
		}
	}
	return hs, nil
}

// replay reads data, the WAL at path, into the MemoryStorage up to its
// first bad frame, and returns that frame's offset (len(data) if none).
func (l *diskLog) replay(path string, data []byte, hs *pb.HardState) (int, error) {
	off := 0
	for off < len(data) {
		kind, payload, n, ok := readWALFrame(data[off:])
		if !ok {
			return off, nil
		}
		switch {
		case kind == frameEntry:
			var e pb.Entry
			if err := e.Unmarshal(payload); err != nil {
				return 0, fmt.Errorf("%w: %s: entry at byte %d: %v", errCorruptLog, path, off, err)
			}
			if err := l.appendRecovered(e); err != nil {
				return 0, fmt.Errorf("%s: %w", path, err)
			}
		case kind == frameHardState:
			if err := hs.Unmarshal(payload); err != nil {
				return 0, fmt.Errorf("%w: %s: hard state at byte %d: %v", errCorruptLog, path, off, err)
			}
		case kind == frameRotation && off == 0:
			// The rotation's frames follow and replay like any others.
		default:
			return 0, fmt.Errorf("%w: %s: frame kind %d at byte %d", errCorruptLog, path, kind, off)
		}
		off += n
	}
	return off, nil
}

// cutTail truncates the WAL at path to its first size bytes and fsyncs
// it. The rotation that follows a start may be cut short by a crash and
// leave a WAL after this one; the torn tail must be gone by then, or the
// next start could not tell it from a frame the disk lost (sweep seed
// 11156's shape).
func (l *diskLog) cutTail(path string, size int) error {
	f, err := l.fs.OpenReadWrite(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (l *diskLog) appendRecovered(e pb.Entry) error {
	first, _ := l.FirstIndex()
	if e.Index < first {
		return nil // covered by the snapshot
	}
	last, _ := l.LastIndex()
	if e.Index > last+1 {
		return fmt.Errorf("%w: entry %d after last %d", errCorruptLog, e.Index, last)
	}
	return l.Append([]pb.Entry{e})
}

func appendWALFrame(dst []byte, kind byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)+1))
	crc := checksum.Of(append([]byte{kind}, payload...))
	dst = binary.BigEndian.AppendUint32(dst, crc)
	dst = append(dst, kind)
	return append(dst, payload...)
}

func readWALFrame(b []byte) (kind byte, payload []byte, n int, ok bool) {
	if len(b) < frameHeader {
		return 0, nil, 0, false
	}
	size := binary.BigEndian.Uint32(b)
	if size < 1 || size > maxFrameBytes || uint64(len(b)-8) < uint64(size) {
		return 0, nil, 0, false
	}
	body := b[8 : 8+size]
	if checksum.Of(body) != binary.BigEndian.Uint32(b[4:]) {
		return 0, nil, 0, false
	}
	return body[0], body[1:], 8 + int(size), true
}

// save makes a Ready's entries and hard state durable: appended to the
// WAL and fsynced before the caller sends the Ready's messages.
func (l *diskLog) save(hs pb.HardState, entries []pb.Entry, mustSync bool) error {
	var err error
	if l.buf, err = appendFrames(l.buf[:0], hs, entries); err != nil {
		return err
	}
	if len(l.buf) > 0 {
		if _, err := l.wal.Write(l.buf); err != nil {
			return err
		}
	}
	if mustSync || len(l.buf) > 0 {
		if err := l.wal.Sync(); err != nil {
			return err
		}
	}
	return l.keep(hs, entries)
}

// appendFrames appends the frames of entries, then of hs unless it is
// empty, to dst.
func appendFrames(dst []byte, hs pb.HardState, entries []pb.Entry) ([]byte, error) {
	for i := range entries {
		data, err := entries[i].Marshal()
		if err != nil {
			return dst, err
		}
		dst = appendWALFrame(dst, frameEntry, data)
	}
	if !raft.IsEmptyHardState(hs) {
		data, err := hs.Marshal()
		if err != nil {
			return dst, err
		}
		dst = appendWALFrame(dst, frameHardState, data)
	}
	return dst, nil
}

// keep puts what was made durable into the MemoryStorage.
func (l *diskLog) keep(hs pb.HardState, entries []pb.Entry) error {
	if err := l.Append(entries); err != nil {
		return err
	}
	if !raft.IsEmptyHardState(hs) {
		return l.SetHardState(hs)
	}
	return nil
}

// installSnapshot makes a snapshot received from the leader durable and
// the base of the log, then rotates the WAL onto it.
func (l *diskLog) installSnapshot(snap pb.Snapshot, hs pb.HardState) error {
	if err := l.writeSnapshot(snap); err != nil {
		return err
	}
	if err := l.ApplySnapshot(snap); err != nil {
		return err
	}
	if raft.IsEmptyHardState(hs) {
		hs, _, _ = l.InitialState()
	}
	return l.rotate(hs)
}

// compact snapshots the state at index (data: the image there) and drops
// the entries before keepFrom from memory and disk.
func (l *diskLog) compact(index uint64, cs pb.ConfState, data []byte, keepFrom uint64) error {
	snap, err := l.CreateSnapshot(index, &cs, data)
	if err != nil {
		return err
	}
	if err := l.writeSnapshot(snap); err != nil {
		return err
	}
	if keepFrom > 1 {
		if first, _ := l.FirstIndex(); keepFrom > first {
			if err := l.Compact(keepFrom - 1); err != nil && !errors.Is(err, raft.ErrCompacted) {
				return err
			}
		}
	}
	hs, _, _ := l.InitialState()
	return l.rotate(hs)
}

// rotate writes a new WAL: its header, then hs and every entry the
// MemoryStorage holds, in one write. It fsyncs the WAL and its directory,
// then removes older WALs and every snapshot but the newest.
func (l *diskLog) rotate(hs pb.HardState) error {
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	var entries []pb.Entry
	if last >= first {
		var err error
		if entries, err = l.Entries(first, last+1, 1<<62); err != nil {
			return err
		}
	}
	frames, err := appendFrames(nil, hs, entries)
	if err != nil {
		return err
	}
	data := appendWALFrame(nil, frameRotation, binary.BigEndian.AppendUint64(nil, uint64(len(frames))))
	data = append(data, frames...)
	old := l.walSeq
	l.walSeq++
	f, err := l.fs.Create(filepath.Join(l.dir, walName(l.walSeq)))
	if err != nil {
		return err
	}
	if l.wal != nil {
		l.wal.Close()
	}
	l.wal = f
	if _, err := f.Write(data); err != nil {
		l.abandonRotation(old)
		return err
	}
	if err := f.Sync(); err != nil {
		l.abandonRotation(old)
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		l.abandonRotation(old)
		return err
	}
	if !raft.IsEmptyHardState(hs) {
		if err := l.SetHardState(hs); err != nil {
			return err
		}
	}
	names, err := l.fs.List(l.dir)
	if err != nil {
		return err
	}
	for _, seq := range filesWith(names, "wal-", ".log") {
		if seq <= old {
			l.fs.Remove(filepath.Join(l.dir, walName(seq)))
		}
	}
	for _, idx := range filesWith(names, "snap-", ".snap") {
		if idx < l.onDisk {
			l.fs.Remove(filepath.Join(l.dir, snapName(idx)))
		}
	}
	return l.fs.SyncDir(l.dir)
}

// abandonRotation removes the WAL a failed rotation began. It was never
// durable, and the WALs before it still hold everything. A start would
// drop it anyway if a crash cut it short, and could use it if it is there
// whole; removing it keeps the next start's files as this rotation found
// them (sweep seed 11156: an fsync error, then a crash, then a start whose
// new WAL's fsync failed too, and before rotations had a header every
// later start refused the log). Best effort: the node stops either way.
func (l *diskLog) abandonRotation(old uint64) {
	l.wal.Close()
	l.fs.Remove(filepath.Join(l.dir, walName(l.walSeq)))
	l.fs.SyncDir(l.dir)
	l.wal, l.walSeq = nil, old
}

func (l *diskLog) close() {
	if l.wal != nil {
		l.wal.Close()
	}
}
