package env

import (
	"io"
	"os"
)

// File is an open file of an FS.
//
// Ownership: slices passed to Write/WriteAt/Read/ReadAt stay owned by the
// caller; the File copies what it needs before returning.
//
// Durability: bytes written are durable only after Sync returns nil. A failed
// Sync leaves it unknown which of the unsynced bytes survive a crash.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer
	// Sync makes every byte written so far, and the file's size, durable.
	Sync() error
	// Truncate changes the file's size. Growing pads with zeroes.
	Truncate(size int64) error
	// Stat reports the file's current (not necessarily synced) size and name.
	Stat() (os.FileInfo, error)
}

// FS is a file system. Errors for missing files satisfy
// errors.Is(err, os.ErrNotExist); creating an existing exclusive file
// satisfies errors.Is(err, os.ErrExist).
//
// Durability of names: a Create, Rename or Remove is durable only after
// SyncDir on the directory that holds the name.
type FS interface {
	// Create creates the named file, or truncates it if it exists, and opens
	// it for reading and writing.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing, creating
	// it empty if it does not exist. It never truncates.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything below it. A missing path is
	// not an error.
	RemoveAll(name string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat describes the named file or directory.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable.
	SyncDir(dir string) error
}

// SyncProber is implemented by file systems that know which bytes are
// durable: the simulator's memfs. Only invariant checks (internal/invariants)
// use it, to prove that what the broker serves would survive a crash.
type SyncProber interface {
	// Synced reports whether bytes [off, off+n) of the named file would
	// survive a crash that happened now: the file's name is durable in
	// every directory on its path, and those bytes are part of its synced
	// contents. It is not an operation on the disk: it takes no time and
	// is never failed by fault injection.
	Synced(name string, off, n int64) (bool, error)
}
