package metadata

import (
	"bytes"
	"encoding/binary"
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
		&PartitionChangeRecord{TopicID: id, Partition: 0, Leader: NoLeaderChange, ISR: []int32{1}, LeaderEpoch: 4, PartitionEpoch: 7,
			Request: &LeaderRequest{BrokerID: 1, BrokerEpoch: 9, LeaderEpoch: 4, PartitionEpoch: 6}},
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

// A PartitionChangeRecord without a Request keeps version 0, byte for
// byte what was written before the field existed, and decodes with
// Request nil; one with a Request is version 1 and carries it; a later
// version is refused.
func TestPartitionChangeVersions(t *testing.T) {
	id := TopicID{7}
	plain := &PartitionChangeRecord{TopicID: id, Partition: 2, Leader: NoLeaderChange, ISR: []int32{1, 2}, LeaderEpoch: 3, PartitionEpoch: 5}
	// The version 0 encoding, written out field by field as the encoder
	// before Request wrote it: type, version 0, length, body.
	body := append(id[:0:0], id[:]...)
	for _, v := range []int64{2, int64(NoLeaderChange)} {
		body = binary.AppendVarint(body, v)
	}
	body = append(body, 3) // ISR present, 2 members
	body = binary.AppendVarint(body, 1)
	body = binary.AppendVarint(body, 2)
	body = append(body, 0, 0) // replicas, ELR absent
	body = binary.AppendVarint(body, 3)
	body = binary.AppendVarint(body, 5)
	v0 := append([]byte{batchFormat, 1, byte(TypePartitionChange), 0, byte(len(body))}, body...)
	if got := EncodeBatch(nil, []Record{plain}); !bytes.Equal(got, v0) {
		t.Fatalf("a change without a request encodes as\n%x\nnot version 0\n%x", got, v0)
	}
	recs, err := DecodeBatch(v0)
	if err != nil || len(recs) != 1 || recs[0].(*PartitionChangeRecord).Request != nil || !reflect.DeepEqual(recs[0], plain) {
		t.Fatalf("version 0 decodes to %v, %v", recs, err)
	}

	requested := *plain
	requested.Request = &LeaderRequest{BrokerID: 1, BrokerEpoch: 40, LeaderEpoch: 3, PartitionEpoch: 4}
	b := EncodeBatch(nil, []Record{&requested})
	if b[3] != 1 {
		t.Fatalf("a change with a request is version %d, want 1", b[3])
	}
	recs, err = DecodeBatch(b)
	if err != nil || !reflect.DeepEqual(recs[0], &requested) {
		t.Fatalf("version 1 decodes to %v, %v", recs, err)
	}
	b[3] = 2
	if _, err := DecodeBatch(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("version 2: %v", err)
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
			LeaderEpoch: rapid.Int32().Draw(t, "le"), PartitionEpoch: rapid.Int32().Draw(t, "pe"),
			Request: rapid.Ptr(rapid.Custom(func(t *rapid.T) LeaderRequest {
				return LeaderRequest{BrokerID: rapid.Int32().Draw(t, "rb"), BrokerEpoch: rapid.Int64().Draw(t, "rbe"),
					LeaderEpoch: rapid.Int32().Draw(t, "rle"), PartitionEpoch: rapid.Int32().Draw(t, "rpe")}
			}), true).Draw(t, "request")}
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
