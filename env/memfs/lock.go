package memfs

import (
	"fmt"
	"path/filepath"

	"github.com/weir-dev/weir/env"
)

var _ env.Locker = (*FS)(nil)

// Lock takes the lock named name on this disk. Locks live in the FS value
// only, like a kernel's flock table: the FS that Crash returns holds none,
// so a crashed node's lock never blocks its restart. The file itself is not
// created; faults are not injected into locking.
func (fsys *FS) Lock(name string) (func() error, error) {
	name = filepath.Clean(name)
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	if fsys.crashed {
		return nil, fmt.Errorf("lock %s: %w", name, ErrCrashed)
	}
	if fsys.locks[name] {
		return nil, fmt.Errorf("%s: %w", name, env.ErrLocked)
	}
	if fsys.locks == nil {
		fsys.locks = map[string]bool{}
	}
	fsys.locks[name] = true
	return func() error {
		fsys.mu.Lock()
		defer fsys.mu.Unlock()
		delete(fsys.locks, name)
		return nil
	}, nil
}
