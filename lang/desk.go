package lang

// deskMessages are the station's words on the console's pages: the audit trail's details, the
// signed copy's verification, a scan sent back and why signing stopped.
var deskMessages = []pair{
	// The audit trail.
	{"page %d", "trang %d"},
	{"page %d (page %d of the scan)", "trang %d (trang %d của bản quét)"},
	{"turned from %d° to %d°", "xoay từ %d° sang %d°"},
	{"sent back for rescan by %s: %s", "được %s trả lại để quét lại: %s"},
	{"signing stopped: %s", "đã dừng ký số: %s"},

	// The signed copy's verification, by EN 319 102-1's sub-indication.
	{"the signature is valid and the copy is as the station certified it",
		"chữ ký số hợp lệ và bản sao đúng như trạm đã chứng thực"},
	{"no trust anchor: the signer's certificate does not lead to a certificate the station trusts",
		"không có chứng thư gốc tin cậy: chứng thư số của người ký không dẫn tới chứng thư số nào mà trạm tin cậy"},
	{"no revocation data: the copy carries no proof that the signing certificate was not revoked (a B-LT copy does)",
		"không có dữ liệu thu hồi: bản sao không mang bằng chứng rằng chứng thư số dùng để ký chưa bị thu hồi (bản sao B-LT có bằng chứng này)"},
	{"the signer's certificate chain cannot be checked",
		"không kiểm tra được chuỗi chứng thư số của người ký"},
	{"no proof of time: the signing certificate has expired and no timestamp proves the signature was made while it was valid",
		"không có bằng chứng thời gian: chứng thư số dùng để ký đã hết hạn và không có dấu thời gian nào chứng minh chữ ký được tạo khi chứng thư còn hiệu lực"},
	{"the signing certificate was not yet valid when the copy was signed",
		"chứng thư số dùng để ký chưa có hiệu lực vào lúc ký bản sao"},
	{"the signing certificate was revoked, and no timestamp proves the signature was made before",
		"chứng thư số dùng để ký đã bị thu hồi, và không có dấu thời gian nào chứng minh chữ ký được tạo trước thời điểm đó"},
	{"changed after signing: the file is not the copy that was signed",
		"bị thay đổi sau khi ký: tệp không còn là bản sao đã được ký"},
	{"the signature does not check out: the file is damaged or was not signed with this certificate",
		"chữ ký số không đúng: tệp bị hỏng hoặc không được ký bằng chứng thư số này"},
	{"a change made after the certification is one it does not allow",
		"có thay đổi sau khi chứng thực mà chứng thực không cho phép"},
	{"the certified copy lacks what the station puts in it: %s", "bản sao chứng thực thiếu nội dung trạm đưa vào: %s"},
	{"the signed copy is no longer in the outbox (sent or moved on); verify the copy where it is now",
		"bản sao đã ký không còn trong thư mục gửi đi (đã gửi hoặc đã chuyển chỗ); hãy kiểm tra bản sao ở nơi đang lưu"},
	{"cannot read the signed copy: %s", "không đọc được bản sao đã ký: %s"},
}
