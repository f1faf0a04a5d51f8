package memfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weir-dev/weir/env"
)

// MaxFileSize bounds every file: 2 GiB is already more than a wasm32 guest
// can hold, and a bug that seeks to 1<<60 should fail, not allocate.
const MaxFileSize = 1 << 31

// ErrCrashed is returned, wrapped in an *os.PathError or *os.LinkError, by
// every operation on an FS after Crash and on every File opened on it.
var ErrCrashed = errors.New("memfs: file system crashed")

// These stand in for the errno values the OS would return. They are not
// exported because env.FS promises only os.ErrNotExist and os.ErrExist;
// callers must not branch on anything finer.
var (
	errIsDir        = errors.New("is a directory")
	errNotDir       = errors.New("not a directory")
	errNotEmpty     = errors.New("directory not empty")
	errBadFD        = errors.New("bad file descriptor")
	errInvalid      = errors.New("invalid argument")
	errFileTooLarge = errors.New("file too large")
)

// Op identifies an operation for an Injector.
type Op uint8

// Seek and Close are not offered to the Injector: they do not touch the
// disk, and a Close that fails but still releases the handle would break
// the rule that an injected error means no effect.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpOpenReadWrite
	OpRemove
	OpRemoveAll
	OpRename
	OpMkdirAll
	OpList
	OpStat
	OpSyncDir
	OpRead
	OpReadAt
	OpWrite
	OpWriteAt
	OpSync
	OpTruncate
	OpFileStat
)

