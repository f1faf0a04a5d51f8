package broker

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

func sampleMeta() clusterMeta {
	return clusterMeta{
		ClusterID: "k3xY0aBcDeFgHiJkLmNoPq",
		NodeID:    1,
		Topics: []topicMeta{
			{Name: "orders", ID: "0123456789abcdef0123456789abcdef", Partitions: 3, Configs: map[string]string{"retention.ms": "86400000", "cleanup.policy": "delete"}},
			{Name: "clicks", ID: "fedcba9876543210fedcba9876543210", Partitions: 12},
		},
	}
}

// TestMetaRoundTrip: what saveMeta writes, loadMeta reads back, and the
// file is JSON a person can read, with the checksum beside the metadata.
func TestMetaRoundTrip(t *testing.T) {
	fs := memfs.New()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	want := sampleMeta()
	if err := saveMeta(fs, "/data", want); err != nil {
		t.Fatal(err)
	}
	got, found, err := loadMeta(fs, "/data")
	if err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("loadMeta: %+v, %v, %v; want %+v", got, found, err, want)
	}
	data, _ := encodeMeta(want)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top["crc32c"] == nil || top["meta"] == nil || !strings.Contains(string(data), "\n    \"topics\"") {
		t.Fatalf("meta.json is not the indented envelope:\n%s", data)
	}
}

// TestMetaEverySingleBitFlipIsCaught flips each bit of an encoded meta.json
// in turn: not one decodes. Without the checksum a flip in a digit would
// change a partition count, and one in a topic name would make the broker
// delete that topic's data at start as unknown.
func TestMetaEverySingleBitFlipIsCaught(t *testing.T) {
	data, err := encodeMeta(sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeMeta(data); err != nil {
		t.Fatalf("unflipped: %v", err)
	}
	for i := range data {
		for bit := range 8 {
			flipped := []byte(string(data))
			flipped[i] ^= 1 << bit
			if m, err := decodeMeta(flipped); !errors.Is(err, errMetaCorrupt) {
				t.Fatalf("flip of bit %d of byte %d (%q): decoded %+v, err %v; want errMetaCorrupt", bit, i, data[i], m, err)
			}
		}
	}
}

// TestMetaLegacyFile: a meta.json written before the checksum existed (the
// metadata object alone) still loads, and the next save adds the checksum.
func TestMetaLegacyFile(t *testing.T) {
	fs := memfs.New()
	want := sampleMeta()
	legacy, _ := json.MarshalIndent(want, "", "  ")
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := env.WriteFileSync(fs, "/data/meta.json", legacy); err != nil {
		t.Fatal(err)
	}
	got, found, err := loadMeta(fs, "/data")
	if err != nil || !found || !reflect.DeepEqual(got, want) {
		t.Fatalf("legacy loadMeta: %+v, %v, %v", got, found, err)
	}
	if err := saveMeta(fs, "/data", got); err != nil {
		t.Fatal(err)
	}
	var data []byte
	env.ReadFileVerified(fs, "/data/meta.json", maxMetaBytes, 1, func(b []byte) error { data = b; return nil })
	if !strings.Contains(string(data), `"crc32c"`) {
		t.Fatalf("saved after a legacy load without a checksum:\n%s", data)
	}
}

// TestMetaCorruptOnDisk: a meta.json whose stored bytes are damaged, or
// that is not ours, stops the load with an error naming the file; a bit
// flipped on the way in a few reads does not.
func TestMetaCorruptOnDisk(t *testing.T) {
	fs := memfs.New()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := saveMeta(fs, "/data", sampleMeta()); err != nil {
		t.Fatal(err)
	}
	// Three in a row: as many as the simulator's fault atlas flips in one
	// disk-fault window (faults.Atlas.MaxReadFlips).
	fs.SetInjector(&memfs.FlipReads{Path: "/data/meta.json", N: 3})
	if _, _, err := loadMeta(fs, "/data"); err != nil {
		t.Fatalf("3 flipped reads: %v", err)
	}
	fs.SetInjector(&memfs.FlipReads{Path: "/data/meta.json", N: metaReads})
	if _, _, err := loadMeta(fs, "/data"); !errors.Is(err, errMetaCorrupt) || !strings.Contains(err.Error(), "meta.json") {
		t.Fatalf("every read flipped: err %v, want errMetaCorrupt naming meta.json", err)
	}
	fs.SetInjector(nil)

	for name, data := range map[string]string{
		"damaged":    strings.Replace(mustEncodeMeta(t), `"orders"`, `"ordees"`, 1),
		"not ours":   `{"hello": "world"}`,
		"not json":   "cluster_id=abc\n",
		"empty":      "",
		"bad topic":  `{"cluster_id": "x", "node_id": 1, "topics": [{"name": "a/b", "id": "0123456789abcdef0123456789abcdef", "partitions": 1}]}`,
		"too large":  `{"cluster_id": "` + strings.Repeat("x", maxMetaBytes) + `"}`,
		"extra keys": `{"crc32c": 1, "meta": {}, "x": 2}`,
	} {
		if err := env.WriteFileSync(fs, "/data/meta.json", []byte(data)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadMeta(fs, "/data"); !errors.Is(err, errMetaCorrupt) {
			t.Errorf("%s: err %v, want errMetaCorrupt", name, err)
		}
	}
}

func mustEncodeMeta(t *testing.T) string {
	data, err := encodeMeta(sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// FuzzDecodeMeta: meta.json is read from the disk, so any bytes may come
// back. decodeMeta never panics, and what it accepts has valid topics.
func FuzzDecodeMeta(f *testing.F) {
	data, _ := encodeMeta(sampleMeta())
	f.Add(data)
	legacy, _ := json.Marshal(sampleMeta())
	f.Add(legacy)
	f.Add([]byte(`{"crc32c": 0, "meta": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMeta(data)
		if err != nil {
			return
		}
		for _, tm := range m.Topics {
			if validateTopicName(tm.Name) != nil || tm.Partitions < 1 {
				t.Fatalf("accepted a bad topic %+v", tm)
			}
		}
	})
}
