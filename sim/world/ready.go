package world

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// livenessClient is the client host the liveness phase checks from.
const livenessClient = "liveness"

// readyAttemptTimeout bounds one convergence check.
const readyAttemptTimeout = 5 * time.Second

// ready checks once that every node answers and that every partition has a
// leader that answers ListOffsets.
func (w *World) ready(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := w.clock.AfterFunc(readyAttemptTimeout, cancel)
	defer timer.Stop()

	dial := w.ClientDialer(livenessClient)
	// Each node on its own: a client seeded with only that node.
	for _, addr := range w.BootstrapAddrs() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.Dialer(dial), kgo.MetadataMinAge(10*time.Millisecond))
		if err != nil {
			return err
		}
		err = cl.Ping(ctx)
		cl.Close()
		if err != nil {
			return fmt.Errorf("%s does not answer: %w", addr, err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.BootstrapAddrs()...), kgo.Dialer(dial), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	for _, topic := range slices.Sorted(maps.Keys(md.Topics)) {
		td := md.Topics[topic]
		if td.Err != nil {
			return fmt.Errorf("topic %s: %w", topic, td.Err)
		}
		for _, p := range slices.Sorted(maps.Keys(td.Partitions)) {
			pd := td.Partitions[p]
			if pd.Err != nil || pd.Leader < 0 {
				return fmt.Errorf("partition %s/%d: leader %d: %v", topic, p, pd.Leader, pd.Err)
			}
		}
	}
	if len(md.Topics) == 0 {
		return nil
	}
	offsets, err := adm.ListEndOffsets(ctx, slices.Sorted(maps.Keys(md.Topics))...)
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	var errs []error
	offsets.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("partition %s/%d: list offsets: %w", o.Topic, o.Partition, o.Err))
		}
	})
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return errors.Join(errs...)
	}
	return nil
}
