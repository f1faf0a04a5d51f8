package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/reconcile"
	"github.com/weir-dev/weir/env"
)

// The reconciler makes the broker match the metadata image: it opens the
// partitions the image places on this broker, sets each one's role (leader,
// follower or neither, with the partition's replicas, ISR and epochs:
// roleOf in replication.go, Partition.SetRole), applies config changes, and closes and deletes the
// replicas the image no longer places here. Handlers read the
// topics it publishes together with the image they came from, so a topic a
// handler sees always has its local partitions open.

// image is the metadata image the reconciler last applied.
func (b *Broker) image() *metadata.Image {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.img == nil {
		return metadata.Empty(nil)
	}
	return b.img
}

// runReconciler applies each new image of the quorum, in order, until the
// broker stops. If the quorum node stops on a fault (its log failed), the
// broker halts (halt): it would never learn of another leader, and a
// broker that goes on serving the last image it had keeps leading the
// partitions it led, answering reads with a high watermark that stops
// moving while the partition's real leader commits more (seed 7041: a
// watermark regression and a nonlinearizable read). Kafka halts the
// process on a fault of the metadata log (KAFKA-14644: a failure in the
// Raft IO thread is fatal; the metadata log directory's failure shuts the
// broker down).
func (b *Broker) runReconciler() {
	defer b.wg.Done()
	img := b.image()
	for {
		next, err := b.quorum.Wait(b.ctx, img.Offset())
		if err != nil {
			if b.ctx.Err() == nil {
				b.log.Error("the metadata quorum stopped; halting this broker, as Kafka does when its metadata log fails", "err", err)
				b.halt(fmt.Errorf("halted: the metadata quorum stopped: %w", err))
			}
			return
		}
		if err := b.reconcile(next); err != nil {
			b.log.Error("applying a metadata image", "offset", next.Offset().Index, "err", err)
		}
		img = next
	}
}

// leads reports whether this incarnation of the broker may lead
// partitions in img (reconcile.Active): a restarted broker leads nothing
// until the controller has seen it again.
func (b *Broker) leads(img *metadata.Image) bool {
	return reconcile.Active(b.node(), img)
}

// node is this broker incarnation for the reconciler.
func (b *Broker) node() reconcile.Node {
	return reconcile.Node{ID: b.cfg.NodeID, Incarnation: b.incarnation}
}

