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
// written (file fsynced, directory fsynced) before the WAL is rotated: the
// new WAL holds the hard state and the entries after the compaction point,
// and only once it is durable are older WALs and snapshots removed. On
// start, the newest snapshot that checks out is loaded and every WAL is
// replayed over it in order (entries at or below the snapshot skipped,
// later ones appended, a rewritten tail replacing the old one); a torn or
// corrupt frame at the end of the last WAL is cut off, one anywhere else
// is an error: it was fsynced once, so the disk lost it.

const (
	frameEntry     = 1
	frameHardState = 2

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
	wals := filesWith(names, "wal-", ".log")
	var hs pb.HardState
	for i, seq := range wals {
		last := i == len(wals)-1
		if err := l.replay(seq, last, &hs); err != nil {
			return nil, pb.HardState{}, err
		}
		l.walSeq = seq
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

// replay reads one WAL into the MemoryStorage.
func (l *diskLog) replay(seq uint64, last bool, hs *pb.HardState) error {
	path := filepath.Join(l.dir, walName(seq))
	data, err := l.readWAL(path)
	if err != nil {
		return err
	}
	off := 0
	for off < len(data) {
		kind, payload, n, ok := readWALFrame(data[off:])
		if !ok {
			if !last {
				return fmt.Errorf("%w: %s: bad frame at byte %d", errCorruptLog, path, off)
			}
			break // a torn tail: the WAL written at the next start replaces it
		}
		switch kind {
		case frameEntry:
			var e pb.Entry
			if err := e.Unmarshal(payload); err != nil {
				return fmt.Errorf("%w: %s: entry at byte %d: %v", errCorruptLog, path, off, err)
			}
			if err := l.appendRecovered(e); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		case frameHardState:
			if err := hs.Unmarshal(payload); err != nil {
				return fmt.Errorf("%w: %s: hard state at byte %d: %v", errCorruptLog, path, off, err)
			}
		default:
			return fmt.Errorf("%w: %s: frame kind %d at byte %d", errCorruptLog, path, kind, off)
		}
		off += n
	}
	return nil
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
	l.buf = l.buf[:0]
	for i := range entries {
		data, err := entries[i].Marshal()
		if err != nil {
			return err
		}
		l.buf = appendWALFrame(l.buf, frameEntry, data)
	}
	if !raft.IsEmptyHardState(hs) {
		data, err := hs.Marshal()
		if err != nil {
			return err
		}
		l.buf = appendWALFrame(l.buf, frameHardState, data)
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

// rotate writes a new WAL with hs and every entry the MemoryStorage
// holds, fsyncs it and its directory, then removes older WALs and every
// snapshot but the newest.
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
	if err := l.save(hs, entries, true); err != nil {
		l.abandonRotation(old)
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		l.abandonRotation(old)
		return err
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
// durable, and the WALs before it still hold everything. Left on the disk,
// it would make the WAL before it a WAL in the middle at the next start,
// where a torn tail (cut, rightly, by the start that began this rotation)
// reads as fsynced data the disk lost, and the node would never start
// again (sweep seed 11156: an fsync error, then a crash, then a start whose
// new WAL's fsync failed too). Best effort: the node stops either way.
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
