// Package docmeta reads the metadata of a Vietnamese administrative document
// (Decree 30/2020 Appendix VI) from the OCR of its first page, takes what
// operators supply, and checks the values against the Appendix's limits.
//
// Extract reads what page 1 prints in fixed places: the issuing organ (top
// left, its parent on the first line), the number and notation ("Số:
// 2417/UBND-VP"), the place and date ("Bà Rịa - Vũng Tàu, ngày 05 tháng 6
// năm 2020"), the type heading (QUYẾT ĐỊNH, BÁO CÁO, ...; a "V/v" line under
// the number means a Công văn) and the subject. It mends the slips OCR
// makes: "S6:" for "Số:", O for 0 and l for 1 in numbers, "QD" for "QĐ" in
// notations, letters without their marks in organ and place names (put back
// from a small lexicon of organ words and place names).
//
// Operators supply values in a sidecar next to the scan (ReadSupplied), and
// a hot-folder supplies defaults and reads fields from folder names
// (Defaults). Merge lays supplied values over extracted ones; every Field
// says where its value came from. Validate refuses values outside the
// Appendix's limits without ever shortening them.
//
// How well extraction works is measured by scripts/metaeval; the figures are
// in docs/metadata.md.
package docmeta
