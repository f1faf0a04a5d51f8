package env

import "path/filepath"

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
