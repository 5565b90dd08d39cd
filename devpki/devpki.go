// Package devpki is the development PKI of a scanstation dev station: a test CA whose
// key is kept in the station's folder, a record of what it issued and revoked, and the
// services a verifier of long-term signatures asks for: an OCSP responder (RFC 6960),
// a CRL (RFC 5280) and a time-stamping authority (RFC 3161), served on loopback only.
//
// Everything here is a test service. Its keys sit in files next to the station, its
// TSA's clock is the machine's, and nothing it signs may ever be trusted outside tests.
//
// A dev PKI folder holds:
//
//	dev-ca.pem        the test CA certificate, to trust when verifying tests' output
//	dev-ca-key.pem    its private key (mode 0600)
//	dev-tsa-cert.pem  the TSA's certificate (EKU id-kp-timeStamping, critical)
//	dev-tsa-key.pem   the TSA's private key (mode 0600)
//	dev-pki.json      the address the certificates name, and every certificate issued
//	                  with its revocation, if any
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"scanstation/outbox"
)

// Files of a dev PKI folder.
const (
	CAFile      = "dev-ca.pem"
	CAKeyFile   = "dev-ca-key.pem"
	TSACertFile = "dev-tsa-cert.pem"
	TSAKeyFile  = "dev-tsa-key.pem"
	StateFile   = "dev-pki.json"
	lockFile    = ".dev-pki.lock"
)

// DefaultListen is where the certificates of a dev station say the services are: the
// port after the station's own HTTP endpoint (9477), so that the URLs written into
// certificates stay the same from one station to the next.
const DefaultListen = "127.0.0.1:9478"

// Paths of the services under the listen address.
const (
	OCSPPath = "/ocsp"
	CRLPath  = "/crl/dev-ca.crl"
	CAPath   = "/ca/dev-ca.crt"
	TSAPath  = "/tsa"
)

// Warning is the line every service answer and every start of the server carries.
const Warning = "TEST SERVICE: scanstation dev PKI - its CA, OCSP, CRL and TSA must never vouch for real documents"

// CA is an opened dev PKI folder.
type CA struct {
	Dir     string
	Cert    *x509.Certificate
	Key     crypto.Signer
	TSACert *x509.Certificate
	TSAKey  crypto.Signer
	Listen  string // host:port the certificates' URLs name
}

// state is dev-pki.json.
type state struct {
	Warning      string   `json:"warning"`
	Listen       string   `json:"listen"`
	Certificates []record `json:"certificates"`
}

// record is one certificate the CA issued.
type record struct {
	Serial    string     `json:"serial"` // lowercase hex, as openssl prints it without colons
	Subject   string     `json:"subject"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	File      string     `json:"file,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// URLs are the addresses certificates of the dev CA carry.
type URLs struct {
	OCSP, CRL, CAIssuers, TSA string
}

// URLs returns the service addresses for the CA's listen address.
func (ca *CA) URLs() URLs {
	base := "http://" + ca.Listen
	return URLs{OCSP: base + OCSPPath, CRL: base + CRLPath, CAIssuers: base + CAPath, TSA: base + TSAPath}
}

// CheckLoopback refuses a listen address that is not a loopback IP with a port: the dev
// services must not be reachable from another machine, not even by mistake.
func CheckLoopback(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example %s): %w", listen, DefaultListen, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q has no usable port: %w", listen, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the dev PKI is a test service and listens only on 127.0.0.1 or ::1", listen)
	}
	return nil
}

// Create makes a dev PKI in dir: a test CA (ECDSA P-256, ten years) and a TSA
// certificate under it, both keys kept in dir with mode 0600, and dev-pki.json naming
// listen as the services' address. It refuses a dir that holds a dev PKI already.
func Create(dir, listen string) (*CA, error) {
	if err := CheckLoopback(listen); err != nil {
		return nil, fmt.Errorf("create dev PKI: %w", err)
	}
	for _, name := range []string{CAFile, CAKeyFile, TSACertFile, TSAKeyFile, StateFile} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("create dev PKI: %s holds a dev PKI already (%s exists); use it, or remove the folder to start over", dir, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create dev PKI: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create dev PKI: %w", err)
	}
	ca, err := create(dir, listen)
	if err != nil {
		// Leave nothing half made, so that a second attempt can start afresh.
		Remove(dir)
		return nil, fmt.Errorf("create dev PKI in %s: %w", dir, err)
	}
	return ca, nil
}

