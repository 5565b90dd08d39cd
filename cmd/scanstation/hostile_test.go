package main

// Hostile and broken inputs against one running daemon: each lands in failed/ with a reason an
// operator can act on, its original kept byte for byte, and the daemon stays up and goes on
// certifying good scans.

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	byteorder "encoding/binary" // binary is the test binary's path
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"image/jpeg"
	"io"
	"math/big"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"scanstation/internal/samplescan"
)

// hostileMaxPages is the page limit the hostile test runs with, and the default this test
// proposes for limits.max_pages. Measured on the 2-core test machine: a 40-page scanner PDF
// of A4 300 dpi colour pages (480 KB each) took 51 s of OCR and a peak of 609 MB against
// 280 MB for one page, so about 1.3 s and 8 MB per page while the document is built. At the
// current default of 2000 pages one file could hold the station for 45 minutes (hours with
// dense real pages) and need 17 GB; at 300 it is some 6 minutes and 2.8 GB, and 300 pages
// are still three full 50-sheet feeder loads scanned on both sides.
const hostileMaxPages = 300

// hostileCase is one file dropped into the inbox and what must become of it.
type hostileCase struct {
	name       string // as dropped into the inbox
	data       []byte
	unreadable bool // the daemon's user may not read it

	// want is "failed", "outbox" or "ignored" (left where it is, never taken).
	want string
	// phrase must appear in failed/<name>.error.txt.
	phrase string
	// pending, when set, names the change elsewhere that a failing check of this case
	// waits for: the check is then skipped with this message instead of failing.
	pending string
}

