package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
)

// The two Go client libraries our users run besides franz-go: sarama and
// segmentio/kafka-go, each producing with its own producer and consuming
// in a group the way its documentation shows. The shape is the confluent
// test's: two members split a topic's partitions and read every record
// once, committing each; `weir groups describe` shows the commits; a later
// run of one member reads exactly what came after.

// goMember is one group member of a Go client library: it runs until ctx
// ends, reporting every record it read and committed. It returns an error
// only when the library could not start the member at all.
type goMember func(ctx context.Context, clientID string, read func(partition int32, offset int64, value string)) error

// goGroupReads collects what members of one group read.
type goGroupReads struct {
	mu   sync.Mutex
	read map[position]string
	by   map[position][]string
}

func (g *goGroupReads) add(member string, partition int32, offset int64, value string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pos := position{partition, offset}
	g.read[pos] = value
	g.by[pos] = append(g.by[pos], member)
}

func (g *goGroupReads) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.read)
}

// runGoGroup starts the members (client ids m0, m1, ...), waits for the
// group to be stable with every member holding partitions, calls produce,
// then waits until the members read len(want) records, and stops them.
// Every record of want must be read exactly once, by one member.
func runGoGroup(t *testing.T, s *server, group string, member goMember, members int, produce func() map[position]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	g := &goGroupReads{read: map[position]string{}, by: map[position][]string{}}
	var wg sync.WaitGroup
	var ids []string
	for i := range members {
		id := fmt.Sprintf("m%d", i)
		ids = append(ids, id)
		wg.Go(func() {
			// t.Errorf, not t.Fatal: this is not the test's goroutine.
			if err := member(ctx, id, func(p int32, o int64, v string) { g.add(id, p, o, v) }); err != nil {
				t.Errorf("member %s of group %s: %v", id, group, err)
			}
		})
	}
	waitStable(t, s, group, ids...)
	want := produce()
	eventually(t, fmt.Sprintf("%d records read by group %s", len(want), group), func() bool {
		return g.count() >= len(want)
	})
	cancel()
	wg.Wait()
	for pos, v := range want {
		switch by := g.by[pos]; {
		case len(by) == 0:
			t.Errorf("record %v (%s) was never read", pos, v)
		case len(by) > 1:
			t.Errorf("record %v read %d times, by %v", pos, len(by), by)
		case g.read[pos] != v:
			t.Errorf("record %v read as %q, written as %q", pos, g.read[pos], v)
		}
	}
	for pos := range g.read {
		if _, ok := want[pos]; !ok {
			t.Errorf("the group read %v, which this round did not write", pos)
		}
	}
}

// producedRound writes perPartition keyed records to each partition with
// the library's producer (send), then reads the topic back with franz-go to
// learn where they went: the positions of this round's values.
func producedRound(t *testing.T, s *server, topic string, round, records int, send func(keys, values []string) error) map[position]string {
	t.Helper()
	var keys, values []string
	for i := range records {
		keys = append(keys, "k"+strconv.Itoa(i))
		values = append(values, fmt.Sprintf("r%d-%d", round, i))
	}
	if err := send(keys, values); err != nil {
		t.Fatalf("producing round %d: %v", round, err)
	}
	want := map[position]string{}
	for p, rs := range s.readAll(t, topic) {
		for _, r := range rs {
			if slices.Contains(values, string(r.Value)) {
				want[position{p, r.Offset}] = string(r.Value)
			}
		}
	}
	if len(want) != records {
		t.Fatalf("round %d: %d of %d records in the topic: %v", round, len(want), records, want)
	}
	return want
}

// describedCommits checks `weir groups describe` against the end of each
// partition: a group that read everything committed every partition's end.
func describedCommits(t *testing.T, s *server, group string, want map[position]string) {
	t.Helper()
	ends := map[string]int64{}
	for pos := range maps.Keys(want) {
		p := strconv.Itoa(int(pos.partition))
		ends[p] = max(ends[p], pos.offset+1)
	}
	rows := describeGroup(t, s, group)
	for p, end := range ends {
		i, _ := strconv.Atoi(p)
		r := rows[int32(i)]
		if r.current != strconv.FormatInt(end, 10) || r.lag != "0" {
			t.Errorf("partition %s: describe %+v, want the group's commit at %d and lag 0", p, r, end)
		}
	}
}