// Remove deletes the files of the dev PKI in dir, for a caller undoing a failed set-up.
func Remove(dir string) {
	for _, name := range []string{CAFile, CAKeyFile, TSACertFile, TSAKeyFile, StateFile, lockFile} {
		os.Remove(filepath.Join(dir, name))
	}
}

func create(dir, listen string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "scanstation DEV test CA — not for real documents",
			Organization: []string{"scanstation development"},
			Country:      []string{"VN"},
		},
		// Valid years back, so that tests can issue signers that expired, or were revoked,
		// long before today and still chain to a CA valid at the time.
		NotBefore:             now.AddDate(-5, 0, 0),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("make the test CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), key); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, CAFile), PEMCertificates(cert), 0o644); err != nil {
		return nil, err
	}
	if err := writeState(dir, &state{Warning: Warning, Listen: listen, Certificates: []record{}}); err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir, Cert: cert, Key: key, Listen: listen}

	if err := ca.IssueTSA(now.Add(-time.Hour), now.AddDate(5, 0, 0)); err != nil {
		return nil, err
	}
	return ca, nil
}

// IssueTSA gives the TSA a new key (ECDSA P-256) and certificate, valid from notBefore to
// notAfter, replacing dev-tsa-cert.pem and dev-tsa-key.pem; tokens stamped before stay
// verifiable, their certificate being the CA's. Tests use a short-lived one to make copies
// whose timestamp is due for renewal. A running server keeps the TSA it started with.
func (ca *CA) IssueTSA(notBefore, notAfter time.Time) error {
	if !notAfter.After(notBefore) {
		return fmt.Errorf("not-after %s is not after not-before %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tsa, err := ca.Issue(&x509.Certificate{
		Subject: pkix.Name{
			CommonName:   "scanstation DEV test TSA — not for real documents",
			Organization: []string{"scanstation development"},
			Country:      []string{"VN"},
		},
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{TimeStampingEKU()},
	}, tsaKey.Public(), TSACertFile)
	if err != nil {
		return fmt.Errorf("issue the TSA certificate: %w", err)
	}
	if err := writeKey(filepath.Join(ca.Dir, TSAKeyFile), tsaKey); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(ca.Dir, TSACertFile), PEMCertificates(tsa), 0o644); err != nil {
		return err
	}
	ca.TSACert, ca.TSAKey = tsa, tsaKey
	return nil
}

// Open reads the dev PKI in dir.
func Open(dir string) (*CA, error) {
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
			return nil, fmt.Errorf("%s has a dev CA certificate but not its key (%s): an older scanstation init made it and threw the key away; run scanstation init --dev-token in a new folder", dir, CAKeyFile)
		}
		return nil, fmt.Errorf("%s holds no dev PKI (no %s); scanstation init --dev-token makes one", dir, CAKeyFile)
	}
	cert, err := readCertificate(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	key, err := readKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	tsa, err := readCertificate(filepath.Join(dir, TSACertFile))
	if err != nil {
		return nil, err
	}
	tsaKey, err := readKey(filepath.Join(dir, TSAKeyFile))
	if err != nil {
		return nil, err
	}
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	if err := tsa.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("%s was not issued by the CA in %s: %w", TSACertFile, CAFile, err)
	}
	return &CA{Dir: dir, Cert: cert, Key: key, TSACert: tsa, TSAKey: tsaKey, Listen: st.Listen}, nil
}

