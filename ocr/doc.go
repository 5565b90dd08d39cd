// Package ocr reads the words on a page image with Tesseract (through
// gosseract v2.4.1), with their boxes, the page's orientation and its skew.
//
// One Engine is one single-threaded Tesseract in this process; a Pool runs
// one engine per core, each in a worker process of its own (see Worker
// processes). Each reading of a page is one GetBoundingBoxesVerbose call:
// gosseract's Text, HOCRText and GetBoundingBoxes* each run recognition
// again, so everything in a Result is derived from that one answer.
//
// # Orientation
//
// A page is read first in PSM_AUTO, without orientation detection (OSD).
// When that reading is unsure — no words, words not running left to right,
// or a mean confidence below 80 (a page read upside down scores 58-72,
// clean upright pages 95-97) — it is read again in PSM_AUTO_OSD, which
// detects the orientation, reads a turned page correctly and returns the
// boxes in the coordinates of the image as given; the better reading is
// kept. Orientation is read from the words themselves: the direction in
// which successive words of a line run. The mode is set as a Tesseract
// variable because gosseract's SetPageSegMode is applied before
// initialisation, which resets it (it then silently runs in single-block
// mode, and PSM_AUTO_OSD has no effect at all).
//
// OSD needs a fair amount of text. A short page fed upside down comes back
// unturned with a low mean confidence; such a page is read once more,
// turned by 180° in memory (the record's image is never changed), and the
// turned reading is kept when it is clearly better.
//
// Measured over the corpus of docs/ocr-accuracy.md (18 A4 pages, 2 of them
// upside down; vie+eng, Debian Tesseract 5.3, one thread, CPU a page, the
// preparation below included):
//
//	PSM_AUTO_OSD on every page       0.92 s   (upright 0.68-1.17, upside down 0.87)
//	PSM_AUTO, OSD when unsure        0.74 s   (upright 0.45-0.85, upside down 1.55)
//	bare tesseract, psm 3            1.06 s   (a process a page: 0.15 s of it loads the models)
//
// The same text either way (CER 0.0027). OSD costs 0.22-0.38 s on an
// upright page inside PSM_AUTO_OSD. Tesseract's DetectOrientationScript on
// its own costs more (0.38-0.52 s on the full page, 0.29-0.37 s at half
// size; at quarter size it turned two upright pages of eight and gave up
// on a third), so it is no cheaper way to decide first. Turned pages pay
// for two readings; upright ones, the common case, pay for no OSD. A poor
// upright scan (mean confidence under 80) is read twice too.
//
// Character error rate against the rendered text (NFC, white space made
// single): upright page 0.013 (tone marks lost on bold all-caps headings:
// "TINH", "CONG HOA XA HOI"), upside down 0.004, turned 90° 0.004-0.012,
// skewed ±2° 0.005-0.006. Skew is estimated within 0.05° of the truth on
// those pages.
//
// # Skew
//
// Tesseract's layout analysis drops the body of a page tilted 2° or more
// (CER 0.68 on 3°, 0.79 on 4°; docs/ocr-accuracy.md, Skew), while it reads
// the same page straightened well. So every page is decoded once with
// Leptonica, its skew is found on a binarised copy reduced 2× (13 ms), and
// a page tilted 1.5° or more is turned straight about its centre, on a copy
// of the same size, for Tesseract only (area mapping: 43 ms on the 8-bit
// page Tesseract reads, see Red ink, 140 ms in colour; shear turning read
// worse, 0.0043 against 0.0032 over pages skewed 0.6-4°). The word boxes
// are turned back into the image as given; the record's image is never
// changed. Result.Skew is still measured
// from those boxes. The turned page goes to Tesseract as an uncompressed
// TIFF: as PNM, Leptonica took 208 ms to write a colour page and 452 ms to
// read it, as TIFF 35 ms and 59 ms (8 bits a pixel: 7 ms and 2 ms).
//
// Below 1.5° turning gains nothing and the resampling costs tone marks:
// letters skewed ±0.6° read at 0.0008-0.0023 as scanned and 0.0031-0.0039
// turned, −1° at 0.0032 against 0.0104; ±1.5° read alike both ways, and
// from 2° the page as scanned loses lines (0.026 at 2°, 0.22-0.79 at 4°).
// Orientation detection sees the straightened page, so a page fed upside
// down and skewed reads too. When the lines found are too few to trust
// (Leptonica's confidence under 3), the skew is looked for across the page
// as well, on the binarised copy turned by 90°: a letter skewed 3° and fed
// turned 90° read at CER 0.32-0.76 before, 0.0014-0.014 with it.
//
// # Red ink
//
// Tesseract reads a colour page's red channel, not the page: a red seal
// stamped across the signature block made Tesseract drop the whole block
// (CER 0.06 on those pages); in the red channel the seal is nearly as
// light as the paper while black ink stays dark, and so should blue ink,
// which has little red (not measured: the corpus's letters are black). The
// price: red writing vanishes from the text layer too — a red "KHẨN" or
// "MẬT" stamp, a red heading or red handwriting is not read. Grey and
// bilevel pages are read as they are.
//
// Measured over the corpus of docs/ocr-accuracy.md (18 pages, 9 scanning
// conditions, all deskewed as above), CER against the truth and CPU a page:
//
//	colour page as given             0.0100   1.31 s
//	luminance                        0.0085   0.99 s
//	0.6 red + 0.3 green + 0.1 blue   0.0083   1.02 s
//	largest channel                  0.0034   1.10 s
//	red channel                      0.0027   0.94 s
//
// The red channel also reads the near-grey 200 dpi scans better (0.0174 →
// 0.0027) and JPEG quality 60 (0.0056 → 0.0028), and no condition got
// worse by more than 0.0007 (skew −2°, 0.0014 → 0.0021). It is cheaper as
// well: an 8-bit page is less for Tesseract to threshold, and one handed
// over uncompressed is not decoded a second time.
//
// # Threads
//
// Debian's Tesseract is built with OpenMP. os.Setenv("OMP_THREAD_LIMIT")
// comes too late: libgomp reads its environment when the process loads,
// before the Go runtime starts (measured: 3.5 CPU s a page with or without
// the Setenv, 1.0 s with the variable set before start). Each recognition
// therefore limits OpenMP on its own OS thread, unless OMP_THREAD_LIMIT was
// set in the environment the process started with. A Pool's workers are
// started with OMP_THREAD_LIMIT=1 in their environment, where it does take
// effect. With 4 pages at a time (engines in process, before workers): one
// single-threaded engine 54 pages/min; two 91 pages/min; two engines with
// OpenMP's default threads 39 pages/min at 2.2 CPU s a page.
//
// # Worker processes
//
// gosseract v2.4.1 leaks on every page and crashes the process on some
// inputs (an 873-byte PNG of 33000×20 pixels did: Tesseract refuses images
// over 32767 pixels a side and gosseract walks the null result; such images
// are now refused first, but a library that crashes on one input may crash
// on another). A station runs for months and must not lose its journal to
// one hostile page, so a Pool keeps Tesseract out of its own process:
//
//   - Each worker is this same program, started again from /proc/self/exe
//     (still the running version after an upgrade replaced the file) with
//     SCANSTATION_OCR_WORKER=1 and OMP_THREAD_LIMIT=1. This package's init
//     sees the variable and runs the worker instead of the program, so any
//     binary that links the package, test binaries included, can run
//     Pools; main needs no code for it.
//   - Requests (the image bytes) and replies (the Result) are gob on two
//     inherited pipes, fds 3 and 4. The worker's stdout and stderr, where
//     Leptonica and a crash report write, are read line by line into
//     Options.Log, so neither pipe can fill up and nothing is lost.
//   - A worker is replaced after Options.PagesPerWorker pages (200), giving
//     back what gosseract leaked. One that dies with a page in hand
//     (SIGSEGV, the OOM killer, kill -9) fails that page only, with an
//     error naming the worker and how it ended; the next page gets a new
//     worker. A page that outlasts Options.PageTimeout (5 min), or whose ctx
//     ends, has its worker killed: Recognize never hangs on a worker.
//   - Workers get SIGKILL from the kernel if the station dies (Pdeathsig,
//     set from a thread that never ends), so none outlives it; Close stops
//     them and waits for them. Workers raise their own oom_score_adj, so
//     that memory exhaustion by a decompression bomb costs a page.
//
// The process boundary costs about 0.03-0.08 ms a page (a blank 32×32
// image: 0.034 ms in process, 0.06-0.11 ms through a worker); on an A4
// page at 300 dpi no difference in CPU time could be measured (1.37 s both
// ways). Starting a worker, models loaded, takes 0.3 s wall, paid once
// every 200 pages. Results through a worker are identical to those of an
// engine in process fed the same pages in the same order.
//
// # Memory
//
// gosseract v2.4.1 never frees the per-word strings nor the result iterator
// behind GetBoundingBoxesVerbose. Over 50 warm pages of 214 words each,
// resident memory grew by 6.2 KiB a page (about 30 bytes a word): some
// 30 MB for 5,000 pages. Closing an engine does not give it back (nothing
// points to those strings any more); only the end of the process does,
// which is why a Pool's engines live in workers that are replaced.
//
// Over 1,000 pages through a Pool of 2 workers (A5 at 150 dpi, 61 words a
// page, BenchmarkPoolMemory; docs/ocr-memory.md), the station's own
// resident memory stayed at 20.0-20.2 MiB. Workers replaced every 200 pages
// stayed between 63 and 77 MiB; never replaced, they grew from 72 to
// 77 MiB and keep growing with every page. The library is not patched here.
package ocr
