package broker

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// metaFile is where a single broker keeps its cluster metadata (cluster id,
// topics, their partition counts and config overrides) until the Raft
// metadata quorum replaces it. It is rewritten whole and atomically: temp
// file, fsync, rename, fsync of the directory; it carries a CRC-32C (see
// decodeMeta).
const metaFile = "meta.json"

type topicMeta struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"` // 32 hex digits
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	// ReplicationFactor is stored for internal topics (the factor asked,
	// kept for when replication exists); 0 means 1.
	ReplicationFactor int16 `json:"replication_factor,omitempty"`
}

type clusterMeta struct {
	ClusterID string      `json:"cluster_id"`
	NodeID    int32       `json:"node_id"`
	Topics    []topicMeta `json:"topics"`
}

func (t *topicMeta) id() [16]byte {
	var id [16]byte
	hex.Decode(id[:], []byte(t.ID)) // validated when loaded
	return id
}

func newTopicID() (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]), nil
}

func newClusterID() (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(id[:]), nil
}

// metaReads is how many times loadMeta reads meta.json before it calls a
// checksum mismatch corruption rather than a bit flipped on the way from the
// disk: more than the simulator's fault atlas flips in one disk-fault window.
const metaReads = 5

// maxMetaBytes bounds what loadMeta reads: far more than the metadata of
// the most topics a broker takes, so a larger file is not ours.
const maxMetaBytes = 64 << 20

// loadMeta reads the metadata file; a missing file is an empty cluster.
func loadMeta(fs env.FS, dir string) (clusterMeta, bool, error) {
	path := filepath.Join(dir, metaFile)
	var m clusterMeta
	err := env.ReadFileVerified(fs, path, maxMetaBytes, metaReads, func(data []byte) (err error) {
		if len(data) > maxMetaBytes {
			return fmt.Errorf("%w: larger than %d bytes", errMetaCorrupt, maxMetaBytes)
		}
		m, err = decodeMeta(data)
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return clusterMeta{}, false, nil
	}
	if err != nil {
		return clusterMeta{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return m, true, nil
}

// errMetaCorrupt marks a meta.json that no read could make sense of.
var errMetaCorrupt = errors.New("metadata file is corrupt")

// decodeMeta decodes meta.json: {"crc32c": N, "meta": {...}}, where N is
// the CRC-32C of the compact JSON of the metadata, so that a flipped bit
// is an error rather than a different partition count or a topic that
// vanishes (and whose data the broker would then delete at start). A file
// of the metadata alone, as written before the checksum existed, is read
// as it is and gets the checksum at the next change.
func decodeMeta(data []byte) (clusterMeta, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return clusterMeta{}, fmt.Errorf("%w: %v", errMetaCorrupt, err)
	}
	var m clusterMeta
	switch {
	case len(top) == 2 && top["crc32c"] != nil && top["meta"] != nil:
		var want uint32
		if err := json.Unmarshal(top["crc32c"], &want); err != nil {
			return clusterMeta{}, fmt.Errorf("%w: checksum: %v", errMetaCorrupt, err)
		}
		var body bytes.Buffer
		if err := json.Compact(&body, top["meta"]); err != nil {
			return clusterMeta{}, fmt.Errorf("%w: %v", errMetaCorrupt, err)
		}
		if got := checksum.Of(body.Bytes()); got != want {
			return clusterMeta{}, fmt.Errorf("%w: checksum %08x, file says %08x", errMetaCorrupt, got, want)
		}
		if err := json.Unmarshal(body.Bytes(), &m); err != nil {
			return clusterMeta{}, fmt.Errorf("%w: %v", errMetaCorrupt, err)
		}
	case top["cluster_id"] != nil && top["crc32c"] == nil && top["meta"] == nil:
		if err := json.Unmarshal(data, &m); err != nil {
			return clusterMeta{}, fmt.Errorf("%w: %v", errMetaCorrupt, err)
		}
	default:
		return clusterMeta{}, fmt.Errorf("%w: not a metadata object", errMetaCorrupt)
	}
	for _, t := range m.Topics {
		if b, err := hex.DecodeString(t.ID); err != nil || len(b) != 16 || t.Partitions < 1 || validateTopicName(t.Name) != nil {
			return clusterMeta{}, fmt.Errorf("%w: bad topic entry %+v", errMetaCorrupt, t)
		}
	}
	return m, nil
}

// encodeMeta is the file decodeMeta reads; indented for people who look.
func encodeMeta(m clusterMeta) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(struct {
		CRC32C uint32          `json:"crc32c"`
		Meta   json.RawMessage `json:"meta"`
	}{checksum.Of(body), body}, "", "  ")
}

func saveMeta(fs env.FS, dir string, m clusterMeta) error {
	data, err := encodeMeta(m)
	if err != nil {
		return err
	}
	return env.WriteFileAtomic(fs, filepath.Join(dir, metaFile), data)
}

// validateTopicName applies Kafka's rules: 1..249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func validateTopicName(name string) error {
	if name == "" {
		return errors.New("topic name is empty")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("topic name %q is not allowed", name)
	}
	if len(name) > 249 {
		return fmt.Errorf("topic name is %d characters, the limit is 249", len(name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q contains %q; only [a-zA-Z0-9._-] are allowed", name, c)
		}
	}
	return nil
}
