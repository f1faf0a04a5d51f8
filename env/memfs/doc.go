// Package memfs is an in-memory env.FS that can lose power.
//
// It models a disk the way the simulator needs one: every file has synced
// contents and current contents, every directory has synced entries and
// current entries. File.Sync makes a file's contents and size as they stood
// when it was called durable; FS.SyncDir does the same for a directory's
// entries (creates, renames, removes, mkdirs). Nothing else is durable. A
// sync may take time (an Injector that delays it, as the simulator's slow
// disk does): it covers only what was written before it began and takes
// effect only when it returns, so a crash while it is in flight finds its
// data as unsynced as before it began, and the torn-tail rule below
// decides how much of it survives. Crash and CrashClone return the disk as
// it would be found after a power loss.
//
// What survives a crash, precisely:
//   - The tree is rebuilt from the root through synced entries only. A name
//     whose directory was not synced since it was created, renamed or removed
//     reverts: a created file or directory vanishes (with everything below
//     it), a renamed file is found under its old name again, a removed file
//     comes back. A file that a rename left in two synced directories (the
//     destination was synced, the source was not) is found under both
//     names, sharing one content, as a hard link would.
//     keepUnsyncedFraction does not apply to names: an unsynced entry
//     change never survives, so the simulator errs toward losing names
//     (see the limits below).
//   - A file found that way keeps its synced contents S. If its current
//     contents C differ, let p be the length of the common prefix of S and C
//     and D = len(C) - p the bytes written since the last Sync past that
//     prefix. k is drawn from rng uniformly in
//     [0, floor(keepUnsyncedFraction*D)]; the file becomes C[:p+k] followed
//     by S[p+k:] when S is longer.
//     That is a torn write: for an appended file, S plus a prefix of the
//     appended bytes; for an overwrite, a prefix of the new bytes over the old
//     ones. A size change that was not synced (a shrinking Truncate or the
//     truncation of Create) never survives on its own, because the size is
//     durable only through Sync. With keepUnsyncedFraction 0 exactly the
//     synced state survives.
//   - Everything found in the new FS counts as synced.
//
// Invariants:
//   - All state is behind one mutex per FS; no package-level mutable state,
//     so several simulated nodes may each own an FS in one process.
//   - The rng is consumed in a fixed order (directories in sorted name order,
//     each file once), so a crash is a pure function of the FS and the seed.
//   - After Crash, the old FS and every File opened on it return ErrCrashed
//     for every operation: a leftover goroutine of a crashed node can only
//     get errors, it can never touch the disk of the node's next incarnation.
//   - An Injector's error means the operation had no effect.
//   - A ReadCorrupter (an Injector that also corrupts reads) changes only
//     the caller's buffer after a read: the stored bytes, synced or not,
//     never change, so a corrupted read is a transient fault (a bad cable or
//     controller) and reading again may return the right bytes.
//   - No file grows past MaxFileSize, so a runaway offset fails instead of
//     exhausting memory.
//
// Limits of the model: a real journaling file system may persist an
// unsynced rename or create (ext4 usually does); memfs never does, so it
// cannot show a bug where code relies on a rename staying undone. A failed
// Sync leaves data merely unsynced; it does not model kernels that drop the
// dirty pages after a failed fsync and report the next one as a success.
//
// It must never read the real clock or the real file system: ModTime is
// always the zero time.
package memfs
