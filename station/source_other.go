//go:build !unix

package station

// sysStat stands for a stat structure this system does not have: files have no inode here.
type sysStat struct{ Dev, Ino uint64 }
