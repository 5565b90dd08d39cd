//go:build !linux

package outbox

// renameNoReplace renames oldpath to newpath, failing with an error that
// matches fs.ErrExist if newpath exists, so that no file is ever replaced.
func renameNoReplace(oldpath, newpath string) error {
	return linkThenRemove(oldpath, newpath)
}