// Issue signs a certificate for public from template, and records it as issued under
// file (a name in Dir, or empty). It chooses the serial number and adds the subject
// and authority key identifiers, the OCSP and CA-issuer addresses (AIA) and the CRL
// distribution point.
func (ca *CA) Issue(template *x509.Certificate, public crypto.PublicKey, file string) (*x509.Certificate, error) {
	t := *template
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t.SerialNumber = serial
	urls := ca.URLs()
	t.OCSPServer = []string{urls.OCSP}
	t.IssuingCertificateURL = []string{urls.CAIssuers}
	t.CRLDistributionPoints = []string{urls.CRL}
	t.BasicConstraintsValid = true
	if len(t.SubjectKeyId) == 0 {
		if t.SubjectKeyId, err = subjectKeyID(public); err != nil {
			return nil, err
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, ca.Cert, public, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue a certificate for %q: %w", t.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	err = ca.update(func(st *state) error {
		st.Certificates = append(st.Certificates, record{
			Serial:    serialHex(cert.SerialNumber),
			Subject:   cert.Subject.String(),
			NotBefore: cert.NotBefore.UTC(),
			NotAfter:  cert.NotAfter.UTC(),
			File:      file,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// Reasons are the CRL reason codes of RFC 5280 5.3.1 by the names it gives them.
var Reasons = map[string]int{
	"unspecified":          0,
	"keyCompromise":        1,
	"cACompromise":         2,
	"affiliationChanged":   3,
	"superseded":           4,
	"cessationOfOperation": 5,
	"certificateHold":      6,
	"privilegeWithdrawn":   9,
	"aACompromise":         10,
}

// ReasonCode returns the code of a reason name, in any letter case.
func ReasonCode(name string) (int, error) {
	for n, code := range Reasons {
		if strings.EqualFold(n, name) {
			return code, nil
		}
	}
	return 0, fmt.Errorf("%q is not a revocation reason of RFC 5280 (%s)", name, strings.Join(slices.Sorted(maps.Keys(Reasons)), ", "))
}

// Revoke marks the certificate with serial revoked from at, for reason (a name of
// Reasons). The CA must have issued it; a revocation is final, and at may lie in the
// past (for tests of signatures made after a revocation) but not in the future.
func (ca *CA) Revoke(serial *big.Int, at time.Time, reason string) error {
	if _, err := ReasonCode(reason); err != nil {
		return err
	}
	if at.After(time.Now().Add(time.Minute)) {
		return fmt.Errorf("revocation time %s lies in the future; revoke when the time comes", at.UTC().Format(time.RFC3339))
	}
	want := serialHex(serial)
	return ca.update(func(st *state) error {
		for i := range st.Certificates {
			r := &st.Certificates[i]
			if r.Serial != want {
				continue
			}
			if r.RevokedAt != nil {
				return fmt.Errorf("certificate %s (%s) was revoked already at %s", want, r.Subject, r.RevokedAt.Format(time.RFC3339))
			}
			t := at.UTC().Truncate(time.Second)
			r.RevokedAt, r.Reason = &t, reason
			return nil
		}
		return fmt.Errorf("the dev CA in %s did not issue a certificate with serial %s (%s lists what it issued)", ca.Dir, want, StateFile)
	})
}

// Status is what the CA knows of one serial number.
type Status struct {
	Issued    bool
	RevokedAt time.Time // zero: not revoked
	Reason    int
}

// Status reads the CA's record of serial afresh, so that a revocation made by another
// process counts at once.
func (ca *CA) Status(serial *big.Int) (Status, error) {
	st, err := readState(ca.Dir)
	if err != nil {
		return Status{}, err
	}
	want := serialHex(serial)
	for _, r := range st.Certificates {
		if r.Serial != want {
			continue
		}
		s := Status{Issued: true}
		if r.RevokedAt != nil {
			s.RevokedAt = *r.RevokedAt
			s.Reason, _ = ReasonCode(r.Reason)
		}
		return s, nil
	}
	return Status{}, nil
}

// CRL returns a CRL of the certificates revoked now, signed by the CA, valid from now
// for a day. Its number is the time in milliseconds, so that each CRL's is greater than
// the one before without any state to keep.
func (ca *CA) CRL(now time.Time) ([]byte, error) {
	st, err := readState(ca.Dir)
	if err != nil {
		return nil, err
	}
	var entries []x509.RevocationListEntry
	for _, r := range st.Certificates {
		if r.RevokedAt == nil || r.RevokedAt.After(now) {
			continue
		}
		serial, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("%s: serial %q is not hexadecimal", filepath.Join(ca.Dir, StateFile), r.Serial)
		}
		code, _ := ReasonCode(r.Reason)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: *r.RevokedAt, ReasonCode: code})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(now.UnixMilli()),
		ThisUpdate:                now,
		NextUpdate:                now.Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign the CRL: %w", err)
	}
	return der, nil
}

// update changes dev-pki.json under an exclusive lock, so that two commands issuing or
// revoking at once do not lose each other's record.
func (ca *CA) update(change func(*state) error) error {
	lock, err := os.OpenFile(filepath.Join(ca.Dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock the dev PKI: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock the dev PKI: %w", err)
	}
	st, err := readState(ca.Dir)
	if err != nil {
		return err
	}
	if err := change(st); err != nil {
		return err
	}
	return writeState(ca.Dir, st)
}

func readState(dir string) (*state, error) {
	p := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read the dev PKI's record: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s is not a dev PKI record: %w", p, err)
	}
	if err := CheckLoopback(st.Listen); err != nil {
		return nil, fmt.Errorf("%s: listen: %w", p, err)
	}
	return &st, nil
}

func writeState(dir string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, StateFile), append(data, '\n'), 0o644)
}