var opNames = [...]string{
	OpCreate:        "create",
	OpOpen:          "open",
	OpOpenReadWrite: "open-read-write",
	OpRemove:        "remove",
	OpRemoveAll:     "remove-all",
	OpRename:        "rename",
	OpMkdirAll:      "mkdir-all",
	OpList:          "list",
	OpStat:          "stat",
	OpSyncDir:       "sync-dir",
	OpRead:          "read",
	OpReadAt:        "read-at",
	OpWrite:         "write",
	OpWriteAt:       "write-at",
	OpSync:          "sync",
	OpTruncate:      "truncate",
	OpFileStat:      "file-stat",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Injector decides whether an operation fails, like pebble's errorfs.
//
// MaybeError is called before the operation, without the FS's lock held (so
// it may block, or read the FS), with the cleaned absolute slash-separated
// path: for Rename the old name, for File operations the name the file was
// opened under. A non-nil error is returned to the caller, wrapped in an
// *os.PathError or *os.LinkError, and the operation has no effect; in
// particular a failed Sync leaves the bytes unsynced, so a later crash keeps
// an arbitrary prefix of them, as env.File promises.
//
// Syncs (OpSync, OpSyncDir) are the exception to "before": the sync has
// already recorded what it covers (the contents or entries as they stand
// when it is called) when MaybeError is called, and it makes them durable
// only when MaybeError returns nil. Time spent in MaybeError is the fsync's
// duration on a slow disk: what is written meanwhile is not covered, and a
// crash meanwhile finds the sync incomplete.
type Injector interface {
	MaybeError(op Op, path string) error
}

// ReadCorrupter is an Injector that may also corrupt what a read returns,
// like a bad cable or controller: a transient fault on the way from the
// disk, not a change of the stored data. If the FS's Injector implements it,
// CorruptRead is called after a successful Read or ReadAt (op is OpRead or
// OpReadAt) with the file's cleaned path, the file offset the bytes were read
// from, and p, the bytes just read (only those: len(p) is the count
// returned). It may change p in place; the stored bytes never change, so
// reading the same range again returns the right bytes unless it is
// corrupted again. It is called without the FS's lock held.
type ReadCorrupter interface {
	Injector
	CorruptRead(op Op, path string, off int64, p []byte)
}

// FS is an in-memory env.FS with crash semantics; see the package comment.
// The zero value is not usable; call New.
type FS struct {
	mu      sync.Mutex
	root    *node
	crashed bool
	inj     Injector
	locks   map[string]bool // held locks (lock.go); a crash's clone has none
}

var _ env.FS = (*FS)(nil)

// node is a file or a directory: an inode. Directory entries point to nodes,
// so a renamed file keeps its contents and open handles.
type node struct {
	dir bool

	// Files. synced is the durable contents. While shared is set, synced is
	// data[:len(synced)] of the same backing array, which keeps Sync O(1) for
	// the append-and-sync pattern of a log; any in-place change below
	// len(synced) first gives synced its own copy (unshare).
	data   []byte
	synced []byte
	shared bool

	// Directories. syncedChildren is what SyncDir last made durable; the
	// nodes are shared with children, only the name table is separate.
	children       map[string]*node
	syncedChildren map[string]*node

	// Syncs in flight (files and directories): each holds the state as
	// it stood when its sync began, which is what it makes durable when it
	// completes. syncsBegun numbers them; syncApplied is the number of the
	// newest one applied, so an older sync finishing last does not undo a
	// newer one.
	pending     []*syncSnap
	syncsBegun  uint64
	syncApplied uint64
}

// syncSnap is what one sync in flight will make durable: a file's contents
// (data, aliasing the node's backing array while shared) or a directory's
// entries (children, a copy).
type syncSnap struct {
	seq      uint64
	data     []byte
	shared   bool
	children map[string]*node
}

func newDir() *node {
	return &node{dir: true, children: map[string]*node{}, syncedChildren: map[string]*node{}}
}

// New returns an empty FS holding only the root directory, which is durable
// by definition.
func New() *FS { return &FS{root: newDir()} }

// SetInjector makes the FS consult inj before each operation; nil turns
// faults off.
func (fsys *FS) SetInjector(inj Injector) {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	fsys.inj = inj
}

// Crash simulates power loss: it returns the disk as found on reboot (see the
// package comment for what survives) and fences the receiver, so every later
// operation on it or its Files fails with ErrCrashed. rng decides how much of
// each unsynced tail survives; it may be nil when keepUnsyncedFraction is 0.
// Crash panics if keepUnsyncedFraction is outside [0, 1] or the FS has
// already crashed, since both are harness bugs.
func (fsys *FS) Crash(rng *rand.Rand, keepUnsyncedFraction float64) *FS {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	clone := fsys.crashCloneLocked(rng, keepUnsyncedFraction)
	fsys.crashed = true
	return clone
}

// CrashClone is Crash without fencing the receiver: the receiver keeps
// working, so a test can look at what would survive at this instant and go
// on. The clone shares nothing with the receiver.
func (fsys *FS) CrashClone(rng *rand.Rand, keepUnsyncedFraction float64) *FS {
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	return fsys.crashCloneLocked(rng, keepUnsyncedFraction)
}

func (fsys *FS) crashCloneLocked(rng *rand.Rand, keep float64) *FS {
	if fsys.crashed {
		panic("memfs: crash of an FS that already crashed")
	}
	if !(keep >= 0 && keep <= 1) {
		panic("memfs: keepUnsyncedFraction outside [0, 1]")
	}
	if keep > 0 && rng == nil {
		panic("memfs: nil rng with keepUnsyncedFraction > 0")
	}
	// memo keeps one clone per node: a node reachable under two synced
	// names stays one file, and each file draws from rng exactly once.
	memo := map[*node]*node{}
	var clone func(n *node) *node
	clone = func(n *node) *node {
		if c, ok := memo[n]; ok {
			return c
		}
		if !n.dir {
			data := survivor(n.synced, n.data, rng, keep)
			c := &node{data: data, synced: data, shared: true}
			memo[n] = c
			return c
		}
		c := newDir()
		memo[n] = c
		// Sorted, because map order would make the rng draws, and so the
		// crash, differ between runs of the same seed.
		for _, name := range slices.Sorted(maps.Keys(n.syncedChildren)) {
			child := clone(n.syncedChildren[name])
			c.children[name] = child
			c.syncedChildren[name] = child
		}
		return c
	}
	return &FS{root: clone(fsys.root)}
}

// survivor returns what a file with durable contents synced and current
// contents data holds after a crash; the result shares no memory with either.
func survivor(synced, data []byte, rng *rand.Rand, keep float64) []byte {
	p := commonPrefix(synced, data)
	k := 0
	if maxK := int(math.Floor(keep * float64(len(data)-p))); maxK > 0 {
		k = rng.IntN(maxK + 1)
	}
	out := make([]byte, max(len(synced), p+k))
	copy(out, data[:p+k])
	if len(synced) > p+k {
		copy(out[p+k:], synced[p+k:])
	}
	return out
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	if n > 0 && &a[0] == &b[0] {
		// The shared append-only case: no need to compare.
		return n
	}
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// clean maps any accepted spelling of a name to one absolute slash path.
// memfs has no working directory, so relative names start at the root, and
// ".." above the root stays at the root, as it does in the kernel.
func clean(name string) string {
	return filepath.ToSlash(filepath.Clean(string(filepath.Separator) + name))
}

func components(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// begin runs the crash fence and the Injector, and on success returns with
// fsys.mu held.
func (fsys *FS) begin(op Op, p string) error {
	fsys.mu.Lock()
	if fsys.crashed {
		fsys.mu.Unlock()
		return ErrCrashed
	}
	inj := fsys.inj
	if inj == nil {
		return nil
	}
	fsys.mu.Unlock()
	if err := inj.MaybeError(op, p); err != nil {
		return err
	}
	fsys.mu.Lock()
	if fsys.crashed {
		fsys.mu.Unlock()
		return ErrCrashed
	}
	return nil
}

// walkLocked returns the node at the path components parts.
func (fsys *FS) walkLocked(parts []string) (*node, error) {
	n := fsys.root
	for _, part := range parts {
		if !n.dir {
			return nil, errNotDir
		}
		child, ok := n.children[part]
		if !ok {
			return nil, os.ErrNotExist
		}
		n = child
	}
	return n, nil
}

// parentLocked returns the directory holding p and p's last component; base
// is "" for the root.
func (fsys *FS) parentLocked(p string) (parent *node, base string, err error) {
	parts := components(p)
	if len(parts) == 0 {
		return nil, "", nil
	}
	parent, err = fsys.walkLocked(parts[:len(parts)-1])
	if err != nil {
		return nil, "", err
	}
	if !parent.dir {
		return nil, "", errNotDir
	}
	return parent, parts[len(parts)-1], nil
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// Create creates or truncates the named file and opens it read-write.
func (fsys *FS) Create(name string) (env.File, error) {
	return fsys.open(OpCreate, name, true, true)
}

// Open opens an existing file or directory read-only. A directory handle
// can be Stat'ed and Sync'ed (which syncs its entries, like fsync on a
// directory descriptor); reading it fails.
func (fsys *FS) Open(name string) (env.File, error) {
	return fsys.open(OpOpen, name, false, false)
}

// OpenReadWrite opens the named file read-write, creating it empty if it
// does not exist.
func (fsys *FS) OpenReadWrite(name string) (env.File, error) {
	return fsys.open(OpOpenReadWrite, name, true, false)
}

func (fsys *FS) open(op Op, name string, write, truncate bool) (env.File, error) {
	if name == "" {
		return nil, pathErr("open", name, os.ErrNotExist)
	}
	p := clean(name)
	if err := fsys.begin(op, p); err != nil {
		return nil, pathErr("open", name, err)
	}
	defer fsys.mu.Unlock()
	parent, base, err := fsys.parentLocked(p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	var n *node
	if parent == nil {
		n = fsys.root
	} else {
		n = parent.children[base]
	}
	switch {
	case n == nil && !write:
		return nil, pathErr("open", name, os.ErrNotExist)
	case n == nil:
		n = &node{}
		parent.children[base] = n
	case n.dir && write:
		return nil, pathErr("open", name, errIsDir)
	case truncate:
		n.resize(0)
	}
	return &file{fs: fsys, n: n, path: p, name: name, writable: write}, nil
}

// Remove removes a file or an empty directory.
func (fsys *FS) Remove(name string) error {
	p := clean(name)
	if err := fsys.begin(OpRemove, p); err != nil {
		return pathErr("remove", name, err)
	}
	defer fsys.mu.Unlock()
	parent, base, err := fsys.parentLocked(p)
	if err != nil {
		return pathErr("remove", name, err)
	}
	if parent == nil {
		return pathErr("remove", name, errInvalid)
	}
	n, ok := parent.children[base]
	if !ok {
		return pathErr("remove", name, os.ErrNotExist)
	}
	if n.dir && len(n.children) > 0 {
		return pathErr("remove", name, errNotEmpty)
	}
	delete(parent.children, base)
	return nil
}

// RemoveAll removes name and everything below it; a missing name is not an
// error. Removing the root is refused rather than emptying the disk.
func (fsys *FS) RemoveAll(name string) error {
	p := clean(name)
	if err := fsys.begin(OpRemoveAll, p); err != nil {
		return pathErr("removeall", name, err)
	}
	defer fsys.mu.Unlock()
	parent, base, err := fsys.parentLocked(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return pathErr("removeall", name, err)
	case parent == nil:
		return pathErr("removeall", name, errInvalid)
	}
	// Detaching the entry is enough: the subtree's nodes are unreachable
	// except through open handles, which keep working as on Unix.
	delete(parent.children, base)
	return nil
}

// Rename moves oldname to newname, replacing a file there. Like os.Rename,
// it fails with os.ErrExist if newname is a directory, even an empty one.
func (fsys *FS) Rename(oldname, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	oldp, newp := clean(oldname), clean(newname)
	if err := fsys.begin(OpRename, oldp); err != nil {
		return linkErr(err)
	}
	defer fsys.mu.Unlock()
	oldParent, oldBase, err := fsys.parentLocked(oldp)
	if err != nil {
		return linkErr(err)
	}
	if oldParent == nil {
		return linkErr(errInvalid)
	}
	src, ok := oldParent.children[oldBase]
	if !ok {
		return linkErr(os.ErrNotExist)
	}
	newParent, newBase, err := fsys.parentLocked(newp)
	if err != nil {
		return linkErr(err)
	}
	if newParent == nil {
		return linkErr(errInvalid)
	}
	if oldp == newp {
		return nil
	}
	if src.dir && strings.HasPrefix(newp, oldp+"/") {
		return linkErr(errInvalid)
	}
	if dst, ok := newParent.children[newBase]; ok {
		switch {
		case dst == src:
			return nil
		case dst.dir:
			// os.Rename refuses an existing directory as the target before
			// asking the kernel, so that Unix behaves like Windows.
			return linkErr(os.ErrExist)
		case src.dir:
			return linkErr(errNotDir)
		}
	}
	newParent.children[newBase] = src
	delete(oldParent.children, oldBase)
	return nil
}

// MkdirAll creates dir and its missing parents. perm is ignored: memfs has
// no users to keep apart.
func (fsys *FS) MkdirAll(dir string, perm os.FileMode) error {
	p := clean(dir)
	if err := fsys.begin(OpMkdirAll, p); err != nil {
		return pathErr("mkdir", dir, err)
	}
	defer fsys.mu.Unlock()
	n := fsys.root
	for _, part := range components(p) {
		child, ok := n.children[part]
		if !ok {
			child = newDir()
			n.children[part] = child
		}
		if !child.dir {
			return pathErr("mkdir", dir, errNotDir)
		}
		n = child
	}
	return nil
}

// List returns the sorted names of dir's current entries.
func (fsys *FS) List(dir string) ([]string, error) {
	p := clean(dir)
	if err := fsys.begin(OpList, p); err != nil {
		return nil, pathErr("open", dir, err)
	}
	defer fsys.mu.Unlock()
	n, err := fsys.walkLocked(components(p))
	if err != nil {
		return nil, pathErr("open", dir, err)
	}
	if !n.dir {
		return nil, pathErr("readdirent", dir, errNotDir)
	}
	return slices.Sorted(maps.Keys(n.children)), nil
}

// Stat describes the named file or directory as it is now, synced or not.
func (fsys *FS) Stat(name string) (os.FileInfo, error) {
	if name == "" {
		return nil, pathErr("stat", name, os.ErrNotExist)
	}
	p := clean(name)
	if err := fsys.begin(OpStat, p); err != nil {
		return nil, pathErr("stat", name, err)
	}
	defer fsys.mu.Unlock()
	n, err := fsys.walkLocked(components(p))
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return n.info(p), nil
}

// SyncDir makes dir's entries durable as they stood when it was called. It
// does not make the entry of dir itself durable in its parent, nor any
// file's contents.
func (fsys *FS) SyncDir(dir string) error {
	p := clean(dir)
	return fsys.syncNode(OpSyncDir, p, func() (*node, error) {
		n, err := fsys.walkLocked(components(p))
		if err != nil {
			return nil, pathErr("sync", dir, err)
		}
		if !n.dir {
			return nil, pathErr("sync", dir, errNotDir)
		}
		return n, nil
	}, func(err error) error { return pathErr("sync", dir, err) })
}

// syncNode is every sync: it records the node's state (find returns the
// node, with the FS's lock held), then asks the Injector, which may take
// time as a real fsync does, and only then makes the recorded state
// durable. So a sync covers what was written before it began, never what
// was written while it was in flight, and a crash while it is in flight
// finds the node as unsynced as before it began. wrap makes errors look
// like the os package's.
func (fsys *FS) syncNode(op Op, p string, find func() (*node, error), wrap func(error) error) error {
	fsys.mu.Lock()
	if fsys.crashed {
		fsys.mu.Unlock()
		return wrap(ErrCrashed)
	}
	n, err := find()
	if err != nil {
		fsys.mu.Unlock()
		return err
	}
	s := n.beginSync()
	inj := fsys.inj
	fsys.mu.Unlock()
	if inj != nil {
		err = inj.MaybeError(op, p)
	}
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	n.endSync(s, err == nil && !fsys.crashed)
	switch {
	case fsys.crashed:
		return wrap(ErrCrashed)
	case err != nil:
		return wrap(err)
	}
	return nil
}

// beginSync records the state a sync that starts now will make durable:
// a file's current contents or a directory's current entries. Call with
// the FS's lock held, and endSync once the sync is over.
func (n *node) beginSync() *syncSnap {
	n.syncsBegun++
	s := &syncSnap{seq: n.syncsBegun}
	if n.dir {
		s.children = maps.Clone(n.children)
	} else {
		s.data, s.shared = n.data, true
	}
	n.pending = append(n.pending, s)
	return s
}

// endSync ends the sync s; if it completed, what it recorded becomes the
// durable state, unless a sync that began later was applied already. Call
// with the FS's lock held.
func (n *node) endSync(s *syncSnap, completed bool) {
	n.pending = slices.DeleteFunc(n.pending, func(p *syncSnap) bool { return p == s })
	if !completed || s.seq <= n.syncApplied {
		return
	}
	n.syncApplied = s.seq
	if n.dir {
		n.syncedChildren = s.children
		return
	}
	n.synced, n.shared = s.data, s.shared
}

// unshare gives synced, and the contents recorded by syncs in flight, their
// own memory before data changes below their length. from is the lowest
// byte about to change.
func (n *node) unshare(from int64) {
	if n.shared && from < int64(len(n.synced)) {
		n.synced = slices.Clone(n.synced)
		n.shared = false
	}
	for _, s := range n.pending {
		if s.shared && from < int64(len(s.data)) {
			s.data = slices.Clone(s.data)
			s.shared = false
		}
	}
}

// resize sets len(data) to size, zeroing any growth: bytes past len(data)
// in the backing array may be stale from an earlier shrink.
func (n *node) resize(size int64) {
	old := int64(len(n.data))
	// Unshare on shrink, not on the later growth or write: by then
	// len(data) no longer shows that the bytes past it are synced ones.
	if size < old {
		n.unshare(size)
	}
	if size <= old {
		n.data = n.data[:size]
		return
	}
	n.data = slices.Grow(n.data, int(size-old))[:size]
	clear(n.data[old:])
}

func (n *node) writeAt(p []byte, off int64) error {
	end := off + int64(len(p))
	if end > MaxFileSize {
		return errFileTooLarge
	}
	n.unshare(off)
	if end > int64(len(n.data)) {
		n.resize(end)
	}
	copy(n.data[off:], p)
	return nil
}

func (n *node) info(p string) os.FileInfo {
	fi := fileInfo{name: filepath.Base(filepath.FromSlash(p)), dir: n.dir}
	if !n.dir {
		fi.size = int64(len(n.data))
	}
	return fi
}

type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (fi fileInfo) Name() string { return fi.name }
func (fi fileInfo) Size() int64  { return fi.size }
func (fi fileInfo) Mode() fs.FileMode {
	if fi.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

// ModTime is always zero: reading the real clock would make runs differ.
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return fi.dir }
func (fi fileInfo) Sys() any           { return nil }

// file is an open handle. Its fields other than fs, n, path and name are
// guarded by fs.mu.
type file struct {
	fs       *FS
	n        *node
	path     string // cleaned, for the Injector
	name     string // as given, for errors and Stat, as os.File does
	pos      int64
	writable bool
	closed   bool
}

var _ env.File = (*file)(nil)

// begin is FS.begin plus the closed check; on success fs.mu is held.
func (f *file) begin(op Op, opName string) error {
	if err := f.fs.begin(op, f.path); err != nil {
		return pathErr(opName, f.name, err)
	}
	if f.closed {
		f.fs.mu.Unlock()
		return pathErr(opName, f.name, os.ErrClosed)
	}
	return nil
}

// Read and ReadAt offer the bytes read to the Injector if it is a
// ReadCorrupter, after the FS's lock is released: p is the caller's memory,
// never the stored data.
func (f *file) Read(p []byte) (int, error) {
	off, n, rc, err := f.read(p)
	if rc != nil && n > 0 {
		rc.CorruptRead(OpRead, f.path, off, p[:n])
	}
	return n, err
}

func (f *file) read(p []byte) (off int64, n int, rc ReadCorrupter, err error) {
	if err := f.begin(OpRead, "read"); err != nil {
		return 0, 0, nil, err
	}
	defer f.fs.mu.Unlock()
	if f.n.dir {
		return 0, 0, nil, pathErr("read", f.name, errIsDir)
	}
	if len(p) == 0 {
		return 0, 0, nil, nil
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, 0, nil, io.EOF
	}
	rc, _ = f.fs.inj.(ReadCorrupter)
	off = f.pos
	n = copy(p, f.n.data[f.pos:])
	f.pos += int64(n)
	return off, n, rc, nil
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	n, rc, err := f.readAt(p, off)
	if rc != nil && n > 0 {
		rc.CorruptRead(OpReadAt, f.path, off, p[:n])
	}
	return n, err
}

func (f *file) readAt(p []byte, off int64) (int, ReadCorrupter, error) {
	if err := f.begin(OpReadAt, "read"); err != nil {
		return 0, nil, err
	}
	defer f.fs.mu.Unlock()
	if f.n.dir {
		return 0, nil, pathErr("read", f.name, errIsDir)
	}
	if off < 0 {
		return 0, nil, pathErr("readat", f.name, errInvalid)
	}
	if len(p) == 0 {
		return 0, nil, nil
	}
	if off >= int64(len(f.n.data)) {
		return 0, nil, io.EOF
	}
	rc, _ := f.fs.inj.(ReadCorrupter)
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, rc, io.EOF
	}
	return n, rc, nil
}

func (f *file) Write(p []byte) (int, error) {
	if err := f.begin(OpWrite, "write"); err != nil {
		return 0, err
	}
	defer f.fs.mu.Unlock()
	if !f.writable {
		return 0, pathErr("write", f.name, errBadFD)
	}
	if err := f.n.writeAt(p, f.pos); err != nil {
		return 0, pathErr("write", f.name, err)
	}
	f.pos += int64(len(p))
	return len(p), nil
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.begin(OpWriteAt, "write"); err != nil {
		return 0, err
	}
	defer f.fs.mu.Unlock()
	if !f.writable {
		return 0, pathErr("write", f.name, errBadFD)
	}
	if off < 0 {
		return 0, pathErr("writeat", f.name, errInvalid)
	}
	if err := f.n.writeAt(p, off); err != nil {
		return 0, pathErr("write", f.name, err)
	}
	return len(p), nil
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.crashed {
		return 0, pathErr("seek", f.name, ErrCrashed)
	}
	if f.closed {
		return 0, pathErr("seek", f.name, os.ErrClosed)
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		base = int64(len(f.n.data))
	default:
		return 0, pathErr("seek", f.name, errInvalid)
	}
	pos := base + offset
	if pos < 0 || (offset > 0 && pos < base) {
		return 0, pathErr("seek", f.name, errInvalid)
	}
	f.pos = pos
	return pos, nil
}

func (f *file) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.crashed {
		return pathErr("close", f.name, ErrCrashed)
	}
	if f.closed {
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}

// Sync makes the file's contents and size as they stood when it was called
// durable (for a directory handle, its entries); see FS.syncNode.
func (f *file) Sync() error {
	return f.fs.syncNode(OpSync, f.path, func() (*node, error) {
		if f.closed {
			return nil, pathErr("sync", f.name, os.ErrClosed)
		}
		return f.n, nil
	}, func(err error) error { return pathErr("sync", f.name, err) })
}

func (f *file) Truncate(size int64) error {
	if err := f.begin(OpTruncate, "truncate"); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if !f.writable {
		return pathErr("truncate", f.name, errBadFD)
	}
	if size < 0 {
		return pathErr("truncate", f.name, errInvalid)
	}
	if size > MaxFileSize {
		return pathErr("truncate", f.name, errFileTooLarge)
	}
	f.n.resize(size)
	return nil
}

func (f *file) Stat() (os.FileInfo, error) {
	if err := f.begin(OpFileStat, "stat"); err != nil {
		return nil, err
	}
	defer f.fs.mu.Unlock()
	return f.n.info(f.path), nil
}
