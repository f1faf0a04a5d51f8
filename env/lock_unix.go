//go:build unix

package env

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

var _ Locker = OSFS{}

// Lock takes an flock(2) on name (created if missing). The kernel releases
// it when the process exits, however it exits; two opens of the same file
// in one process conflict too, so two brokers of one process on one data
// dir are refused as well.
func (OSFS) Lock(name string) (func() error, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", name, ErrLocked)
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	return func() error {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return f.Close()
	}, nil
}