func TestHostileInputsGoToFailedAndTheDaemonStaysUp(t *testing.T) {
	dir, cfg, asNobody := newHostileStation(t)
	inbox := filepath.Join(dir, "inbox")
	outbox := filepath.Join(dir, "outbox")
	failed := filepath.Join(dir, "failed")
	staging := t.TempDir()

	good := func(name string, opt samplescan.Options, format string) []byte {
		opt.DPI, opt.Paper = 200, "A5"
		path := filepath.Join(staging, "good-"+name+"."+format)
		writeImage(t, path, opt, format)
		return mustReadFile(t, path)
	}
	lines := func(n string) []string {
		return append(samplescan.Text(samplescan.Options{})[:4], "Số: "+n+"/UBND-VP", "Kính gửi: Sở Nội vụ")
	}
	jpg := good("jpg", samplescan.Options{Lines: lines("11")}, "jpeg")
	png := good("png", samplescan.Options{Lines: lines("12")}, "png")
	tif := good("tiff", samplescan.Options{Lines: lines("13")}, "tiff")

	scannerPDF := filepath.Join(staging, "scanner.pdf")
	tool(t, "img2pdf", "-o", scannerPDF, writeStaging(t, staging, "for-pdf.jpg", jpg))
	encrypted := filepath.Join(staging, "encrypted.pdf")
	tool(t, "qpdf", "--encrypt", "mat-khau", "mat-khau", "256", "--", scannerPDF, encrypted)
	signed := signWithPyHanko(t, staging, scannerPDF)

	vietNFC := norm.NFC.String("Công văn số 1.jpg")
	vietNFD := norm.NFD.String("Công văn số 1.jpg")
	if vietNFC == vietNFD {
		t.Fatal("the NFC and NFD names are the same bytes; the test would prove nothing")
	}

	cases := []hostileCase{
		{name: "rong.jpg", data: []byte{}, want: "failed", phrase: "the file is empty"},
		{name: "cat-ngang.jpg", data: jpg[:len(jpg)/2], want: "failed", phrase: "incomplete"},
		{name: "cat-ngang.png", data: png[:len(png)/2], want: "failed", phrase: "incomplete"},
		{name: "cat-ngang.tif", data: tif[:len(tif)*2/3], want: "failed", phrase: "incomplete"},
		{name: "ghi-chu.jpg", data: []byte("Kính gửi: Sở Nội vụ\nVề việc số hoá hồ sơ lưu trữ\n"), want: "failed", phrase: "text file, not a scanned image"},
		{name: "mat-khau.pdf", data: mustReadFile(t, encrypted), want: "failed", phrase: "encrypted (password-protected)"},
		{name: "ban-ve.pdf", data: vectorPDF(), want: "failed", phrase: "not made by a scanner"},
		{name: "bom-noi-dung.pdf", data: contentBombPDF(t, jpg), want: "failed", phrase: "far more drawing instructions than a scanned page"},
		{name: "khong-diem-anh.png", data: pngWithSize(t, png, 0, 0), want: "failed", phrase: "empty (0×0 pixels)"},
		{name: "bom.png", data: pngWithSize(t, png, 100000, 100000), want: "failed", phrase: "100000×100000 pixels"},
		{name: "bom.tif", data: manyPageTIFF(1, 100000, 100000), want: "failed", phrase: "100000×100000 pixels"},
		{name: "hai-nghin-trang.tif", data: manyPageTIFF(2000, 16, 16), want: "failed",
			phrase: fmt.Sprintf("more than %d pages", hostileMaxPages)},
		{name: "da-ky.pdf", data: mustReadFile(t, signed), want: "failed", phrase: "already carries a digital signature"},
		{name: "khong-duoc-doc.jpg", data: good("unreadable", samplescan.Options{Lines: lines("14")}, "jpeg"), unreadable: true,
			want: "failed", phrase: "not allowed to read"},

		// Good scans under awkward names: certified, under sane outbox names.
		{name: "thuc-ra-la-png.jpg", data: png, want: "outbox"},
		{name: "Tờ trình có dấu cách.jpg", data: good("spaces", samplescan.Options{Lines: lines("15")}, "jpeg"), want: "outbox"},
		{name: vietNFC, data: good("nfc", samplescan.Options{Lines: lines("16")}, "jpeg"), want: "outbox"},
		{name: vietNFD, data: good("nfd-name", samplescan.Options{Lines: lines("17")}, "jpeg"), want: "outbox"},
		{name: "a..b.jpg", data: jpg, want: "outbox"},
		{name: "Quyết định: số 5?.jpg", data: good("colon", samplescan.Options{Lines: lines("21")}, "jpeg"), want: "outbox"},
		// A name starting with a dot is a hidden file; watch.ignore (".*") leaves those alone
		// by design (editor swap files, macOS "._" files on shares).
		{name: "..jpg", data: good("dots", samplescan.Options{Lines: lines("18")}, "jpeg"), want: "ignored"},
	}
	// The daemon runs as nobody when the test runs as root, else as the test's own user: a
	// file of root's with mode 0600, or one of the test's with mode 0000, it may not read.
	// Only as root without setpriv can it read every file.
	unreadableMode := os.FileMode(0o000)
	if asNobody {
		unreadableMode = 0o600
	}
	var unreadableSkipped string
	if os.Geteuid() == 0 && !asNobody {
		for i, c := range cases {
			if c.unreadable {
				unreadableSkipped = c.name
				cases = append(cases[:i], cases[i+1:]...)
				break
			}
		}
	}

	// A symbolic link out of the hot-folder, to a file the daemon could read: not followed.
	outside := filepath.Join(dir, "outside")
	mkdirFor(t, outside, asNobody)
	target := filepath.Join(outside, "ho-so-goc.jpg")
	targetData := good("link-target", samplescan.Options{Lines: lines("19")}, "jpeg")
	if err := os.WriteFile(target, targetData, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(inbox, "lien-ket.jpg")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	d := startHostileDaemon(t, dir, cfg, asNobody, "SCANSTATION_LIMITS_MAX_PAGES="+strconv.Itoa(hostileMaxPages))
	waitFor(t, "the daemon to be running", time.Minute, func() bool {
		return strings.Contains(d.log.String(), "station running")
	}, d.log)

	sums := map[string]string{}
	for _, c := range cases {
		// Written in place, as a scanner saves.
		path := filepath.Join(inbox, c.name)
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if c.unreadable {
			if err := os.Chmod(path, unreadableMode); err != nil {
				t.Fatal(err)
			}
		}
		sums[c.name] = sha256Hex(c.data)
	}

	delivered := func() map[string]sidecarWithName {
		out := map[string]sidecarWithName{}
		for _, js := range glob(outbox, "*.json") {
			s := readHostileSidecar(t, js)
			out[s.Source] = s
		}
		return out
	}
	accounted := func(cs []hostileCase) bool {
		got := delivered()
		for _, c := range cs {
			switch c.want {
			case "failed":
				if _, err := os.Stat(filepath.Join(failed, c.name+".error.txt")); err != nil {
					return false
				}
			case "outbox":
				if _, ok := got[c.name]; !ok {
					return false
				}
			}
		}
		return true
	}
	waitFor(t, "every input accounted for in outbox/ or failed/", 4*time.Minute, func() bool {
		return accounted(cases) || d.cmd.ProcessState != nil
	}, d.log)
	if !daemonAlive(d) {
		t.Fatalf("the daemon stopped:\n%s", d.log)
	}

	// After all that: a good scan, and the same file dropped again (watch.duplicates: flag,
	// the default, delivers it again and says in the sidecar which copy it repeats).
	later := []hostileCase{
		{name: "sau-cung.jpg", data: good("last", samplescan.Options{Lines: lines("20")}, "jpeg"), want: "outbox"},
		{name: "a-b-lan-hai.jpg", data: jpg, want: "outbox"},
	}
	for _, c := range later {
		if err := os.WriteFile(filepath.Join(inbox, c.name), c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		sums[c.name] = sha256Hex(c.data)
	}
	waitFor(t, "the later scans in the outbox", 3*time.Minute, func() bool {
		return accounted(later) || d.cmd.ProcessState != nil
	}, d.log)
	if !daemonAlive(d) {
		t.Fatalf("the daemon stopped:\n%s", d.log)
	}
	peak := peakMemory(t, d)
	t.Logf("the daemon's peak memory: %d MB", peak>>20)
	d.stop(t)
	if strings.Contains(d.log.String(), "panic") {
		t.Errorf("the daemon's log shows a panic:\n%s", d.log)
	}
	// Nothing that could have been a bomb was unpacked: the daemon's peak memory stays that of
	// a few small pages (and of the OCR engines, where they run inside it).
	if peak > 1500<<20 {
		t.Errorf("the daemon's peak memory was %d MB", peak>>20)
	}

	got := delivered()
	if unreadableSkipped != "" {
		t.Run(unreadableSkipped, func(t *testing.T) {
			t.Skip("the test runs as root and setpriv is not installed: the daemon cannot be made to run as a user who may not read a file")
		})
	}
	for _, c := range append(cases, later...) {
		t.Run(c.name, func(t *testing.T) {
			problem := checkHostileCase(t, c, sums[c.name], inbox, outbox, failed, got)
			if problem == "" {
				return
			}
			if c.pending != "" {
				t.Skipf("%s: %s", c.pending, problem)
			}
			t.Error(problem)
		})
	}

	t.Run("duplicate is flagged", func(t *testing.T) {
		first, second := got["a..b.jpg"], got["a-b-lan-hai.jpg"]
		if first.name == "" || second.name == "" {
			t.Fatal("one of the two copies was not delivered")
		}
		if second.DuplicateOf != first.name {
			t.Errorf("the second copy's duplicate_of is %q; want the first copy %q", second.DuplicateOf, first.name)
		}
		if first.DuplicateOf != "" {
			t.Errorf("the first copy is marked a duplicate of %q", first.DuplicateOf)
		}
	})

	t.Run("symbolic link", func(t *testing.T) {
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symbolic link was taken or replaced (%v)", err)
		}
		if !bytes.Equal(mustReadFile(t, target), targetData) {
			t.Error("the file the link points to was changed")
		}
		targetSum := sha256Hex(targetData)
		for _, s := range got {
			if s.Source == "lien-ket.jpg" || s.SourceSHA256 == targetSum {
				t.Errorf("the link's target was certified as %s", s.name)
			}
		}
		if m := glob(failed, "lien-ket*"); len(m) != 0 {
			t.Errorf("the link is in failed/: %v", m)
		}
	})
}

// checkHostileCase returns what is wrong with the outcome of one case, or "".
func checkHostileCase(t *testing.T, c hostileCase, sum, inbox, outbox, failed string, got map[string]sidecarWithName) string {
	t.Helper()
	switch c.want {
	case "failed":
		reason, err := os.ReadFile(filepath.Join(failed, c.name+".error.txt"))
		if err != nil {
			return fmt.Sprintf("no reason in failed/: %v", err)
		}
		if !strings.Contains(string(reason), c.name) {
			return fmt.Sprintf("the reason does not name the file:\n%s", reason)
		}
		if strings.Contains(string(reason), "/spool/") {
			return fmt.Sprintf("the reason names the station's spool copy:\n%s", reason)
		}
		keptPath := filepath.Join(failed, c.name)
		if c.unreadable {
			os.Chmod(keptPath, 0o644) // for a test not run as root
		}
		kept, err := os.ReadFile(keptPath)
		if err != nil {
			t.Errorf("the original is not kept in failed/: %v", err)
		} else if sha256Hex(kept) != sum {
			t.Error("the original kept in failed/ differs from the file dropped")
		}
		if s, ok := got[c.name]; ok {
			t.Errorf("it was certified all the same, as %s", s.name)
		}
		// Last, as the only check a pending change may skip.
		if !strings.Contains(string(reason), c.phrase) {
			return fmt.Sprintf("the reason does not say %q:\n%s", c.phrase, reason)
		}
		t.Logf("%s", reason)
	case "outbox":
		s, ok := got[c.name]
		if !ok {
			reason, _ := os.ReadFile(filepath.Join(failed, c.name+".error.txt"))
			return fmt.Sprintf("not delivered:\n%s", reason)
		}
		if s.SourceSHA256 != sum {
			return fmt.Sprintf("the sidecar's source SHA-256 %s is not the dropped file's %s", s.SourceSHA256, sum)
		}
		if problem := insaneName(s.name); problem != "" {
			return fmt.Sprintf("outbox name %q %s", s.name, problem)
		}
		pdf := filepath.Join(outbox, s.name)
		if _, sum := digest(t, pdf); sum != s.OutputSHA256 {
			return fmt.Sprintf("%s does not match the SHA-256 in its sidecar", s.name)
		}
		if why := verifiesButForTrust(t, pdf, filepath.Join(filepath.Dir(outbox), "dev-ca.pem")); why != "" {
			return why
		}
	case "ignored":
		data, err := os.ReadFile(filepath.Join(inbox, c.name))
		if err != nil {
			return fmt.Sprintf("it was taken from the inbox: %v", err)
		}
		if sha256Hex(data) != sum {
			return "it was changed in the inbox"
		}
		if _, ok := got[c.name]; ok {
			return "it was certified"
		}
		if _, err := os.Stat(filepath.Join(failed, c.name)); err == nil {
			return "it is in failed/"
		}
	}
	return ""
}

// insaneName says what is wrong with an outbox file name for the exchange software and for
// people who open the folder from Windows, or "".
func insaneName(name string) string {
	switch {
	case !strings.HasSuffix(name, ".pdf"):
		return "does not end in .pdf"
	case strings.HasPrefix(name, "."):
		return "starts with a dot (a hidden file)"
	case strings.ContainsAny(name, `/\:*?"<>|`):
		return "holds a character Windows does not allow in a file name"
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "holds a control character"
	case !norm.NFC.IsNormalString(name):
		return "is not in Unicode NFC (it shows like another name but is a different one)"
	}
	return ""
}

// sidecarWithName is a delivered document's sidecar with its PDF's name in the outbox.
type sidecarWithName struct {
	name         string
	Source       string `json:"source"`
	SourceSHA256 string `json:"source_sha256"`
	OutputSHA256 string `json:"output_sha256"`
	DuplicateOf  string `json:"duplicate_of"`
}

func readHostileSidecar(t *testing.T, path string) sidecarWithName {
	t.Helper()
	var s sidecarWithName
	if err := json.Unmarshal(mustReadFile(t, path), &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s.name = strings.TrimSuffix(filepath.Base(path), ".json") + ".pdf"
	return s
}

// newHostileStation makes a station like newStation. Run as root, it belongs to the
// unprivileged user nobody, whom the daemon then runs as, so that permissions hold as they do
// for the packaged service (a file the station may not read is one it cannot read).
// It reports whether the daemon is to run as nobody.
func newHostileStation(t *testing.T) (dir, cfg string, asNobody bool) {
	t.Helper()
	_, err := exec.LookPath("setpriv")
	asNobody = os.Geteuid() == 0 && err == nil
	if os.Geteuid() == 0 && !asNobody {
		t.Log("setpriv is not installed: the daemon runs as root and the unreadable file is readable")
	}
	dir, err = os.MkdirTemp("", "scanstation-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out, code := scanstation(t, nil, "init", "--dir", dir, "--dev-token")
	if code != 0 {
		t.Fatalf("init --dev-token failed (%d):\n%s", code, out)
	}
	cfg = filepath.Join(dir, "scanstation.yaml")
	// The test binary's folder is the test's own (0700): nobody runs a copy.
	bin := filepath.Join(dir, "scanstation")
	if err := copyFile(binary, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if !asNobody {
		return dir, cfg, false
	}
	uid, gid := nobodyIDs(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg, true
}

func nobodyIDs(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// mkdirFor makes a folder the daemon's user can read.
func mkdirFor(t *testing.T, path string, asNobody bool) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if asNobody {
		uid, gid := nobodyIDs(t)
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// startHostileDaemon runs the station's copy of the binary, as nobody when asked, with the
// test's watch timings and more environment.
func startHostileDaemon(t *testing.T, dir, cfg string, asNobody bool, env ...string) *daemon {
	t.Helper()
	bin := filepath.Join(dir, "scanstation")
	args := []string{"run", "--config", cfg}
	cmd := exec.Command(bin, args...)
	if asNobody {
		// setpriv executes the daemon in its own place: the process is the daemon.
		cmd = exec.Command("setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", bin}, args...)...)
	}
	d := &daemon{cmd: cmd, log: &syncBuffer{}}
	d.cmd.Env = append(append(os.Environ(), fastWatch...), env...)
	d.cmd.Env = append(d.cmd.Env, "HOME="+dir)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	return d
}

func daemonAlive(d *daemon) bool {
	return d.cmd.ProcessState == nil && d.cmd.Process.Signal(syscall.Signal(0)) == nil
}

// peakMemory is the daemon's peak resident memory (VmHWM) in bytes.
func peakMemory(t *testing.T, d *daemon) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// signWithPyHanko signs a PDF as another agency would, with a throwaway key.
func signWithPyHanko(t *testing.T, dir, pdf string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Sở Tư pháp (thử nghiệm)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeStaging(t, dir, "other-agency.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	certPath := writeStaging(t, dir, "other-agency.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	out := filepath.Join(dir, "signed.pdf")
	tool(t, "pyhanko", "sign", "addsig", "--field", "Sig1", "pemder", "--key", keyPath, "--cert", certPath, "--no-pass", pdf, out)
	return out
}

// vectorPDF is an A4 page of drawn lines and text, as a word processor exports: no scan.
func vectorPDF() []byte {
	return buildTestPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman >>",
		pdfStream("", []byte("0 0 1 RG 2 w 50 50 m 545 792 l S BT /F1 24 Tf 72 700 Td (Cong van so 1) Tj ET")),
	)
}

// contentBombPDF is a scanner page (one JPEG covering it) with a second content stream of
// some 200 KB that unpacks to 256 MB of white space.
func contentBombPDF(t *testing.T, jpg []byte) []byte {
	t.Helper()
	size, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 256 {
		w.Write(spaces)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buildTestPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Resources << /XObject << /Im0 4 0 R >> >> /Contents [5 0 R 6 0 R] >>",
		pdfStream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", size.Width, size.Height), jpg),
		pdfStream("", []byte("q 420 0 0 595 0 0 cm /Im0 Do Q")),
		pdfStream("/Filter /FlateDecode", z.Bytes()),
	)
}

func buildTestPDF(objects ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

func pdfStream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// manyPageTIFF is an uncompressed 8-bit grey TIFF of pages w×h pixels each, all of them
// white; with large w and h only the headers claim the size, the pixels are not there.
func manyPageTIFF(pages int, w, h uint32) []byte {
	le := byteorder.LittleEndian
	var b bytes.Buffer
	b.WriteString("II*\x00")
	byteorder.Write(&b, le, uint32(8))
	stripBytes := min(uint64(w)*uint64(h), 4096)
	for p := 0; p < pages; p++ {
		const entries = 9
		ifdAt := uint32(b.Len())
		dataAt := ifdAt + 2 + entries*12 + 4
		next := dataAt + uint32(stripBytes)
		if p == pages-1 {
			next = 0
		}
		entry := func(tag, typ uint16, value uint32) {
			byteorder.Write(&b, le, tag)
			byteorder.Write(&b, le, typ)
			byteorder.Write(&b, le, uint32(1))
			if typ == 3 {
				byteorder.Write(&b, le, uint16(value))
				byteorder.Write(&b, le, uint16(0))
			} else {
				byteorder.Write(&b, le, value)
			}
		}
		byteorder.Write(&b, le, uint16(entries))
		entry(256, 4, w)                  // ImageWidth
		entry(257, 4, h)                  // ImageLength
		entry(258, 3, 8)                  // BitsPerSample
		entry(259, 3, 1)                  // Compression: none
		entry(262, 3, 1)                  // Photometric: BlackIsZero
		entry(273, 4, dataAt)             // StripOffsets
		entry(277, 3, 1)                  // SamplesPerPixel
		entry(278, 4, h)                  // RowsPerStrip
		entry(279, 4, uint32(stripBytes)) // StripByteCounts
		byteorder.Write(&b, le, next)
		b.Write(bytes.Repeat([]byte{0xFF}, int(stripBytes)))
	}
	return b.Bytes()
}

// pngWithSize is the PNG with the size in its header replaced (and the header's CRC
// recomputed), its pixel data unchanged.
func pngWithSize(t *testing.T, p []byte, w, h uint32) []byte {
	t.Helper()
	if string(p[12:16]) != "IHDR" {
		t.Fatal("the PNG does not start with IHDR")
	}
	out := append([]byte{}, p...)
	byteorder.BigEndian.PutUint32(out[16:], w)
	byteorder.BigEndian.PutUint32(out[20:], h)
	byteorder.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func writeStaging(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
