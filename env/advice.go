package env

import (
	"errors"
	"os"
)

// CacheDropper is a File that can give up the page cache behind part of
// itself. OS files implement it through DropCache below; a test FS may
// implement it to observe what a caller drops.
type CacheDropper interface {
	// DropCache tells the OS that the bytes [off, off+n), already synced,
	// will not be read again soon, so their cached pages may be freed. It
	// never changes the file's contents.
	DropCache(off, n int64) error
}

// DropCache asks f's OS to free the cached pages of the synced bytes
// [off, off+n). It is advice: the bytes stay readable (from the disk), and
// a File that cannot drop its cache (memfs, or an OS without
// posix_fadvise) ignores it.
func DropCache(f File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	switch f := f.(type) {
	case CacheDropper:
		return f.DropCache(off, n)
	case *os.File:
		return dropOSCache(f, off, n)
	}
	return nil
}

// Preallocator is a File that can reserve disk space ahead of its end. OS
// files implement it through Preallocate below; a test FS may implement it
// to observe what a caller reserves.
type Preallocator interface {
	// Preallocate reserves the disk blocks of [off, off+n) without changing
	// the file's size or any byte a read returns.
	Preallocate(off, n int64) error
}

// Preallocate asks f's file system to reserve the blocks of [off, off+n)
// now, so that writes there later skip block allocation (on ext4, its
// per-block delayed-allocation bookkeeping). The file's size and contents
// do not change; the reservation past the end is released by a Truncate
// to the file's size. A File that cannot reserve (memfs, an OS without
// fallocate) returns errors.ErrUnsupported, so that a caller stops asking
// and does not release what was never reserved.
func Preallocate(f File, off, n int64) error {
	if n <= 0 {
		return nil
	}
	switch f := f.(type) {
	case Preallocator:
		return f.Preallocate(off, n)
	case *os.File:
		return preallocateOS(f, off, n)
	}
	return errors.ErrUnsupported
}
