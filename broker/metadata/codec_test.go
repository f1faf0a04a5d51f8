package metadata

import (
	"errors"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func sampleRecords() []Record {
	id := TopicID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []Record{
		&ClusterRecord{ClusterID: "c-1"},
		&FeatureLevelRecord{Name: "metadata.version", Level: 1},
		&RegisterBrokerRecord{NodeID: 2, Epoch: 7, IncarnationID: [16]byte{9}, Rack: "r1", Fenced: true,
			Listeners: []Listener{{Name: "PLAINTEXT", Host: "n2", Port: 9092}}},
		&FenceBrokerRecord{NodeID: 2, Epoch: 7},
		&UnfenceBrokerRecord{NodeID: 2, Epoch: 7},
		&BrokerShutdownRecord{NodeID: 2, Epoch: 7},
		&TopicRecord{Name: "orders", ID: id},
		&ConfigRecord{Resource: ResourceTopic, Name: "orders", Key: "retention.ms", Value: "1000"},
		&ConfigRecord{Resource: ResourceTopic, Name: "orders", Key: "segment.ms", Delete: true},
		&PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{2, 1}, ISR: []int32{2}, ELR: []int32{}, LastKnownELR: []int32{}, Leader: 2, LeaderEpoch: 3, PartitionEpoch: 4},
		&PartitionChangeRecord{TopicID: id, Partition: 0, Leader: NoLeaderChange, ISR: []int32{2, 1}, LeaderEpoch: 3, PartitionEpoch: 5},
		&PartitionChangeRecord{TopicID: id, Partition: 0, Leader: -1, ISR: []int32{}, Replicas: []int32{1}, ELR: []int32{1}, LeaderEpoch: 4, PartitionEpoch: 6},
		&RemoveTopicRecord{ID: id},
		&ProducerIDsRecord{BrokerID: 2, BrokerEpoch: 7, NextProducerID: 1000},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	records := sampleRecords()
	b := EncodeBatch(nil, records)
	got, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, records) {
		t.Fatalf("round trip:\n got %v\nwant %v", got, records)
	}
	for _, r := range records {
		if _, err := DecodeBatch(EncodeBatch(nil, []Record{r})); err != nil {
			t.Errorf("%T: %v", r, err)
		}
	}
}

// Every strict prefix and every one-byte extension of a valid batch is
// refused with ErrCorrupt, never decoded as other records.
func TestDecodeBatchRefusesTruncatedAndTrailing(t *testing.T) {
	b := EncodeBatch(nil, sampleRecords())
	for n := 0; n < len(b); n++ {
		if _, err := DecodeBatch(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: err %v", n, err)
		}
	}
	if _, err := DecodeBatch(append(b[:len(b):len(b)], 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: err %v", err)
	}
}

func TestDecodeBatchRefusesUnknownTypeAndVersion(t *testing.T) {
	one := EncodeBatch(nil, []Record{&RemoveTopicRecord{}})
	// one = format, count, type, version, len, body...
	bad := append([]byte(nil), one...)
	bad[2] = 200
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown type: %v", err)
	}
	bad = append([]byte(nil), one...)
	bad[3] = 1
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown version: %v", err)
	}
	bad = append([]byte(nil), one...)
	bad[0] = 9
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown batch format: %v", err)
	}
	// A huge record count must not allocate for it.
	if _, err := DecodeBatch([]byte{batchFormat, 0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge count: %v", err)
	}
}

func genInt32s(t *rapid.T, label string, opt bool) []int32 {
	if opt && rapid.Bool().Draw(t, label+"-nil") {
		return nil
	}
	return rapid.SliceOfN(rapid.Int32(), 0, 5).Draw(t, label)
}

