package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/quorum"
)

// livenessClient is the client host the liveness phase checks from.
const livenessClient = "liveness"

// readyAttemptTimeout bounds one convergence check.
const readyAttemptTimeout = 5 * time.Second

// ready checks once that the cluster converged (metadataConverged), that
// every node answers, that every partition has a leader that answers
// ListOffsets, and that its replicas hold what the leader holds below its
// high watermark (replicasAgree).
func (w *World) ready(ctx context.Context) error {
	if err := w.metadataConverged(); err != nil {
		return err
	}
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
		return w.replicasAgree(w.appliedImage())
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
	return w.replicasAgree(w.appliedImage())
}

// appliedImage is the metadata image the first broker applied, which
// metadataConverged found every node applied.
func (w *World) appliedImage() *metadata.Image {
	_, img, _ := w.brokers()[0].metadataState()
	return img
}

// metadataConverged checks the nodes' own view of the cluster: every
// node (dedicated controllers included) is up with its quorum member
// running; all agree on one quorum leader, a voter, in one term; every
// broker is registered and unfenced; every partition has a leader and a
// full ISR; and every node applied the same metadata image. The first
// thing that does not hold is the error.
func (w *World) metadataConverged() error {
	var (
		leader    int32
		term      uint64
		first     []byte
		firstNode string
	)
	brokers := len(w.brokers())
	for i, n := range w.nodes {
		st, img, up := n.metadataState()
		switch {
		case !up:
			return fmt.Errorf("%s is down", n.name)
		case st.Err != nil:
			return fmt.Errorf("%s: its metadata quorum member stopped: %v", n.name, st.Err)
		case st.Leader < 0:
			return fmt.Errorf("%s knows no metadata quorum leader", n.name)
		case !slices.Contains(st.Voters, st.Leader):
			return fmt.Errorf("%s sees quorum leader %s, which is not a voter %v", n.name, w.NodeName(st.Leader), st.Voters)
		case i == 0:
			leader, term = st.Leader, st.Term
		case st.Leader != leader || st.Term != term:
			return fmt.Errorf("%s sees quorum leader %s in term %d, %s sees %s in term %d", n.name, w.NodeName(st.Leader), st.Term, w.nodes[0].name, w.NodeName(leader), term)
		}
		if err := imageConverged(img, brokers); err != nil {
			return fmt.Errorf("%s's metadata: %w", n.name, err)
		}
		snap := metadata.EncodeSnapshot(nil, img)
		if first == nil {
			first, firstNode = snap, n.name
		} else if !bytes.Equal(first, snap) {
			return fmt.Errorf("%s and %s applied different metadata images (%s at offset %d)", firstNode, n.name, n.name, img.Offset().Index)
		}
	}
	return nil
}

// metadataState is the node's view of the metadata quorum and the image
// it applied, from its broker or its dedicated controller; up is false
// while the node is down.
func (n *machine) metadataState() (st quorum.Status, img *metadata.Image, up bool) {
	n.mu.Lock()
	b, ctl := n.b, n.ctl
	n.mu.Unlock()
	switch {
	case b != nil:
		st, img = b.MetadataState()
		return st, img, true
	case ctl != nil:
		return ctl.Status(), ctl.Image(), true
	}
	return quorum.Status{}, nil, false
}

// imageConverged checks one image: every one of nodes brokers registered
// and unfenced, every partition led with its whole replica set in sync.
func imageConverged(img *metadata.Image, nodes int) error {
	if got := len(img.Brokers()); got != nodes {
		return fmt.Errorf("%d brokers registered, want %d", got, nodes)
	}
	for _, br := range img.Brokers() {
		if br.Fenced || br.InControlledShutdown {
			return fmt.Errorf("broker %d is fenced", br.ID)
		}
	}
	for _, t := range img.Topics() {
		for i, p := range t.Partitions {
			switch {
			case p.Leader < 0:
				return fmt.Errorf("partition %s/%d has no leader", t.Name, i)
			case len(p.ISR) != len(p.Replicas):
				return fmt.Errorf("partition %s/%d: ISR %v of replicas %v", t.Name, i, p.ISR, p.Replicas)
			}
		}
	}
	return nil
}