func testGoGroup(t *testing.T, lib string, member func(addr, topic, group string) goMember, send func(addr, topic string) func(keys, values []string) error) {
	s := startGroupServer(t)
	topic, group := lib+"-events", lib+"-readers"
	s.createTopic(t, topic, 4, nil)
	var round1, round2 map[position]string
	runGoGroup(t, s, group, member(s.addr, topic, group), 2, func() map[position]string {
		round1 = producedRound(t, s, topic, 1, 20, send(s.addr, topic))
		return round1
	})
	describedCommits(t, s, group, round1)
	runGoGroup(t, s, group, member(s.addr, topic, group), 1, func() map[position]string {
		round2 = producedRound(t, s, topic, 2, 12, send(s.addr, topic))
		return round2
	})
	describedCommits(t, s, group, round2)
}

// TestGroupSarama: sarama's idempotent SyncProducer and two ConsumerGroup
// members committing each record (MarkMessage, Commit).
func TestGroupSarama(t *testing.T) {
	t.Parallel()
	testGoGroup(t, "sarama", saramaMember, saramaSend)
}

// TestGroupKafkaGo: kafka-go's Writer (acks all) and two Readers with a
// GroupID committing each record (FetchMessage, CommitMessages).
func TestGroupKafkaGo(t *testing.T) {
	t.Parallel()
	testGoGroup(t, "kafkago", kafkaGoMember, kafkaGoSend)
}

func saramaConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V3_6_0_0
	c.ClientID = clientID
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = false
	c.Consumer.Group.Session.Timeout = 6 * time.Second
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Producer.Return.Successes = true
	c.Net.MaxOpenRequests = 1 // sarama's rule for an idempotent producer
	return c
}

func saramaSend(addr, topic string) func(keys, values []string) error {
	return func(keys, values []string) error {
		p, err := sarama.NewSyncProducer([]string{addr}, saramaConfig("sarama-producer"))
		if err != nil {
			return err
		}
		defer p.Close()
		var msgs []*sarama.ProducerMessage
		for i := range keys {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(keys[i]), Value: sarama.StringEncoder(values[i])})
		}
		return p.SendMessages(msgs)
	}
}

func saramaMember(addr, topic, group string) goMember {
	return func(ctx context.Context, clientID string, read func(int32, int64, string)) error {
		cg, err := sarama.NewConsumerGroup([]string{addr}, group, saramaConfig(clientID))
		if err != nil {
			return err
		}
		defer cg.Close()
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, saramaHandler(read)); err != nil {
				// A failed session (a rebalance, a broker error) is retried as
				// sarama's documentation shows, after a pause so that a
				// persistent error does not spin.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		return nil
	}
}

// saramaHandler commits each record before reporting it, so a record
// reported read is one the group will not read again.
type saramaHandler func(int32, int64, string)

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		sess.MarkMessage(m, "")
		sess.Commit()
		h(m.Partition, m.Offset, string(m.Value))
	}
	return nil
}

func kafkaGoSend(addr, topic string) func(keys, values []string) error {
	return func(keys, values []string) error {
		w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll}
		defer w.Close()
		var msgs []kafkago.Message
		for i := range keys {
			msgs = append(msgs, kafkago.Message{Key: []byte(keys[i]), Value: []byte(values[i])})
		}
		return w.WriteMessages(context.Background(), msgs...)
	}
}

func kafkaGoMember(addr, topic, group string) goMember {
	return func(ctx context.Context, clientID string, read func(int32, int64, string)) error {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers: []string{addr}, GroupID: group, Topic: topic,
			Dialer:            &kafkago.Dialer{ClientID: clientID, Timeout: 10 * time.Second},
			StartOffset:       kafkago.FirstOffset,
			SessionTimeout:    6 * time.Second,
			HeartbeatInterval: 500 * time.Millisecond,
			MaxWait:           200 * time.Millisecond,
		})
		defer r.Close()
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil // stopped by the test
				}
				return err // kafka-go's reader is closed for good
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				continue // not committed: the group reads it again
			}
			read(int32(m.Partition), m.Offset, string(m.Value))
		}
	}
}
