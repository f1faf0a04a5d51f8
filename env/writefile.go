package env

import (
	"io"
	"path/filepath"
)

// WriteFileSync creates or truncates name, writes data and fsyncs it. It
// does not sync the directory: the caller does that once for several files.
func WriteFileSync(fs FS, name string, data []byte) error {
	f, err := fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFileAtomic replaces path with data durably: it writes and fsyncs
// path+".tmp", renames it over path and fsyncs the directory. A crash at any
// point leaves either the old file or the new one, never a torn one, because
// the new name only ever points at synced content.
func WriteFileAtomic(fs FS, path string, data []byte) error {
	tmp := path + ".tmp"
	if err := WriteFileSync(fs, tmp, data); err != nil {
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		return err
	}
	return fs.SyncDir(filepath.Dir(path))
}

// ReadFileVerified reads the file at path, at most limit+1 bytes of it (so
// verify can refuse a file longer than any it accepts without it all being
// read), and hands them to verify, which decodes what it accepts. While
// verify fails it reads again, attempts times in all: a disk or its
// controller may flip a bit on the way without the stored bytes being
// wrong, and only a file that carries a checksum can tell the two apart, so
// verify is that check. If no read passes, the error is verify's last. A
// missing file is os.ErrNotExist at once.
func ReadFileVerified(fs FS, path string, limit int64, attempts int, verify func([]byte) error) error {
	var err error
	for range max(attempts, 1) {
		var data []byte
		data, err = readFile(fs, path, limit)
		if err != nil {
			return err
		}
		if err = verify(data); err == nil {
			return nil
		}
	}
	return err
}

func readFile(fs FS, path string, limit int64) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}
