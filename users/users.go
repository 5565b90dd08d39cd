// Package users keeps the console's local users: a name, a role and an argon2id hash of the
// password, in one file readable only by the station's user.
//
// The file is JSON, written whole to a temporary name and renamed, so a crash leaves either the
// old list or the new one. A Store notices when another process (the `scanstation user`
// command) has rewritten the file and reads it again before it answers, so a user added,
// removed or given a new role takes effect at once in the running daemon. Both the command and
// the daemon's console write the file: a change holds an exclusive flock on a sibling lock file
// (users.json.lock) and reads the file again under it, so two writers never undo each other.
package users

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"scanstation/outbox"
)

// Role is what a user may do in the console.
type Role string

const (
	// Operator reviews documents: corrects the record, rotates or drops pages, retries.
	Operator Role = "operator"
	// Clerk (văn thư) may do all an operator does, and approves, signs and rejects.
	Clerk Role = "clerk"
	// Admin manages the users and sees the configuration, read-only. An admin is not an
	// operator: who certifies copies is decided by giving the clerk role, not by managing users.
	Admin Role = "admin"
)

// Roles lists the roles in the order they are shown.
var Roles = []Role{Operator, Clerk, Admin}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("%q is not a role; use operator, clerk or admin", s)
}

// Allows reports whether a user of role r may do what needs role need: a clerk may do all an
// operator may; otherwise a role allows only itself.
func (r Role) Allows(need Role) bool {
	return r == need || (r == Clerk && need == Operator)
}

// User is one user as the rest of the program sees it: never the hash.
type User struct {
	Name    string
	Role    Role
	Created time.Time
	Changed time.Time // when the password or the role last changed
}

// MinPassword is the shortest password accepted, in characters.
const MinPassword = 10

// maxPassword bounds the bytes hashed, so a huge form field costs no more than a normal one.
const maxPassword = 1024

const maxName = 64

// ErrBadLogin is the one answer to a wrong name or a wrong password, so the caller cannot
// tell them apart either.
var ErrBadLogin = errors.New("wrong name or password")

// ErrNotFound is returned when a change names a user who does not exist.
var ErrNotFound = errors.New("no such user")

// ErrLastAdmin refuses a change that would leave the file without an admin, when it had one:
// nobody could manage the users from the console any more.
var ErrLastAdmin = errors.New("this is the last administrator; make another user an administrator first")

// Params are the argon2id costs of new hashes. Each hash keeps the costs it was made with, so
// they can be raised later without invalidating the passwords already set.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are RFC 9106's second recommended option (64 MiB, 3 passes), with 2 lanes for
// the station's 2 cores: about 0.1-0.2 s a login on such a machine.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// A hash of nothing that any password fails against, with the default costs: a login with an
// unknown name is checked against it, so it takes as long as one with a known name.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c2NhbnN0YXRpb24tZHVtbXk$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// fileVersion is written into the file so a later format can be told apart.
const fileVersion = 1

type file struct {
	Version int      `json:"version"`
	Users   []record `json:"users"`
}

