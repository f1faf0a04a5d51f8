package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// identityFile says which node a data dir belongs to and which cluster,
// as Kafka's meta.properties does. Everything else about the cluster
// (topics, partitions, configs, producer-id blocks) lives in the metadata
// log (broker/quorum, in the __cluster_metadata folder). It is written
// atomically (temp file, fsync, rename, fsync of the directory) and ends
// with a CRC-32C line, so a flipped bit is an error, never another node id.
const identityFile = "meta.properties"

// legacyMetaFile is where Weir kept its topics before the metadata quorum.
const legacyMetaFile = "meta.json"

// identity is the content of meta.properties.
type identity struct {
	NodeID    int32
	ClusterID string // empty until the quorum has one
}

// identityReads is how many times loadIdentity reads the file before it
// calls a checksum mismatch corruption rather than a bit flipped on the way
// from the disk: more than the simulator's fault atlas flips in one window.
const identityReads = 5

// maxIdentityBytes bounds what loadIdentity reads.
const maxIdentityBytes = 4096

var errIdentityCorrupt = errors.New("meta.properties is corrupt")

// loadIdentity reads the data dir's identity; found is false when there
// is none yet.
func loadIdentity(fs env.FS, dir string) (id identity, found bool, err error) {
	path := filepath.Join(dir, identityFile)
	err = env.ReadFileVerified(fs, path, maxIdentityBytes, identityReads, func(data []byte) (err error) {
		id, err = decodeIdentity(data)
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return id, true, nil
}

func saveIdentity(fs env.FS, dir string, id identity) error {
	return env.WriteFileAtomic(fs, filepath.Join(dir, identityFile), encodeIdentity(id))
}

// encodeIdentity is Kafka's meta.properties plus a checksum line over the
// lines before it.
func encodeIdentity(id identity) []byte {
	body := fmt.Sprintf("# Written by Weir; do not edit.\nversion=1\nnode.id=%d\ncluster.id=%s\n", id.NodeID, id.ClusterID)
	return fmt.Appendf(nil, "%scrc32c=%08x\n", body, checksum.Of([]byte(body)))
}

func decodeIdentity(data []byte) (identity, error) {
	text := string(data)
	i := strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n")
	if i < 0 || !strings.HasPrefix(text[i+1:], "crc32c=") {
		return identity{}, fmt.Errorf("%w: no checksum line", errIdentityCorrupt)
	}
	body, sum := text[:i+1], strings.TrimSpace(strings.TrimPrefix(text[i+1:], "crc32c="))
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil || uint32(want) != checksum.Of([]byte(body)) {
		return identity{}, fmt.Errorf("%w: checksum mismatch", errIdentityCorrupt)
	}
	var id identity
	sawNode := false
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch k {
		case "node.id":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 0 {
				return identity{}, fmt.Errorf("%w: node.id %q", errIdentityCorrupt, v)
			}
			id.NodeID, sawNode = int32(n), true
		case "cluster.id":
			id.ClusterID = v
		}
	}
	if !sawNode {
		return identity{}, fmt.Errorf("%w: no node.id", errIdentityCorrupt)
	}
	return id, nil
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
