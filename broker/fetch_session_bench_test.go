package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/fetchsession"
)

// BenchmarkFollowerFetchRound measures a follower's fetch round of idle
// partitions against a real leader: two brokers in this process,
// replication factor 2, nothing produced; the benchmark sends broker 2's
// fetches (replica id 2, MaxWait 0) for every partition broker 1 leads,
// each answered at once, one after the other on one connection. "full"
// sends every partition every time with no session (Weir's fetcher and
// answer before fetch sessions); "session" opens a session once and then
// sends incremental fetches that name nothing and are answered with
// nothing (the leader still reads and records every partition). ns/op
// and cpu-ns/op (the whole process: client, both brokers) are per round:
//
//	go test ./broker -run XXX -bench FollowerFetchRound -benchtime 2000x
func BenchmarkFollowerFetchRound(b *testing.B) {
	for _, partitions := range []int32{20, 200} {
		b.Run(fmt.Sprintf("topic-partitions=%d", partitions), func(b *testing.B) {
			seeds := startRealClusterTopic(b, 2, partitions, 2, nil)
			leaderAddr, want := idleFollowerFetch(b, seeds, 1)
			for _, mode := range []string{"full", "session"} {
				b.Run(mode, func(b *testing.B) {
					benchFollowerRounds(b, leaderAddr, want, mode == "session")
				})
			}
		})
	}
}

// idleFollowerFetch finds broker leader's address and the partitions of
// topic "bench" it leads, as a follower's fetch at offset 0.
func idleFollowerFetch(b *testing.B, seeds []string, leader int32) (string, []kmsg.FetchRequestTopic) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	td := md.Topics["bench"]
	t := kmsg.NewFetchRequestTopic()
	t.Topic, t.TopicID = "bench", td.ID
	for _, p := range td.Partitions.Sorted() {
		if p.Leader != leader {
			continue
		}
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = p.Partition
		fp.CurrentLeaderEpoch = p.LeaderEpoch
		fp.LastFetchedEpoch = -1
		fp.PartitionMaxBytes = 1 << 20
		t.Partitions = append(t.Partitions, fp)
	}
	for _, br := range md.Brokers {
		if br.NodeID == leader {
			return net.JoinHostPort(br.Host, fmt.Sprint(br.Port)), []kmsg.FetchRequestTopic{t}
		}
	}
	b.Fatalf("no broker %d in the metadata", leader)
	return "", nil
}

func benchFollowerRounds(b *testing.B, addr string, want []kmsg.FetchRequestTopic, sessions bool) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	format := kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench-follower"))
	var sess fetchsession.Client
	var buf []byte
	corr := int32(0)
	round := func() int {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 15
		req.ReplicaState.ID, req.ReplicaState.Epoch = 2, -1
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 1, 10<<20
		if sessions {
			sess.Build(req, want)
		} else {
			req.SessionID, req.SessionEpoch, req.Topics = 0, fetchsession.FinalEpoch, want
		}
		corr++
		buf = format.AppendRequest(buf[:0], req, corr)
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		var size [4]byte
		if _, err := io.ReadFull(rd, size[:]); err != nil {
			b.Fatal(err)
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(rd, frame); err != nil {
			b.Fatal(err)
		}
		r := kbin.Reader{Src: frame[4:]} // after the correlation id
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		if err := resp.ReadFrom(r.Src); err != nil {
			b.Fatal(err)
		}
		if sessions {
			if err := sess.Done(resp); err != nil {
				b.Fatal(err)
			}
		}
		answered := 0
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					b.Fatalf("partition %d: error %d", p.Partition, p.ErrorCode)
				}
				answered++
			}
		}
		return answered
	}
	round() // opens the session
	if sessions && sess.ID() == 0 {
		b.Fatal("no session")
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		n := round()
		if sessions && n != 0 {
			b.Fatalf("an idle incremental round answered %d partitions", n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// Followers fetch in incremental sessions: in a cluster of two brokers
// with idle partitions led by both, each leader serves its follower's
// fetches almost all as incremental ones, and each fetcher keeps one
// session.
func TestFollowersUseFetchSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-broker cluster")
	}
	_, brokers := startRealBrokers(t, 2, 8, 2, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := true
		for _, b := range brokers {
			if b.fetchSessions.count(fetchsession.Incremental, true) < 3 {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			for _, b := range brokers {
				t.Logf("broker %d: %d full, %d incremental follower fetches, %d session errors", b.cfg.NodeID,
					b.fetchSessions.count(fetchsession.Full, true), b.fetchSessions.count(fetchsession.Incremental, true), b.fetchSessions.errors)
			}
			t.Fatal("the followers' fetches are not incremental")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Settled: more rounds go by, all incremental.
	var full, incr [2]int
	for i, b := range brokers {
		full[i], incr[i] = b.fetchSessions.count(fetchsession.Full, true), b.fetchSessions.count(fetchsession.Incremental, true)
	}
	time.Sleep(1200 * time.Millisecond) // two rounds of 500 ms long polls, and more
	for i, b := range brokers {
		f, n := b.fetchSessions.count(fetchsession.Full, true), b.fetchSessions.count(fetchsession.Incremental, true)
		if f != full[i] || n < incr[i]+2 {
			t.Errorf("broker %d: %d full and %d incremental follower fetches since the cluster settled; want none and at least 2", b.cfg.NodeID, f-full[i], n-incr[i])
		}
	}
}
