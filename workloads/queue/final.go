package queue

import (
	"context"
	"errors"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// FinalReads is the final read of cfg.Topic (gen.FinalRead, the run's
// first): it lists every partition's log start and high watermark, then
// reads each partition from its log start up to that high watermark. Call
// it after Run returned and the cluster healed, with ctx bounding how long
// it may take.
//
// It records a final op of FinalProcess around the whole read, and the
// reading as an assign and polls of FinalReader. The final op completes ok
// when every partition the topic was created with was read to its high
// watermark, info ("incomplete") when some was not, fail when nothing could
// be listed. The error is non-nil unless the final op is ok; the history
// says why.
func FinalReads(ctx context.Context, cfg Config, rec *history.Recorder) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	err = gen.FinalRead(ctx, cfg.clientConfig(finalHost), rec, 0, gen.FinalTarget{Topic: cfg.Topic, Partitions: cfg.Partitions, ReadCommitted: cfg.readCommitted()})
	err = errors.Join(err, compactedFinal(ctx, &cfg, rec))
	if cfg.Group.Name != "" {
		// What the group committed, read back once everything healed.
		err = errors.Join(err, groupFinalOffsets(ctx, cfg, rec, GroupOffsetsProcess, cfg.Group.Name))
	}
	if cfg.Txn != nil {
		// What the transactions committed for their group.
		err = errors.Join(err, groupFinalOffsets(ctx, cfg, rec, TxnOffsetsProcess, cfg.Txn.Group))
	}
	return err
}