// reconcile applies img: reconcile.Decide plans which replicas to open,
// reconfigure, lead, follow or remove; this shell does it. A partition
// that cannot be opened (a disk fault) stays unavailable and is tried
// again with the next image; the error names it.
func (b *Broker) reconcile(img *metadata.Image) error {
	b.mu.RLock()
	old, prevImg := b.topics, b.img
	b.mu.RUnlock()
	plan := reconcile.Decide(b.node(), heldReplicas(old), img)
	topics := make(map[string]*topic, len(img.Topics()))
	byID := make(map[[16]byte]*topic, len(img.Topics()))
	for _, ti := range img.Topics() {
		t := &topic{info: ti, partitions: make([]*partition.Partition, len(ti.Partitions))}
		topics[ti.Name], byID[t.id()] = t, t
	}
	var errs []error
	for _, st := range plan.Steps {
		p, err := b.applyStep(old, st)
		if err != nil {
			errs = append(errs, err)
		}
		if p == nil {
			continue
		}
		p.SetRole(st.Role, b.roleOf(img, st, plan.Active))
		topics[st.Topic.Name].partitions[st.Index] = p
	}
	var removed []*partition.Partition
	for _, r := range plan.Remove {
		removed = append(removed, old[r.Topic].partition(r.Partition))
	}
	b.mu.Lock()
	b.img, b.topics, b.byID = img, topics, byID
	close(b.applied)
	b.applied = make(chan struct{})
	checkStrays := plan.Active && !b.strayChecked
	b.strayChecked = b.strayChecked || plan.Active
	b.mu.Unlock()
	for _, p := range removed {
		p.StopReplicating()
		if err := p.Delete(); err != nil {
			b.log.Warn("removing a replica the metadata no longer places here", "topic", p.Topic(), "partition", p.Index(), "err", err)
		}
		b.log.Info("removed replica", "topic", p.Topic(), "partition", p.Index())
	}
	// Group and transaction coordination follow leadership of
	// __consumer_offsets and __transaction_state.
	b.groups.follow(topics[offsetsTopic])
	b.txns.follow(topics[transactionStateTopic])
	if prevImg == nil || prevImg.ClusterID() != img.ClusterID() {
		b.noteClusterID(img.ClusterID())
	}
	if checkStrays {
		// Only now is the image known to be the controller's: this
		// incarnation is registered and was unfenced, which needs the
		// metadata log caught up. Before, a stale image could make live
		// data look stray.
		if err := b.removeStrayPartitions(topics); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyStep opens or reconfigures the replica of one step, or returns the
// one held. A replica that cannot be opened is nil, with the error.
func (b *Broker) applyStep(old map[string]*topic, st reconcile.Step) (*partition.Partition, error) {
	if st.Open {
		return b.openPartition(st.Topic, st.Index)
	}
	p := old[st.Topic.Name].partition(st.Index)
	if st.Reconfigure {
		if err := p.SetLogConfig(b.logConfig(st.Topic.Overrides)); err != nil {
			return p, fmt.Errorf("partition %s-%d: new config: %w", st.Topic.Name, st.Index, err)
		}
	}
	return p, nil
}

// heldReplicas lists the replicas topics hold, for reconcile.Decide.
func heldReplicas(topics map[string]*topic) []reconcile.Replica {
	var held []reconcile.Replica
	for name, t := range topics {
		for i, p := range t.partitions {
			if p != nil {
				held = append(held, reconcile.Replica{Topic: name, TopicID: t.info.ID, Partition: int32(i), Overrides: t.overrides()})
			}
		}
	}
	return held
}

// noteClusterID records the cluster id in meta.properties once the quorum
// has one.
func (b *Broker) noteClusterID(id string) {
	if id == "" {
		return
	}
	cur, _, err := loadIdentity(b.fs, b.cfg.DataDir)
	if err == nil && cur.ClusterID == id {
		return
	}
	if err := saveIdentity(b.fs, b.cfg.DataDir, identity{NodeID: b.cfg.NodeID, ClusterID: id}); err != nil {
		b.log.Warn("recording the cluster id", "err", err)
	}
}

// removeStrayPartitions deletes partition directories that the image does
// not place on this broker: what a crash in the middle of a deletion
// leaves, or a topic deleted while this broker was down.
func (b *Broker) removeStrayPartitions(topics map[string]*topic) error {
	names, err := b.fs.List(b.cfg.DataDir)
	if err != nil {
		return err
	}
	for _, name := range names {
		m := partitionDir.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		idx, err := strconv.ParseInt(m[2], 10, 32)
		if t := topics[m[1]]; t != nil && err == nil && t.partition(int32(idx)) != nil {
			continue
		}
		b.log.Warn("removing partition directory the metadata does not place here", "dir", name)
		if err := b.fs.RemoveAll(filepath.Join(b.cfg.DataDir, name)); err != nil {
			return err
		}
	}
	return b.fs.SyncDir(b.cfg.DataDir)
}

// partitionMetadataFile names the topic a partition directory belongs to,
// in Kafka's format, so that a directory left by a deleted topic is never
// taken for a new topic of the same name.
const partitionMetadataFile = "partition.metadata"

// claimPartitionDir makes dir a directory of topic id: a directory of
// another topic of that name is removed first. A different id must read
// the same three times before anything is removed, so a bit flipped on the
// way from the disk never costs a partition its data.
func (b *Broker) claimPartitionDir(dir string, id metadata.TopicID) error {
	path := filepath.Join(dir, partitionMetadataFile)
	want := fmt.Sprintf("version: 0\ntopic_id: %s\n", id)
	found, err := b.readPartitionMetadata(path)
	if err == nil && found != want {
		for range 2 {
			again, err2 := b.readPartitionMetadata(path)
			if err2 != nil || again != found {
				return fmt.Errorf("%s reads differently each time: %v", path, err2)
			}
		}
		b.log.Warn("removing a partition directory of an earlier topic of the same name", "dir", dir)
		if err := b.fs.RemoveAll(dir); err != nil {
			return err
		}
	}
	switch {
	case err == nil && found == want:
		return nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := b.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := b.fs.SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return env.WriteFileAtomic(b.fs, path, []byte(want))
}

var errPartitionMetadata = errors.New("not a partition.metadata file")

// readPartitionMetadata reads a partition.metadata file, again while it
// does not parse (a flipped read), up to a few times.
func (b *Broker) readPartitionMetadata(path string) (string, error) {
	var out string
	err := env.ReadFileVerified(b.fs, path, 1024, 3, func(d []byte) error {
		s := string(d)
		hexID, ok := strings.CutPrefix(s, "version: 0\ntopic_id: ")
		if !ok || len(hexID) != 33 || hexID[32] != '\n' {
			return errPartitionMetadata
		}
		for _, c := range hexID[:32] {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return errPartitionMetadata
			}
		}
		out = s
		return nil
	})
	return out, err
}

// leaderPartition returns the partition of t at index that this broker
// leads, or the Kafka error a client should get: UNKNOWN_TOPIC_OR_PARTITION
// for a partition the image does not have, NOT_LEADER_OR_FOLLOWER for one
// led elsewhere (or by nobody), FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH
// when the client's current leader epoch (>= 0; -1 skips the check) is
// older / newer than this leader's.
func (t *topic) leaderPartition(index, clientEpoch int32) (*partition.Partition, *kerr.Error) {
	if t == nil || index < 0 || int(index) >= len(t.info.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	p := t.partitions[index]
	if p == nil || !p.Leading() {
		return nil, kerr.NotLeaderForPartition
	}
	switch epoch := p.LeaderEpoch(); {
	case clientEpoch < 0 || clientEpoch == epoch:
	case clientEpoch < epoch:
		return nil, kerr.FencedLeaderEpoch
	default:
		return nil, kerr.UnknownLeaderEpoch
	}
	return p, nil
}

// waitApplied waits until the reconciler has applied an image for which
// done holds, or ctx ends: an admin request answers only once its change
// shows here, so the client's next request to this broker sees it.
func (b *Broker) waitApplied(ctx context.Context, done func(*metadata.Image) bool) bool {
	for {
		b.mu.RLock()
		img, ch := b.img, b.applied
		b.mu.RUnlock()
		if img != nil && done(img) {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// leaderErrorMessage says why leaderPartition refused, for responses that
// carry a message.
func leaderErrorMessage(e *kerr.Error) string {
	switch e {
	case kerr.UnknownTopicOrPartition:
		return "this topic-partition does not exist"
	case kerr.NotLeaderForPartition:
		return "this broker is not the leader of this partition; refresh metadata"
	case kerr.FencedLeaderEpoch:
		return "the leader epoch in the request is older than this leader's"
	case kerr.UnknownLeaderEpoch:
		return "the leader epoch in the request is newer than this broker knows"
	}
	return e.Message
}

// WaitActive waits until this broker is registered with the controller and
// unfenced in the image it applied (so it may lead partitions), or ctx
// ends. A broker serves from the moment it listens, but until then it
// leads nothing and the controller places no new replica on it.
func (b *Broker) WaitActive(ctx context.Context) error {
	if b.waitApplied(ctx, b.leads) {
		return nil
	}
	return fmt.Errorf("broker %d is not registered and unfenced yet: %w", b.cfg.NodeID, ctx.Err())
}

// awaitActive is WaitActive for a request that creates partitions: a
// cluster that just started may not have registered this broker yet, and
// Kafka's answer then (INVALID_REPLICATION_FACTOR: no brokers) would make
// the client give up. It waits at most a few seconds within ctx.
func (b *Broker) awaitActive(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, activeWait)
	defer cancel()
	b.WaitActive(ctx)
}

// activeWait bounds awaitActive.
const activeWait = 5 * time.Second
