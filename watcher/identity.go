package watcher

import (
	"io/fs"
	"time"
)

// identity is what tells one state of one file from another. Size and modification time say
// whether its content changed; device and inode say whether it is the same file; the change
// time (ctime) moves when the file is renamed, so a file the station took away and someone
// put back (moved, not copied) is seen as new even with the same size, mtime and inode. A
// rescan can only compare looks, so without events this is all it has.
type identity struct {
	size  int64
	mtime time.Time
	dev   uint64
	ino   uint64
	ctime int64 // nanoseconds; 0 where the system does not say
}

func identityOf(info fs.FileInfo) identity {
	id := identity{size: info.Size(), mtime: info.ModTime()}
	id.dev, id.ino, id.ctime = sysIdentity(info)
	return id
}

func (a identity) equal(b identity) bool {
	return a.size == b.size && a.mtime.Equal(b.mtime) && a.dev == b.dev && a.ino == b.ino && a.ctime == b.ctime
}
