package lang

// reviewMessages are the record's problems (docmeta's checks against Appendix VI of Decree
// 30/2020), the warnings a copy carries to the clerk, the console's desk words, and what the
// token keeper logs for the operator.
var reviewMessages = []pair{
	// docmeta: a value outside Appendix VI.
	{"not valid UTF-8", "không phải văn bản UTF-8 hợp lệ"},
	{"leading or trailing space, or a line break, in %q", "có dấu cách ở đầu hoặc cuối, hoặc có dấu xuống dòng, trong %q"},
	{"%d characters, more than the %d Appendix VI allows", "dài %d ký tự, quá %d ký tự Phụ lục VI cho phép"},
	{"%q is not of the form DDD.DD.DD.Xnn (like 000.00.00.H41)", "%q không đúng dạng DDD.DD.DD.Xnn (ví dụ 000.00.00.H41)"},
	{"%q is not a number (digits only)", "%q không phải là số (chỉ gồm chữ số)"},
	{"%q contains a space", "%q có dấu cách"},
	{"%q is not a real date as yyyy-mm-dd", "%q không phải là ngày có thật theo dạng yyyy-mm-dd"},
	{"%s: its metadata file %s is refused: %s", "%s: tệp thông tin văn bản %s không được chấp nhận: %s"},

	// The warnings a copy carries.
	{"read from page 1 but not used: %s (%s): %s", "đọc được ở trang 1 nhưng không dùng: %s (%s): %s"},
	{"page %d: the station is not sure which way up it reads (orientation %d°, confidence %.2f, below %.2f); a clerk checks it before it is signed",
		"trang %d: trạm không chắc chiều đọc đúng của trang (hướng %d°, độ tin cậy %.2f, dưới ngưỡng %.2f); văn thư kiểm tra trang trước khi ký số"},
	{"page %d of the scan left out of the copy by %s: %s", "trang %d của bản quét được %s bỏ ra khỏi bản sao: %s"},

	// The desk.
	{"the record has no field called %s", "thông tin văn bản không có trường %s"},
	{"put back into %s (it had been refused: %s)", "đưa trở lại %s (trước đó bị từ chối: %s)"},

	// certify/token: the keeper's log lines.
	{"waiting for the token %s: insert it", "đang chờ thiết bị ký số (token) %s: hãy cắm token vào"},
	{"the token %s is back", "thiết bị ký số (token) %s đã được cắm lại"},
	{"token opened", "đã mở thiết bị ký số (token)"},
	{"the token now carries a different certificate", "thiết bị ký số (token) nay mang một chứng thư số khác"},
	{"the token refused the PIN; the station will not present it again until the PIN file is corrected and the service reloaded",
		"thiết bị ký số (token) từ chối mã PIN; trạm sẽ không nhập lại mã PIN cho đến khi tệp PIN được sửa và dịch vụ được nạp lại"},
	{"the PIN will be tried again", "mã PIN sẽ được thử lại"},
	{"the agency's certificate expires on %s; ask the CA for a new one now",
		"chứng thư số của cơ quan hết hạn vào ngày %s; hãy đề nghị tổ chức cung cấp dịch vụ chứng thực chữ ký số cấp chứng thư số mới ngay"},
	{"the token stopped answering during a signature; it will sign again once it answers",
		"thiết bị ký số (token) ngừng phản hồi khi đang ký; trạm sẽ ký lại khi token phản hồi"},
}