type record struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"hash"` // PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$key
	Created time.Time `json:"created"`
	Changed time.Time `json:"changed"`
}

// Store is the users file. Its methods are safe for concurrent use.
type Store struct {
	path string
	// Params are the costs of hashes made from now on.
	Params Params
	// Now is the clock of the created and changed times.
	Now func() time.Time

	mu    sync.Mutex
	users []record
	stamp stamp // of the file last read or written; a different one means another process wrote it
	err   error // why the file could not be read again; logins fail until it can

	// hashing bounds the argon2 runs at once: each takes Params.Memory, and a burst of logins
	// must not take the machine's memory.
	hashing chan struct{}
}

type stamp struct {
	size  int64
	mtime time.Time
	mode  os.FileMode // a chmod changes nothing else, and must be noticed
	ino   uint64
}

// Load reads the users file at path. A file that does not exist yet is an empty list: the
// first Add creates it.
func Load(path string) (*Store, error) {
	s := &Store{path: path, Params: DefaultParams, Now: time.Now, hashing: make(chan struct{}, 2)}
	users, st, err := read(path)
	if err != nil {
		return nil, err
	}
	s.users, s.stamp = users, st
	return s, nil
}

// Path is the file the store reads and writes.
func (s *Store) Path() string { return s.path }

// read reads and checks the file. It refuses a file others may read, as the PIN file is
// refused: the hashes are slow to crack, not impossible.
func read(path string) ([]record, stamp, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, stamp{}, nil
	}
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read users file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read users file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, stamp{}, fmt.Errorf("users file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, stamp{}, fmt.Errorf("users file %s can be read by other users (mode %04o); "+
			"allow only its owner with: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, stamp{}, fmt.Errorf("read users file %s: %w", path, err)
	}
	var uf file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&uf); err != nil {
		return nil, stamp{}, fmt.Errorf("users file %s is damaged (not the JSON the station writes): %v", path, err)
	}
	if uf.Version != fileVersion {
		return nil, stamp{}, fmt.Errorf("users file %s has version %d; this scanstation reads version %d", path, uf.Version, fileVersion)
	}
	for i, u := range uf.Users {
		if err := CheckName(u.Name); err != nil {
			return nil, stamp{}, fmt.Errorf("users file %s, user %d: %v", path, i+1, err)
		}
		if _, err := ParseRole(string(u.Role)); err != nil {
			return nil, stamp{}, fmt.Errorf("users file %s, user %s: %v", path, u.Name, err)
		}
		if _, _, err := decodeHash(u.Hash); err != nil {
			return nil, stamp{}, fmt.Errorf("users file %s, user %s: %v", path, u.Name, err)
		}
	}
	return uf.Users, stampOf(fi), nil
}

func stampOf(fi os.FileInfo) stamp {
	st := stamp{size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// refresh reads the file again when another process has changed it. Called with s.mu held.
func (s *Store) refresh() {
	fi, err := os.Stat(s.path)
	var now stamp
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Removed: nobody may log in any more.
	case err != nil:
		s.err = fmt.Errorf("read users file: %w", err)
		return
	default:
		now = stampOf(fi)
	}
	if now == s.stamp && s.err == nil {
		return
	}
	users, st, err := read(s.path)
	if err != nil {
		s.err = err
		return
	}
	s.users, s.stamp, s.err = users, st, nil
}

// CheckName says why name cannot be a user's name: letters (Vietnamese ones too), digits,
// dot, underscore and hyphen, at most 64 characters.
func CheckName(name string) error {
	if name == "" {
		return errors.New("the user name is empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("the user name is not valid UTF-8")
	}
	if utf8.RuneCountInString(name) > maxName {
		return fmt.Errorf("the user name is longer than %d characters", maxName)
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '.', r == '_', r == '-':
		case unicode.Is(unicode.Mn, r) && i > 0:
			// A combining accent, as in a decomposed "ễ".
		default:
			return fmt.Errorf("the user name %q holds %q; use letters, digits, dot, underscore and hyphen", name, r)
		}
	}
	return nil
}

// normName puts a name in one Unicode form, so "Nguyễn" typed on two keyboards is one user.
func normName(name string) string { return norm.NFC.String(strings.TrimSpace(name)) }

// CheckPassword says why a password cannot be set.
func CheckPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPassword {
		return fmt.Errorf("the password has %d characters; it needs at least %d", n, MinPassword)
	}
	if len(password) > maxPassword {
		return fmt.Errorf("the password is longer than %d bytes", maxPassword)
	}
	return nil
}

// Len is the number of users.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	if s.err != nil {
		return 0
	}
	return len(s.users)
}

// List returns the users sorted by name.
func (s *Store) List() ([]User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	if s.err != nil {
		return nil, s.err
	}
	out := make([]User, len(s.users))
	for i, r := range s.users {
		out[i] = r.user()
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (r record) user() User {
	return User{Name: r.Name, Role: r.Role, Created: r.Created, Changed: r.Changed}
}

func (s *Store) find(name string) int {
	return slices.IndexFunc(s.users, func(r record) bool { return r.Name == name })
}

// Role returns the role of the user called name, and false when there is no such user (or
// the file cannot be read): a session of a removed user ends at its next request.
func (s *Store) Role(name string) (Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh()
	if s.err != nil {
		return "", false
	}
	if i := s.find(normName(name)); i >= 0 {
		return s.users[i].Role, true
	}
	return "", false
}

// Authenticate checks a name and password. A wrong name and a wrong password both return
// ErrBadLogin after the same work: an unknown name is checked against a dummy hash, so the
// time taken does not tell which names exist. Any other error is about the file.
func (s *Store) Authenticate(name, password string) (User, error) {
	s.mu.Lock()
	s.refresh()
	err := s.err
	hash, u := dummyHash, record{}
	if i := s.find(normName(name)); i >= 0 && err == nil {
		u = s.users[i]
		hash = u.Hash
	}
	s.mu.Unlock()
	if err != nil {
		return User{}, err
	}
	if len(password) > maxPassword {
		password = password[:maxPassword]
	}
	ok := s.verify(hash, password)
	if !ok || u.Name == "" {
		return User{}, ErrBadLogin
	}
	return u.user(), nil
}

// verify hashes password with hash's costs and salt and compares in constant time.
func (s *Store) verify(hash, password string) bool {
	p, salt, key, err := decodeHashFull(hash)
	if err != nil {
		return false
	}
	s.hashing <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	<-s.hashing
	return subtle.ConstantTimeCompare(got, key) == 1
}

// Add creates a user.
func (s *Store) Add(name string, role Role, password string) error {
	name = normName(name)
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.change(func(users []record) ([]record, error) {
		for _, u := range users {
			// Two users whose names differ only in case would be told apart by nobody.
			if strings.EqualFold(u.Name, name) {
				return nil, fmt.Errorf("a user called %s exists already", u.Name)
			}
		}
		now := s.Now().UTC().Truncate(time.Second)
		return append(users, record{Name: name, Role: role, Hash: hash, Created: now, Changed: now}), nil
	})
}

// Remove deletes a user.
func (s *Store) Remove(name string) error {
	name = normName(name)
	return s.change(func(users []record) ([]record, error) {
		i := slices.IndexFunc(users, func(r record) bool { return r.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return slices.Delete(users, i, i+1), nil
	})
}

// SetPassword gives a user a new password.
func (s *Store) SetPassword(name, password string) error {
	name = normName(name)
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.update(name, func(r *record) {
		r.Hash = hash
	})
}

// SetRole gives a user another role.
func (s *Store) SetRole(name string, role Role) error {
	name = normName(name)
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.update(name, func(r *record) { r.Role = role })
}

// RemoveKeepingAdmin is Remove, refused with ErrLastAdmin when it would take the file's last
// admin. The check and the change are one step under the file's lock, so two admins removing
// each other at once cannot both succeed.
func (s *Store) RemoveKeepingAdmin(name string) error {
	name = normName(name)
	return s.change(keepingAdmin(func(users []record) ([]record, error) {
		i := slices.IndexFunc(users, func(r record) bool { return r.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return slices.Delete(users, i, i+1), nil
	}))
}

// SetRoleKeepingAdmin is SetRole, refused with ErrLastAdmin when it would take the file's last
// admin.
func (s *Store) SetRoleKeepingAdmin(name string, role Role) error {
	name = normName(name)
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.change(keepingAdmin(s.edit(name, func(r *record) { r.Role = role })))
}

// keepingAdmin wraps edit with the refusal to go from some admins to none. A file that never
// had an admin (a station managed from the command line alone) is left to its owners.
func keepingAdmin(edit func([]record) ([]record, error)) func([]record) ([]record, error) {
	return func(users []record) ([]record, error) {
		before := admins(users)
		after, err := edit(users)
		if err != nil {
			return nil, err
		}
		if before > 0 && admins(after) == 0 {
			return nil, ErrLastAdmin
		}
		return after, nil
	}
}

func admins(users []record) int {
	n := 0
	for _, u := range users {
		if u.Role == Admin {
			n++
		}
	}
	return n
}

func (s *Store) update(name string, edit func(*record)) error {
	return s.change(s.edit(name, edit))
}

// edit is the change that applies edit to the user called name and marks them changed now.
func (s *Store) edit(name string, edit func(*record)) func([]record) ([]record, error) {
	return func(users []record) ([]record, error) {
		i := slices.IndexFunc(users, func(r record) bool { return r.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		edit(&users[i])
		users[i].Changed = s.Now().UTC().Truncate(time.Second)
		return users, nil
	}
}

// change applies edit to the current list and writes the result, holding the file's lock
// from the reading to the rename, so another process's change made meanwhile is either in the
// list edit sees or waits for this one to be written.
func (s *Store) change(edit func([]record) ([]record, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	// Read under the lock whatever the stamp says: a file rewritten within the clock's
	// granularity, at the same size, would look unchanged.
	users, st, err := read(s.path)
	if err != nil {
		s.err = err
		return err
	}
	s.users, s.stamp, s.err = users, st, nil
	users, err = edit(slices.Clone(s.users))
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(file{Version: fileVersion, Users: users}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	if err := outbox.WriteFileAtomic(dir, base, data, 0o600); err != nil {
		return fmt.Errorf("save users: %w", err)
	}
	if err := giveToFolderOwner(s.path, dir); err != nil {
		return fmt.Errorf("save users: %w", err)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("save users: %w", err)
	}
	s.users, s.stamp = users, stampOf(fi)
	return nil
}

// lockFile takes an exclusive flock on path, made if missing, and returns its release. The
// lock file stays: removing it would let a process that opened the old one and one that made
// a new one both hold "the" lock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock users file: %w", err)
	}
	// Made by root (`sudo scanstation user add`), it must stay openable by the daemon.
	if err := giveToFolderOwner(path, filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock users file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock users file %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// giveToFolderOwner hands a file written by root (`sudo scanstation user add`) to the owner of
// its folder, the station's own user, which could not read it otherwise.
func giveToFolderOwner(path, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return os.Chown(path, int(st.Uid), int(st.Gid))
}

func (s *Store) hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := s.Params
	s.hashing <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	<-s.hashing
	return encodeHash(p, salt, key), nil
}

var b64 = base64.RawStdEncoding

// encodeHash writes the PHC string format used by the argon2 reference implementation.
func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decodeHash(h string) (Params, []byte, error) {
	p, salt, _, err := decodeHashFull(h)
	return p, salt, err
}

func decodeHashFull(h string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("the password hash is not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("the password hash has argon2 version %q; this scanstation knows v=%d", parts[2], argon2.Version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil {
		return p, nil, nil, fmt.Errorf("the password hash's parameters %q cannot be read", parts[3])
	}
	// Bounds keep a damaged or hostile file from asking for gigabytes or hours per login.
	if p.Memory < 8 || p.Memory > 1<<21 || p.Time < 1 || p.Time > 100 || threads < 1 || threads > 255 {
		return p, nil, nil, fmt.Errorf("the password hash's parameters %q are out of range", parts[3])
	}
	p.Threads = uint8(threads)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("the password hash's salt is damaged")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errors.New("the password hash's key is damaged")
	}
	return p, salt, key, nil
}
