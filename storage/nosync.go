package storage

import "github.com/cockroachdb/pebble/vfs"

// ScratchFS is a filesystem for stores whose loss is harmless (upgrade
// verification's throwaway homes): it never syncs a file or a directory.
// Pebble syncs on every flush, compaction, manifest change and format step
// regardless of the write options; on a shared disk those syncs are most of
// the time a short-lived store costs. A crash may lose anything written.
func ScratchFS() vfs.FS { return noSyncFS{vfs.Default} }

type noSyncFS struct{ vfs.FS }

func (fs noSyncFS) Create(name string) (vfs.File, error) { return wrap(fs.FS.Create(name)) }
func (fs noSyncFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return wrap(fs.FS.Open(name, opts...))
}
func (fs noSyncFS) OpenReadWrite(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return wrap(fs.FS.OpenReadWrite(name, opts...))
}
func (fs noSyncFS) OpenDir(name string) (vfs.File, error) { return wrap(fs.FS.OpenDir(name)) }
func (fs noSyncFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	return wrap(fs.FS.ReuseForWrite(oldname, newname))
}

func wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

type noSyncFile struct{ vfs.File }

func (noSyncFile) Sync() error                       { return nil }
func (noSyncFile) SyncData() error                   { return nil }
func (noSyncFile) SyncTo(length int64) (bool, error) { return true, nil }
