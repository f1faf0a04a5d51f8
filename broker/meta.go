package broker

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/weir-dev/weir/env"
)

// metaFile is where a single broker keeps its cluster metadata (cluster id,
// topics, their partition counts and config overrides) until the Raft
// metadata quorum replaces it. It is rewritten whole and atomically: temp
// file, fsync, rename, fsync of the directory.
const metaFile = "meta.json"

type topicMeta struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"` // 32 hex digits
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
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

// loadMeta reads the metadata file; a missing file is an empty cluster.
func loadMeta(fs env.FS, dir string) (clusterMeta, bool, error) {
	f, err := fs.Open(filepath.Join(dir, metaFile))
	if errors.Is(err, os.ErrNotExist) {
		return clusterMeta{}, false, nil
	}
	if err != nil {
		return clusterMeta{}, false, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return clusterMeta{}, false, err
	}
	var m clusterMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return clusterMeta{}, false, fmt.Errorf("%s is corrupt: %w", filepath.Join(dir, metaFile), err)
	}
	for _, t := range m.Topics {
		if b, err := hex.DecodeString(t.ID); err != nil || len(b) != 16 || t.Partitions < 1 || validateTopicName(t.Name) != nil {
			return clusterMeta{}, false, fmt.Errorf("%s is corrupt: bad topic entry %+v", filepath.Join(dir, metaFile), t)
		}
	}
	return m, true, nil
}

func saveMeta(fs env.FS, dir string, m clusterMeta) error {
	data, err := json.MarshalIndent(m, "", "  ")
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
