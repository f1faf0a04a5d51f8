package env

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropOSCache is posix_fadvise(POSIX_FADV_DONTNEED): Linux frees the clean
// cached pages of the range and leaves dirty ones alone.
func dropOSCache(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var adviseErr error
	if err := rc.Control(func(fd uintptr) {
		adviseErr = unix.Fadvise(int(fd), off, n, unix.FADV_DONTNEED)
	}); err != nil {
		return err
	}
	if adviseErr != nil {
		return &os.PathError{Op: "fadvise", Path: f.Name(), Err: adviseErr}
	}
	return nil
}
