package memfs

import (
	"bytes"

	"github.com/weir-dev/weir/env"
)

var _ env.SyncProber = (*FS)(nil)

// Synced implements env.SyncProber: the name resolves through synced
// directory entries to the same file it resolves to now, and bytes [off,
// off+n) of the file's current contents equal its synced contents. The
// Injector is not consulted: this is a look at the disk's state, not an
// operation on it.
func (fsys *FS) Synced(name string, off, n int64) (bool, error) {
	p := clean(name)
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	if fsys.crashed {
		return false, pathErr("synced", name, ErrCrashed)
	}
	parts := components(p)
	current, err := fsys.walkLocked(parts)
	if err != nil {
		return false, pathErr("synced", name, err)
	}
	if current.dir {
		return false, pathErr("synced", name, errIsDir)
	}
	durable := fsys.root
	for _, part := range parts {
		if !durable.dir {
			return false, nil
		}
		if durable = durable.syncedChildren[part]; durable == nil {
			return false, nil
		}
	}
	end := off + n
	if durable != current || off < 0 || n < 0 || end > int64(len(current.synced)) || end > int64(len(current.data)) {
		return false, nil
	}
	if current.shared {
		// synced is data's prefix (or a copy of it no write has touched
		// since: a write below len(synced) unshares first).
		return true, nil
	}
	return bytes.Equal(current.data[off:end], current.synced[off:end]), nil
}