// IssueSigner makes a key pair (RSA-2048, like the dev token's) and a document signing
// certificate for it, valid from notBefore to notAfter, and writes them to
// NAME-cert.pem and NAME-key.pem (mode 0600) in Dir. It is for tests that need another
// signer: one that is expired, not yet valid or revoked.
func (ca *CA) IssueSigner(name string, notBefore, notAfter time.Time) (certFile, keyFile string, err error) {
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" || strings.HasPrefix(name, ".") {
		return "", "", fmt.Errorf("name %q: use letters, digits, '.', '_' and '-' only, not starting with '.'; it names the files", name)
	}
	if !notAfter.After(notBefore) {
		return "", "", fmt.Errorf("not-after %s is not after not-before %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	certFile = filepath.Join(ca.Dir, name+"-cert.pem")
	keyFile = filepath.Join(ca.Dir, name+"-key.pem")
	for _, p := range []string{certFile, keyFile} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s exists already; choose another name", p)
		}
	}
	key, err := rsaKey()
	if err != nil {
		return "", "", err
	}
	cert, err := ca.Issue(&x509.Certificate{
		Subject: pkix.Name{
			CommonName:   name + " (DEV test signer)",
			Organization: []string{"Cơ quan thử nghiệm (DEV)"},
			Country:      []string{"VN"},
		},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}, key.Public(), filepath.Base(certFile))
	if err != nil {
		return "", "", err
	}
	if err := writeKey(keyFile, key); err != nil {
		return "", "", err
	}
	if err := writeFile(certFile, PEMCertificates(cert), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func rsaKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// subjectKeyID is RFC 5280 4.2.1.2 method (1): SHA-1 of the subject public key bits.
func subjectKeyID(public crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	var parsed struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &parsed); err != nil {
		return nil, err
	}
	sum := sha1.Sum(parsed.PublicKey.Bytes)
	return sum[:], nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

func serialHex(n *big.Int) string { return n.Text(16) }

// PEMCertificates encodes certificates as PEM blocks, one after the other.
func PEMCertificates(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM private key (PKCS #8)", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T cannot sign", path, key)
	}
	return signer, nil
}

// writeKey writes a private key as PKCS #8 PEM, readable by its owner only.
func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFile writes data to path so that path holds either its old content or all of data,
// even if the machine stops half way. The server reads dev-pki.json while a revoke rewrites it,
// and must never see half.
func writeFile(path string, data []byte, perm os.FileMode) error {
	return outbox.WriteFileAtomic(filepath.Dir(path), filepath.Base(path), data, perm)
}
