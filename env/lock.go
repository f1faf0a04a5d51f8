package env

import "errors"

// ErrLocked means another holder has the lock: another process on OSFS,
// another broker of the same simulated disk on memfs.
var ErrLocked = errors.New("locked by another holder")

// Locker is an FS that can lock a file against other users of the same
// files. A lock ends with its unlock function or with its holder: the
// process exiting (OSFS: flock), or the simulated disk crashing (memfs: the
// disk found on reboot holds no locks). So a crash never leaves a stale
// lock behind.
type Locker interface {
	// Lock takes the exclusive lock named name, creating the file if the
	// FS needs one, or fails at once with ErrLocked if someone holds it.
	Lock(name string) (unlock func() error, err error)
}

// Lock takes the lock name on fs if fs is a Locker; an FS that cannot
// lock (OSFS on a system without flock) gives a lock that guards nothing.
func Lock(fs FS, name string) (unlock func() error, err error) {
	if l, ok := fs.(Locker); ok {
		return l.Lock(name)
	}
	return func() error { return nil }, nil
}
