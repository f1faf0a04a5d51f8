package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
)

var (
	idA = TopicID{0xa}
	idB = TopicID{0xb}
)

// sampleImage is a small cluster: three brokers, two topics.
func sampleImage(tb testing.TB) *Image {
	tb.Helper()
	img, err := Empty(nil).Apply(Offset{Index: 1, Term: 1}, []Record{
		&ClusterRecord{ClusterID: "c1"},
		&FeatureLevelRecord{Name: "metadata.version", Level: 1},
		&RegisterBrokerRecord{NodeID: 1, Epoch: 1, Fenced: true, Listeners: []Listener{{Name: "PLAINTEXT", Host: "n1", Port: 9092}}},
		&RegisterBrokerRecord{NodeID: 2, Epoch: 1, Fenced: false, Rack: "r2"},
		&RegisterBrokerRecord{NodeID: 3, Epoch: 1, Fenced: false},
		&TopicRecord{Name: "a", ID: idA},
		&ConfigRecord{Resource: ResourceTopic, Name: "a", Key: "retention.ms", Value: "1000"},
		&PartitionRecord{TopicID: idA, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		&PartitionRecord{TopicID: idA, Partition: 1, Replicas: []int32{2, 3}, ISR: []int32{2, 3}, Leader: 2},
		&TopicRecord{Name: "b", ID: idB},
		&PartitionRecord{TopicID: idB, Partition: 0, Replicas: []int32{3}, ISR: []int32{3}, Leader: 3},
		&ProducerIDsRecord{BrokerID: 2, BrokerEpoch: 1, NextProducerID: 1000},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func TestApplyBuildsImage(t *testing.T) {
	img := sampleImage(t)
	if img.ClusterID() != "c1" || img.Offset() != (Offset{1, 1}) || img.NextProducerID() != 1000 {
		t.Fatalf("cluster %q offset %+v next pid %d", img.ClusterID(), img.Offset(), img.NextProducerID())
	}
	if n := len(img.Brokers()); n != 3 || img.Brokers()[0].ID != 1 {
		t.Fatalf("brokers %v", img.Brokers())
	}
	a, ok := img.Topic("a")
	if !ok || len(a.Partitions) != 2 || a.Config.RetentionMs != 1000 || a.Config.SegmentBytes != 1<<30 {
		t.Fatalf("topic a: %+v", a)
	}
	if v, src := img.ConfigValue(a, "retention.ms"); v != "1000" || src != 1 /* dynamic topic */ {
		t.Fatalf("retention.ms = %s from %d", v, src)
	}
	if names := []string{img.Topics()[0].Name, img.Topics()[1].Name}; names[0] != "a" || names[1] != "b" {
		t.Fatalf("topics %v", names)
	}
	if p, ok := img.Partition(idA, 1); !ok || p.Leader != 2 {
		t.Fatalf("a/1 = %+v", p)
	}
	if err := CheckImage(img); err != nil {
		t.Fatal(err)
	}
}

// Apply never changes the image it is called on: handlers hold images
// across requests.
func TestApplyLeavesOldImageUnchanged(t *testing.T) {
	old := sampleImage(t)
	before := EncodeSnapshot(nil, old)
	a, _ := old.Topic("a")
	p0 := a.Partitions[0]
	next, err := old.Apply(Offset{2, 1}, []Record{
		&PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: 2, ISR: []int32{2}, LeaderEpoch: 1, PartitionEpoch: 1},
		&ConfigRecord{Resource: ResourceTopic, Name: "a", Key: "retention.ms", Value: "5"},
		&FenceBrokerRecord{NodeID: 2, Epoch: 1},
		&RemoveTopicRecord{ID: idB},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeSnapshot(nil, old), before) {
		t.Fatal("Apply changed the old image")
	}
	if p0.Leader != 1 || a.Config.RetentionMs != 1000 || a.Overrides["retention.ms"] != "1000" {
		t.Fatal("Apply changed a topic or partition the old image holds")
	}
	na, _ := next.Topic("a")
	if na.Partitions[0].Leader != 2 || na.Config.RetentionMs != 5 || na.Partitions[1] != a.Partitions[1] {
		t.Fatalf("next a = %+v (untouched partitions are shared)", na)
	}
	if b2, _ := next.Broker(2); !b2.Fenced {
		t.Fatal("broker 2 not fenced")
	}
	if _, ok := next.Topic("b"); ok || len(next.Topics()) != 1 {
		t.Fatal("topic b not removed")
	}
}

func TestApplyRefusesRecordsThatDoNotFit(t *testing.T) {
	img := sampleImage(t)
	cases := map[string]Record{
		"unknown topic":        &PartitionChangeRecord{TopicID: TopicID{9}, Leader: 1},
		"partition hole":       &PartitionRecord{TopicID: idA, Partition: 5, Replicas: []int32{1}},
		"duplicate topic name": &TopicRecord{Name: "a", ID: TopicID{7}},
		"duplicate topic id":   &TopicRecord{Name: "c", ID: idA},
		"bad topic name":       &TopicRecord{Name: "a/b", ID: TopicID{7}},
		"stale broker epoch":   &FenceBrokerRecord{NodeID: 2, Epoch: 0},
		"unknown broker":       &UnfenceBrokerRecord{NodeID: 9, Epoch: 1},
		"other cluster id":     &ClusterRecord{ClusterID: "c2"},
		"bad config value":     &ConfigRecord{Resource: ResourceTopic, Name: "a", Key: "retention.ms", Value: "soon"},
		"config of no topic":   &ConfigRecord{Resource: ResourceTopic, Name: "zz", Key: "retention.ms", Value: "1"},
		"no replicas":          &PartitionRecord{TopicID: idB, Partition: 1},
	}
	for name, r := range cases {
		// A good record first: a refused batch must not keep it.
		_, err := img.Apply(Offset{2, 1}, []Record{&FenceBrokerRecord{NodeID: 3, Epoch: 1}, r})
		if !errors.Is(err, ErrApply) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if b3, _ := img.Broker(3); b3.Fenced {
		t.Fatal("a refused batch changed the image")
	}
	if _, err := img.Apply(Offset{1, 1}, nil); !errors.Is(err, ErrApply) {
		t.Errorf("same offset again: %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	img := sampleImage(t)
	snap := EncodeSnapshot(nil, img)
	back, err := DecodeSnapshot(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeSnapshot(nil, back), snap) {
		t.Fatal("snapshot of the decoded image differs")
	}
	if back.Offset() != img.Offset() || len(back.Brokers()) != 3 || back.PartitionCount() != 3 {
		t.Fatalf("decoded: offset %+v brokers %d partitions %d", back.Offset(), len(back.Brokers()), back.PartitionCount())
	}
	if a, _ := back.Topic("a"); a.Config.RetentionMs != 1000 {
		t.Fatal("configs not resolved after decoding")
	}
	for i := range snap {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x10
		if _, err := DecodeSnapshot(bad, nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
}

func TestDefaultsResolve(t *testing.T) {
	d, err := NewDefaults(map[string]string{"segment.bytes": "4096", "unclean.leader.election.enable": "true"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Empty(d).Apply(Offset{1, 1}, []Record{&TopicRecord{Name: "t", ID: idA}})
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := img.Topic("t")
	if tp.Config.SegmentBytes != 4096 || !tp.Config.UncleanLeaderElectionEnable || tp.Config.MaxMessageBytes != 1048588 {
		t.Fatalf("resolved %+v", tp.Config)
	}
	if _, err := NewDefaults(map[string]string{"segment.bytes": "x"}); err == nil {
		t.Fatal("a bad default was accepted")
	}
}

func TestCheckTransitionCatchesBrokenRules(t *testing.T) {
	base := &Partition{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 7}
	cases := map[string]*Partition{
		"leader change, same leader epoch": {Replicas: base.Replicas, ISR: base.ISR, Leader: 2, LeaderEpoch: 4, PartitionEpoch: 8},
		"isr change, same partition epoch": {Replicas: base.Replicas, ISR: []int32{1}, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 7},
		"leader epoch back":                {Replicas: base.Replicas, ISR: base.ISR, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 8},
	}
	for name, np := range cases {
		if err := CheckPartitionTransition(base, np); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
	ok := &Partition{Replicas: base.Replicas, ISR: []int32{2}, Leader: 2, LeaderEpoch: 5, PartitionEpoch: 8}
	if err := CheckPartitionTransition(base, ok); err != nil {
		t.Errorf("a valid election: %v", err)
	}
	bad := map[string]*Partition{
		"leader outside isr":   {Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 1},
		"isr outside replicas": {Replicas: []int32{1, 2}, ISR: []int32{3}, Leader: -1},
		"duplicate replica":    {Replicas: []int32{1, 1}, ISR: []int32{1}, Leader: 1},
	}
	for name, p := range bad {
		if err := CheckPartition(p); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
}

// bigImage has topics of 100 partitions each, RF=3 on three brokers.
func bigImage(tb testing.TB, partitions int) *Image {
	img := Empty(nil)
	var recs []Record
	for i := 0; i < 3; i++ {
		recs = append(recs, &RegisterBrokerRecord{NodeID: int32(i), Epoch: 1})
	}
	for t := 0; t*100 < partitions; t++ {
		id := TopicID{byte(t), byte(t >> 8), 1}
		recs = append(recs, &TopicRecord{Name: fmt.Sprintf("topic-%05d", t), ID: id})
		for p := 0; p < 100 && t*100+p < partitions; p++ {
			r := []int32{int32(p % 3), int32((p + 1) % 3), int32((p + 2) % 3)}
			recs = append(recs, &PartitionRecord{TopicID: id, Partition: int32(p), Replicas: r, ISR: r, Leader: r[0]})
		}
	}
	img, err := img.Apply(Offset{1, 1}, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// BenchmarkImageMemoryPerPartition reports the heap an idle partition
// costs in an image (10,000 partitions, RF=3): bytes/partition.
func BenchmarkImageMemoryPerPartition(b *testing.B) {
	const n = 10000
	var perPartition float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		img := bigImage(b, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perPartition = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(img)
	}
	b.ReportMetric(perPartition, "bytes/partition")
}

// BenchmarkApplyPartitionChange is one ISR change on an image of 10,000
// partitions: the cost of copy-on-write.
func BenchmarkApplyPartitionChange(b *testing.B) {
	img := bigImage(b, 10000)
	id := TopicID{5, 0, 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next, err := img.Apply(Offset{uint64(i) + 2, 1}, []Record{
			&PartitionChangeRecord{TopicID: id, Partition: 3, Leader: NoLeaderChange, ISR: []int32{0, 1, 2}, LeaderEpoch: 0, PartitionEpoch: int32(i + 1)},
		})
		if err != nil {
			b.Fatal(err)
		}
		img = next
	}
}
