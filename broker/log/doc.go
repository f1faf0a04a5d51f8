// Package log is a Kafka partition log on an env.FS: a directory of segments,
// each a .log file of v2 record batches stored back to back exactly as
// received (only the 8-byte base offset is assigned by the log; a
// follower's AppendReplicated keeps the leader's, see replicate.go), a sparse
// .index (4-byte relative offset, 4-byte position; one entry about every
// IndexIntervalBytes) and a .timeindex (8-byte max timestamp so far, 4-byte
// relative offset). Files are named by their segment's base offset, 20 digits
// zero-padded: 00000000000000000000.log.
//
// Besides appends, reads and recovery, the log keeps its own size in check,
// as Kafka's does: retention (EnforceRetention: retention.ms by each
// segment's largest timestamp, retention.bytes), DeleteRecords
// (AdvanceStartOffset) and compaction (Clean, the log cleaner; see
// cleaner.go for its rules). It starts no goroutine for them: the caller
// (the broker's maintenance loop) decides when.
//
// Invariants:
//   - Offsets are strictly increasing across batches and segments. The
//     active segment is dense (each batch's base offset is the offset after
//     the previous batch's last), except below the cleaner's checkpoint
//     (cleanedTo); rolled segments may have gaps where compaction removed
//     whole batches. A segment's base is the previous segment's end: the
//     cleaner keeps the last batch of every segment it writes, empty if
//     need be.
//   - The log start offset (StartOffset) never goes back, except by an
//     explicit truncation below it: it is written durably (the
//     log-start-offset file) before any segment below it is removed and
//     before AdvanceStartOffset returns; recovery removes segments a crash
//     left wholly below it. Reads below it are ErrOffsetOutOfRange.
//   - A cleaned segment replaces the segments it was made from atomically
//     as far as a crash can tell (.cleaned, then .swap as the commit point,
//     then .log; see swap.go): recovery finds either the old segments or
//     the new one, never a mix, and never a state that loses the last
//     value of a key. The cleaner never touches the active segment or a
//     segment that ends above the caller's high watermark, and keeps every
//     batch's offsets (and so every kept record's).
//   - Every tombstone the log lacks (its cleaner removed it past its
//     delete horizon, or a follower copied a leader that lacked it) is
//     below the tombstone mark (TombstoneMark, in the cleaner's
//     checkpoint): the checkpoint write that precedes the swap raises it,
//     and a follower raises it to its leader's (InheritTombstoneMark)
//     before it appends what it copied. It never goes back, and never
//     passes a high watermark the partition reached.
//   - A corrupt batch is never served: Read and Batches return only batches
//     that pass record.Parse (CRC-32C and framing) and are in sequence; a
//     batch that fails is an error, never data.
//   - Only the active (last) segment is written. A segment is rolled by
//     fsyncing its data and writing and fsyncing its indexes before the next
//     segment is created and the directory synced; so after a crash every
//     segment but the last holds exactly what it held when rolled.
//   - Durability is explicit: Append never fsyncs; Sync makes every batch
//     appended before it durable and advances SyncedOffset. TruncateTo and
//     roll are durable when they return. Directory changes are followed by
//     SyncDir.
//   - After an I/O error on the write path (write, fsync, create, remove) the
//     log refuses writes until reopened, because after a failed fsync nobody
//     knows which unsynced bytes survive; reads go on. Recovery at the next
//     Open finds out what is really on disk.
//   - Concurrency: one RWMutex. Reads (including their file I/O) share it;
//     Append, roll and truncation hold it exclusively; Sync fsyncs without
//     it, so appends continue during an fsync. Clean reads rolled segments
//     without it, holding maintMu, which every operation that removes or
//     replaces a rolled segment takes (those other than Clean ask a
//     running pass to stop first); it takes mu only to switch segments.
//   - Page cache (Config.DropBehindBytes, off unless set): after a Sync, the
//     cache of the synced bytes this Log wrote more than DropBehindBytes
//     behind the synced end is dropped through env.DropCache, in log order,
//     so a fast partition reuses a bounded set of cache pages. It is advice
//     only: what a read returns never depends on it, and the cache of
//     segments found at Open is left alone.
//   - A segment file's size is exactly its valid batches. With
//     Config.PreallocateBytes, disk blocks past the active segment's end
//     may be reserved (env.Preallocate keeps the size); rolling the segment
//     or closing the log gives them back with a Truncate to the size.
//   - With Config.CleanShutdown, Close writes the active segment's indexes
//     and then a clean-shutdown marker naming the segment's base, size and
//     end; Open uses it only if it reads back whole and names the last
//     segment at its current size, checks the indexes as a rolled
//     segment's, and removes it durably before the log is written again.
//     Otherwise the active segment is scanned as after a crash.
//   - The log starts no goroutine and keeps no package-level mutable state;
//     all I/O goes through env.FS and time through env.Clock, so the same code
//     runs on the OS and on the simulator's crashable disk.
//
// What recovery (Open) guarantees: every batch below SyncedOffset at the time
// of a crash is found again, byte for byte (unless retention, DeleteRecords
// or the cleaner removed it before the crash); the log ends at the last
// batch that was written whole, is valid and in sequence, and nothing after
// a torn or corrupt batch is kept; index files are derived data and are
// rebuilt whenever they are missing or disagree with the segment; a
// cleaner's swap past its commit point is finished. See Open.
//
// What it must never do: serve a batch that fails its CRC, reorder or reuse
// an offset, report an offset as synced before fsync returned, let the
// start offset go back after a crash, or lose the last record of a key
// (nor a record without a key) to compaction.
//
// Differences from Kafka, on purpose: the offset index maps a batch's base
// offset (Kafka: its last offset) to its position, so a fetch at a batch
// boundary needs no forward scan; the active segment's indexes live in memory
// and reach disk only at roll, because recovery rebuilds them anyway; a Read
// never spans segments (as in Kafka). The base offset of a batch after a gap
// is read twice before it is believed (it is not under the CRC), so a bit
// flipped on the way cannot pass for a gap; likewise a read that lands
// after a gap or finds nothing below its bound re-reads until its reads
// agree (readBounded), so one flip cannot shorten a scan (a coordinator's
// load) without an error. Records without a key survive
// compaction (Kafka refuses them at produce time on a compacted topic and
// drops them; Weir does not refuse them yet). Transactional and control
// batches are kept whole by the cleaner until transactions exist. A segment
// with no timestamps is never old by time (Kafka uses the file's mtime).
package log
