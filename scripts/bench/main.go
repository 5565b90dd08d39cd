// Command bench is the Go half of scripts/bench.sh, the throughput benchmark:
//
//	go run ./scripts/bench corpus -out DIR [-pages 48]   synthetic Vietnamese scans at 300 dpi
//	go run ./scripts/bench rss -pid PID -out FILE         samples the resident memory of a process tree
//	go run ./scripts/bench contains FILE PART             exit 0 when FILE holds PART's bytes as they are
//
// corpus writes colour A4 pages at 300 dpi, every page with different text (a
// letter of a provincial office whose number, date, subject and body
// sentences are drawn from a fixed seed): a third of the pages in two-page
// TIFF files, one bilevel page as a CCITT G4 TIFF (made by libtiff's
// ppm2tiff, as scanners' own G4 files are made by libtiff), the rest as JPEG
// (quality 85) and PNG, one page a file. It writes DIR/manifest.tsv: file,
// format (jpeg, png, tiff, g4), pages, bytes.
//
// rss samples VmRSS of PID and all its descendants every -every until PID
// ends, writing one line a sample: seconds since start, total KiB, number of
// processes, the largest single process in KiB, the root alone in KiB, the
// tree's CPU seconds, the largest process other than the root in KiB (an OCR
// worker). At the end it prints the peaks of the total, the single process,
// the root and the largest other process, and the CPU seconds.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"scanstation/internal/samplescan"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench corpus|rss ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "corpus":
		err = corpus(os.Args[2:])
	case "rss":
		err = rss(os.Args[2:])
	case "contains":
		// Whether a PDF embeds a page's compressed data byte for byte
		// (a G4 strip kept as it is): an exit status for the script.
		if len(os.Args) != 4 {
			err = fmt.Errorf("usage: bench contains FILE PART")
			break
		}
		var ok bool
		if ok, err = contains(os.Args[2], os.Args[3]); err == nil && !ok {
			os.Exit(1)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const dpi = 300

var provinces = []string{
	"TỈNH BÀ RỊA - VŨNG TÀU", "TỈNH ĐỒNG NAI", "TỈNH BÌNH DƯƠNG", "TỈNH LÂM ĐỒNG",
	"TỈNH KHÁNH HÒA", "TỈNH THỪA THIÊN HUẾ", "TỈNH NGHỆ AN", "TỈNH QUẢNG NINH",
}

var subjects = []string{
	"V/v triển khai số hóa hồ sơ, tài liệu lưu trữ của cơ quan",
	"V/v báo cáo kết quả cải cách hành chính quý II",
	"V/v tăng cường công tác phòng, chống thiên tai",
	"V/v rà soát danh mục thủ tục hành chính cấp xã",
	"V/v tổ chức hội nghị tổng kết công tác văn thư",
	"V/v lập kế hoạch đào tạo, bồi dưỡng cán bộ năm tới",
	"V/v kiểm tra công tác quản lý đất đai tại địa phương",
	"V/v đôn đốc thu ngân sách nhà nước sáu tháng đầu năm",
}

var sentences = []string{
	"Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của",
	"Chính phủ về công tác văn thư, Ủy ban nhân dân tỉnh đề nghị các cơ",
	"quan, đơn vị rà soát, thống kê hồ sơ, tài liệu giấy cần số hóa và lập",
	"kế hoạch thực hiện trong năm, bảo đảm đúng tiến độ đã đề ra.",
	"Bản sao điện tử phải được ký số bằng chữ ký số của cơ quan, bảo đảm",
	"tính toàn vẹn, xác thực và có giá trị pháp lý như bản chính.",
	"Văn thư cơ quan chịu trách nhiệm kiểm tra chất lượng ảnh quét, định",
	"dạng tệp tin và thông tin đầu vào trước khi chuyển vào hệ thống.",
	"Giao Sở Nội vụ chủ trì, phối hợp với các sở, ngành liên quan hướng",
	"dẫn, kiểm tra việc thực hiện và tổng hợp báo cáo kết quả.",
	"Các đơn vị gửi báo cáo về Văn phòng Ủy ban nhân dân tỉnh trước ngày",
	"20 hằng tháng để tổng hợp, báo cáo Chủ tịch Ủy ban nhân dân tỉnh.",
	"Đề nghị Thủ trưởng các cơ quan, đơn vị quan tâm chỉ đạo thực hiện",
	"nghiêm túc nội dung Công văn này; kịp thời phản ánh khó khăn.",
	"Kinh phí thực hiện được bố trí từ nguồn ngân sách nhà nước theo phân",
	"cấp hiện hành và các nguồn hợp pháp khác theo quy định.",
	"Ủy ban nhân dân các huyện, thị xã, thành phố chỉ đạo Ủy ban nhân dân",
	"cấp xã rà soát, cập nhật dữ liệu hộ tịch trên hệ thống điện tử.",
	"Trong quá trình thực hiện, nếu có vướng mắc, đề nghị các đơn vị phản",
	"ánh về Văn phòng Ủy ban nhân dân tỉnh để được hướng dẫn kịp thời.",
	"Sở Tài chính thẩm định dự toán, trình cấp có thẩm quyền phê duyệt",
	"theo đúng quy định của Luật Ngân sách nhà nước năm 2015.",
	"Sở Thông tin và Truyền thông bảo đảm hạ tầng kỹ thuật, an toàn thông",
	"tin mạng cho hệ thống quản lý văn bản và điều hành của tỉnh.",
	"Công an tỉnh phối hợp kiểm tra việc bảo vệ bí mật nhà nước trong",
	"hoạt động số hóa, lưu trữ và chia sẻ dữ liệu giữa các cơ quan.",
	"Hồ sơ gồm: tờ trình, dự thảo quyết định, báo cáo thẩm định và các",
	"văn bản có liên quan, mỗi loại 02 bản, gửi kèm tệp điện tử.",
	"Thời gian hoàn thành chậm nhất ngày 30 tháng 9 năm nay; quá thời",
	"hạn trên, đơn vị nào chưa báo cáo sẽ bị phê bình trong toàn tỉnh.",
	"Những nội dung khác không đề cập tại văn bản này thực hiện theo quy",
	"định hiện hành của pháp luật về lưu trữ và giao dịch điện tử.",
}

// page returns the text of page n: header, number, date, subject and body
// sentences in an order drawn from n, so that no two pages are alike.
func page(n int) []string {
	r := rand.New(rand.NewPCG(uint64(n), 2020))
	lines := []string{
		"ỦY BAN NHÂN DÂN",
		provinces[r.IntN(len(provinces))],
		"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
		"Độc lập - Tự do - Hạnh phúc",
		"",
		fmt.Sprintf("Số: %d/UBND-VP", 1000+r.IntN(9000)),
		fmt.Sprintf("ngày %02d tháng %d năm %d (trang %d)", 1+r.IntN(28), 1+r.IntN(12), 2015+r.IntN(10), n),
		subjects[r.IntN(len(subjects))],
		"",
		"Kính gửi: Các sở, ban, ngành thuộc tỉnh.",
		"",
	}
	// Body: pairs of sentences (each pair reads as one sentence), 9-10 pairs.
	pairs := r.Perm(len(sentences) / 2)
	for _, p := range pairs[:9+r.IntN(2)] {
		lines = append(lines, sentences[2*p], sentences[2*p+1])
	}
	lines = append(lines, "", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "", "", fmt.Sprintf("Nguyễn Văn %s", []string{"Thọ", "Hùng", "Bình", "Dũng", "Hải"}[r.IntN(5)]))
	return lines
}

func corpus(args []string) error {
	fs := flag.NewFlagSet("corpus", flag.ExitOnError)
	out := fs.String("out", "corpus", "directory to write the corpus into")
	pages := fs.Int("pages", 48, "number of pages (even, at least 6)")
	fs.Parse(args)
	if *pages < 6 || *pages%2 != 0 {
		return fmt.Errorf("-pages %d: give an even number, at least 6", *pages)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	render := func(n int) (image.Image, error) {
		return samplescan.Render(samplescan.Options{DPI: dpi, Lines: page(n)})
	}
	var manifest strings.Builder
	write := func(name, format string, npages int, data []byte) error {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&manifest, "%s\t%s\t%d\t%d\n", name, format, npages, len(data))
		return nil
	}
	// A third of the pages in two-page TIFF files, one G4 page, the rest
	// shared by JPEG and PNG (one page a file).
	tiffFiles := *pages / 6
	if tiffFiles < 1 {
		tiffFiles = 1
	}
	rest := *pages - 2*tiffFiles - 1
	jpegs := (rest + 1) / 2
	pngs := rest - jpegs
	n := 0
	for i := 0; i < jpegs; i++ {
		n++
		img, err := render(n)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := samplescan.WriteJPEG(&b, img, dpi, 85); err != nil {
			return err
		}
		if err := write(fmt.Sprintf("p%03d.jpg", n), "jpeg", 1, b.Bytes()); err != nil {
			return err
		}
	}
	for i := 0; i < pngs; i++ {
		n++
		img, err := render(n)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := samplescan.WritePNG(&b, img, dpi); err != nil {
			return err
		}
		if err := write(fmt.Sprintf("p%03d.png", n), "png", 1, b.Bytes()); err != nil {
			return err
		}
	}
	for i := 0; i < tiffFiles; i++ {
		a, err := render(n + 1)
		if err != nil {
			return err
		}
		b2, err := render(n + 2)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := samplescan.WriteTIFF(&b, []image.Image{a, b2}, dpi); err != nil {
			return err
		}
		if err := write(fmt.Sprintf("p%03d-%03d.tif", n+1, n+2), "tiff", 2, b.Bytes()); err != nil {
			return err
		}
		n += 2
	}
	n++
	data, err := g4Page(render, n, *out)
	if err != nil {
		return err
	}
	if err := write(fmt.Sprintf("p%03d-g4.tif", n), "g4", 1, data); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "manifest.tsv"), []byte(manifest.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("corpus: %d pages in %s (%d JPEG, %d PNG, %d two-page TIFF, 1 G4 TIFF)\n", n, *out, jpegs, pngs, tiffFiles)
	return nil
}

// g4Page renders page n in black and white (threshold at half grey) and has
// ppm2tiff compress it with CCITT Group 4 at 300 dpi.
func g4Page(render func(int) (image.Image, error), n int, dir string) ([]byte, error) {
	img, err := render(n)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var pbm bytes.Buffer
	fmt.Fprintf(&pbm, "P4\n%d %d\n", w, h)
	row := make([]byte, (w+7)/8)
	for y := 0; y < h; y++ {
		clear(row)
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if (299*r+587*g+114*bl)/1000 < 0x8000 { // dark: a 1 bit is black in PBM
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		pbm.Write(row)
	}
	tmp, err := os.MkdirTemp(dir, ".g4-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	in, out := filepath.Join(tmp, "page.pbm"), filepath.Join(tmp, "page.tif")
	if err := os.WriteFile(in, pbm.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if msg, err := exec.Command("ppm2tiff", "-c", "g4", "-R", fmt.Sprint(dpi), in, out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ppm2tiff (libtiff-tools) made no G4 page: %w: %s", err, bytes.TrimSpace(msg))
	}
	return os.ReadFile(out)
}

func contains(file, part string) (bool, error) {
	f, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	p, err := os.ReadFile(part)
	if err != nil {
		return false, err
	}
	return len(p) > 0 && bytes.Contains(f, p), nil
}

func rss(args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	pid := fs.Int("pid", 0, "root process")
	out := fs.String("out", "", "file for the samples")
	every := fs.Duration("every", 500*time.Millisecond, "sampling period")
	fs.Parse(args)
	if *pid <= 0 || *out == "" {
		return fmt.Errorf("rss: -pid and -out are required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	fmt.Fprintln(w, "# seconds total_kib processes largest_kib root_kib cpu_seconds largest_other_kib")
	start := time.Now()
	var peakTotal, peakSingle, peakRoot, peakOther int
	var cpu float64
	for {
		procs := descendants(*pid)
		if len(procs) == 0 {
			break
		}
		total, largest, root, other := 0, 0, 0, 0
		for _, p := range procs {
			kb := vmRSS(p)
			total += kb
			largest = max(largest, kb)
			if p == *pid {
				root = kb
			} else {
				other = max(other, kb)
			}
		}
		if c := cpuSeconds(*pid, procs); c > 0 {
			cpu = c
		}
		fmt.Fprintf(w, "%.1f %d %d %d %d %.1f %d\n", time.Since(start).Seconds(), total, len(procs), largest, root, cpu, other)
		peakTotal, peakSingle, peakRoot, peakOther = max(peakTotal, total), max(peakSingle, largest), max(peakRoot, root), max(peakOther, other)
		time.Sleep(*every)
	}
	fmt.Printf("peak_total_kib=%d peak_single_kib=%d peak_root_kib=%d peak_worker_kib=%d cpu_seconds=%.1f\n", peakTotal, peakSingle, peakRoot, peakOther, cpu)
	return nil
}

// descendants returns root and every process below it (empty when root is gone).
func descendants(root int) []int {
	if vmRSS(root) < 0 {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		children[ppid] = append(children[ppid], p)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// vmRSS returns the resident memory of pid in KiB, 0 for a zombie, -1 when it is gone.
func vmRSS(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

// cpuSeconds is the CPU time (user + system) of the tree: every live process,
// plus the children root has already waited for (replaced OCR workers).
func cpuSeconds(root int, procs []int) float64 {
	const hz = 100 // USER_HZ on Linux
	var ticks int64
	for _, p := range procs {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
		f := strings.Fields(s[i+1:])
		if len(f) < 15 {
			continue
		}
		last := 12
		if p == root {
			last = 14
		}
		for _, v := range f[11 : last+1] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return float64(ticks) / hz
}
