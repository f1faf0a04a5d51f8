package env

import "os"

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
