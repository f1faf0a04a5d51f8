package txn

// LastOffsets returns, for every producer the partition knows with at least
// one batch, the last offset of its last batch: what the log cleaner keeps
// so that a producer's sequence numbers survive compaction (Kafka's
// lastRecordsOfActiveProducers). The map is the caller's.
func (p *PartitionProducers) LastOffsets() map[int64]int64 {
	out := make(map[int64]int64, len(p.producers))
	for id, e := range p.producers {
		if e.n > 0 {
			out[id] = e.lastOffset()
		}
	}
	return out
}
