package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ModulePath is the module whose ./cmd/weir-sim is the guest.
const ModulePath = "github.com/weir-dev/weir"

// GuestPackage is the guest's main package, relative to the module root.
const GuestPackage = "./cmd/weir-sim"

// GuestTags are the build tags of the guest: invariants turns on the
// broker's invariant checks (internal/invariants), whose breaches the world
// collects and the verdict reports.
const GuestTags = "invariants"

// Guest is a guest module's bytes and identity.
type Guest struct {
	Path      string // file it was read from
	Bytes     []byte
	SHA256    string // hex sha256 of Bytes: the "guest module hash" of headers
	GoVersion string // toolchain that built it; "" when unknown (--guest)
	Built     bool   // true if BuildGuest ran `go build`, false on a cache hit or LoadGuest
}

// LoadGuest reads a prebuilt guest module (`weir sim --guest FILE`).
func LoadGuest(path string) (*Guest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		return nil, fmt.Errorf("%s is not a wasm module", path)
	}
	sum := sha256.Sum256(b)
	return &Guest{Path: path, Bytes: b, SHA256: hex.EncodeToString(sum[:])}, nil
}

// CacheDir is where builds and wazero's compiled code are cached: $WEIR_CACHE
// if set, else os.UserCacheDir()/weir.
func CacheDir() (string, error) {
	if d := os.Getenv("WEIR_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder (set WEIR_CACHE): %w", err)
	}
	return filepath.Join(d, "weir"), nil
}

// BuildOptions say where to build the guest from and where to cache it.
type BuildOptions struct {
	SourceDir string    // any folder inside the Weir module; "" is the working directory
	CacheDir  string    // "" is CacheDir()
	Log       io.Writer // `go build` output and a "building" note; nil discards
}

// BuildGuest builds the guest with the Go toolchain on PATH (GOOS=wasip1
// GOARCH=wasm, -trimpath so the module hash does not depend on where the
// tree is), or returns the cached build of an identical tree. The cache key
// hashes every Go source of the module (the same files `go build` could
// read: test files, testdata and dot/underscore folders excluded), go.mod,
// go.sum and the toolchain's version.
func BuildGuest(ctx context.Context, o BuildOptions) (*Guest, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return nil, errors.New("building the guest needs the Go toolchain on PATH (or pass --guest FILE)")
	}
	root, err := moduleRoot(ctx, o.SourceDir)
	if err != nil {
		return nil, err
	}
	goVersion, err := goOutput(ctx, root, "env", "GOVERSION")
	if err != nil {
		return nil, err
	}
	key, err := sourceKey(root, goVersion)
	if err != nil {
		return nil, err
	}
	cache := o.CacheDir
	if cache == "" {
		if cache, err = CacheDir(); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(cache, "guest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "weir-sim-"+key[:24]+".wasm")
	if g, err := LoadGuest(path); err == nil {
		g.GoVersion = goVersion
		return g, nil
	}

	log := o.Log
	if log == nil {
		log = io.Discard
	}
	fmt.Fprintf(log, "weir sim: building the guest (%s, %s) into %s\n", GuestPackage, goVersion, dir)
	// Build next to the final name and rename, so that concurrent builds
	// of the same tree never expose a half-written module.
	tmp, err := os.CreateTemp(dir, "build-*.wasm")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-tags", GuestTags, "-o", tmp.Name(), GuestPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log.Write(out.Bytes())
		return nil, fmt.Errorf("building the guest: %v: %s", err, strings.TrimSpace(out.String()))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	pruneGuests(dir, path)
	g, err := LoadGuest(path)
	if err != nil {
		return nil, err
	}
	g.GoVersion, g.Built = goVersion, true
	return g, nil
}

// keepGuests is how many cached builds pruneGuests keeps (each tree change
// makes one; the real guest is about 25 MB).
const keepGuests = 8

// pruneGuests removes all but the newest keepGuests builds in dir, never
// keep itself. Errors are ignored: a stale build costs only disk.
func pruneGuests(dir, keep string) {
	paths, _ := filepath.Glob(filepath.Join(dir, "weir-sim-*.wasm"))
	type built struct {
		path string
		mod  int64
	}
	var bs []built
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && p != keep {
			bs = append(bs, built{p, fi.ModTime().UnixNano()})
		}
	}
	slices.SortFunc(bs, func(a, b built) int { return int(b.mod - a.mod) })
	for i, b := range bs {
		if i >= keepGuests-1 {
			os.Remove(b.path)
		}
	}
}

// moduleRoot finds the root of the Weir module containing dir.
func moduleRoot(ctx context.Context, dir string) (string, error) {
	gomod, err := goOutput(ctx, dir, "env", "GOMOD")
	if err != nil {
		return "", err
	}
	notTree := fmt.Errorf("the guest is built from the Weir source tree (module %s), and this folder is not in it: run weir sim inside the tree or pass --guest FILE", ModulePath)
	if gomod == "" || gomod == os.DevNull {
		return "", notTree
	}
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			if strings.Trim(strings.TrimSpace(p), `"`) == ModulePath {
				return filepath.Dir(gomod), nil
			}
			break
		}
	}
	return "", notTree
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// sourceKey hashes the inputs of the guest's build. It over-approximates
// (any Go file of the module, not only the guest's dependencies): a change
// anywhere rebuilds, which is slower but never stale. Files embedded with
// go:embed are not hashed; the guest embeds none.
func sourceKey(root, goVersion string) (string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			// The folders the go command ignores, nested modules, and run
			// folders (many, and never sources).
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "runs" || name == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case path == filepath.Join(root, "go.mod"), path == filepath.Join(root, "go.sum"):
		case strings.HasSuffix(name, "_test.go"):
			return nil
		case strings.HasSuffix(name, ".go"), strings.HasSuffix(name, ".s"):
		default:
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		return "", err
	}
	slices.Sort(files)
	h := sha256.New()
	fmt.Fprintf(h, "weir-sim guest build v1\n%s\nGOOS=wasip1 GOARCH=wasm -trimpath -buildvcs=false -tags %s\nGOFLAGS=%s\n", goVersion, GuestTags, os.Getenv("GOFLAGS"))
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", filepath.ToSlash(rel), sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
