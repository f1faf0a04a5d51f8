package env

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropOSCache is posix_fadvise(POSIX_FADV_DONTNEED): Linux frees the clean
// cached pages of the range and leaves dirty ones alone.
func dropOSCache(f *os.File, off, n int64) error {
	return withFd(f, "fadvise", func(fd int) error { return unix.Fadvise(fd, off, n, unix.FADV_DONTNEED) })
}

// preallocateOS is fallocate(FALLOC_FL_KEEP_SIZE): blocks are allocated
// (unwritten, reading as zeroes) and the size stays.
func preallocateOS(f *os.File, off, n int64) error {
	return withFd(f, "fallocate", func(fd int) error { return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, n) })
}

// withFd runs call on f's descriptor, which stays open meanwhile.
func withFd(f *os.File, op string, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var callErr error
	if err := rc.Control(func(fd uintptr) { callErr = call(int(fd)) }); err != nil {
		return err
	}
	if callErr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: callErr}
	}
	return nil
}