func genRecord(t *rapid.T) Record {
	id := TopicID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
	str := rapid.StringN(0, 20, -1)
	switch rapid.IntRange(0, 11).Draw(t, "type") {
	case 0:
		return &ClusterRecord{ClusterID: str.Draw(t, "cid")}
	case 1:
		return &FeatureLevelRecord{Name: str.Draw(t, "f"), Level: rapid.Int16().Draw(t, "l")}
	case 2:
		return &RegisterBrokerRecord{NodeID: rapid.Int32().Draw(t, "n"), Epoch: rapid.Int64().Draw(t, "e"),
			IncarnationID: [16]byte(id), Rack: str.Draw(t, "rack"), Fenced: rapid.Bool().Draw(t, "f"),
			Listeners: []Listener{{Name: str.Draw(t, "ln"), Host: str.Draw(t, "lh"), Port: rapid.Uint16().Draw(t, "lp"), SecurityProtocol: rapid.Int16().Draw(t, "sp")}}}
	case 3:
		return &FenceBrokerRecord{NodeID: rapid.Int32().Draw(t, "n"), Epoch: rapid.Int64().Draw(t, "e")}
	case 4:
		return &UnfenceBrokerRecord{NodeID: rapid.Int32().Draw(t, "n"), Epoch: rapid.Int64().Draw(t, "e")}
	case 5:
		return &BrokerShutdownRecord{NodeID: rapid.Int32().Draw(t, "n"), Epoch: rapid.Int64().Draw(t, "e")}
	case 6:
		return &TopicRecord{Name: str.Draw(t, "name"), ID: id}
	case 7:
		return &ConfigRecord{Resource: ResourceTopic, Name: str.Draw(t, "n"), Key: str.Draw(t, "k"), Value: str.Draw(t, "v"), Delete: rapid.Bool().Draw(t, "d")}
	case 8:
		return &PartitionRecord{TopicID: id, Partition: rapid.Int32().Draw(t, "p"), Replicas: genInt32s(t, "r", false),
			ISR: genInt32s(t, "isr", false), ELR: genInt32s(t, "elr", false), LastKnownELR: genInt32s(t, "lkelr", false),
			Leader: rapid.Int32().Draw(t, "l"), LeaderEpoch: rapid.Int32().Draw(t, "le"), PartitionEpoch: rapid.Int32().Draw(t, "pe")}
	case 9:
		return &PartitionChangeRecord{TopicID: id, Partition: rapid.Int32().Draw(t, "p"), Leader: rapid.Int32().Draw(t, "l"),
			ISR: genInt32s(t, "isr", true), Replicas: genInt32s(t, "r", true), ELR: genInt32s(t, "elr", true),
			LeaderEpoch: rapid.Int32().Draw(t, "le"), PartitionEpoch: rapid.Int32().Draw(t, "pe")}
	case 10:
		return &RemoveTopicRecord{ID: id}
	default:
		return &ProducerIDsRecord{BrokerID: rapid.Int32().Draw(t, "b"), BrokerEpoch: rapid.Int64().Draw(t, "e"), NextProducerID: rapid.Int64().Draw(t, "n")}
	}
}

// normalize maps the empty non-nil slices of always-present fields to
// what the decoder returns (empty, non-nil), so DeepEqual compares values.
func normalize(r Record) Record {
	e := func(s []int32) []int32 {
		if s == nil {
			return []int32{}
		}
		return s
	}
	if p, ok := r.(*PartitionRecord); ok {
		c := *p
		c.Replicas, c.ISR, c.ELR, c.LastKnownELR = e(c.Replicas), e(c.ISR), e(c.ELR), e(c.LastKnownELR)
		return &c
	}
	return r
}

func TestBatchRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		records := rapid.SliceOfN(rapid.Custom(genRecord), 0, 8).Draw(t, "records")
		got, err := DecodeBatch(EncodeBatch(nil, records))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(records) {
			t.Fatalf("%d records back, sent %d", len(got), len(records))
		}
		for i := range records {
			if !reflect.DeepEqual(normalize(got[i]), normalize(records[i])) {
				t.Fatalf("record %d:\n got %#v\nwant %#v", i, got[i], records[i])
			}
		}
	})
}
