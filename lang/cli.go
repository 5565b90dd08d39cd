package lang

// cliMessages are what scanstation process and status print for people; their --format json
// stays English, for programs.
var cliMessages = []pair{
	// process.
	{"%s: page %d of %d recognised (OCR confidence %.0f%%)\n", "%s: đã nhận dạng trang %d/%d (độ tin cậy OCR %.0f%%)\n"},
	{"%s: every document finished; the original and its batch record are in the archive\n",
		"%s: mọi văn bản đã xử lý xong; bản gốc và biên bản tách tập quét nằm trong thư mục lưu trữ\n"},
	{"%s: signed and delivered → %s\n", "%s: đã ký số và chuyển đi → %s\n"},
	{"%s: NOT YET DELIVERED: %s\n  it resumes when the station runs (scanstation run)\n",
		"%s: CHƯA CHUYỂN ĐI: %s\n  việc xử lý sẽ tiếp tục khi trạm chạy (scanstation run)\n"},
	{"%s: FAILED: %s\n  the file and the reason are in %s\n", "%s: KHÔNG XỬ LÝ ĐƯỢC: %s\n  tệp và lý do nằm trong %s\n"},
	{"%s: FAILED: %s\n", "%s: KHÔNG XỬ LÝ ĐƯỢC: %s\n"},
	{"%s failed at %s: %s", "%s không xử lý được ở bước %s: %s"},
	{"%s: divided into %d documents\n", "%s: đã tách thành %d văn bản\n"},
	{"%s, document %d", "%s, văn bản %d"},

	// status.
	{"Not finished", "Chưa xong"},
	{"documents", "số văn bản"},
	{"oldest received", "nhận sớm nhất"},
	{"waiting for", "đã chờ"},
	{"all", "tổng cộng"},
	{"Finished today (%s)", "Đã xong hôm nay (%s)"},
	{"archived (signed and delivered)", "đã lưu trữ (đã ký số và chuyển đi)"},
	{"failed (in the failed folder)", "không xử lý được (trong thư mục failed)"},
	{"token: %s (%s)\n", "thiết bị ký số (token): %s (%s)\n"},
	{"token: %s\nstation: running, takes files\n", "thiết bị ký số (token): %s\ntrạm: đang chạy, đang nhận tệp\n"},
	{"token: %s\nstation: running, NOT taking files: %s\n", "thiết bị ký số (token): %s\ntrạm: đang chạy, KHÔNG nhận tệp: %s\n"},
	{"waiting: %s since %s (%s); documents wait, nothing is lost\n", "đang chờ: %s từ %s (%s); văn bản được giữ chờ, không mất gì\n"},
	{"No document has been received yet (the journal %s does not exist).\n", "Trạm chưa nhận văn bản nào (chưa có sổ theo dõi %s).\n"},
	{"Last errors: none\n", "Lỗi gần đây: không có\n"},
	{"Last errors (newest first; the files and reasons are in %s):\n", "Lỗi gần đây (mới nhất trước; tệp và lý do nằm trong %s):\n"},
	{"  id\tfailed at\tfile\tstage\treason\n", "  số\tthời điểm\ttệp\tbước\tlý do\n"},
	{"is the station running?", "trạm có đang chạy không?"},
	{"the station's status file cannot be read; is the station running?", "không đọc được tệp trạng thái của trạm; trạm có đang chạy không?"},
	{"the station last said %q %s ago; is the station running?", "trạm báo %q lần cuối cách đây %s; trạm có đang chạy không?"},
	{"%d s", "%d giây"},
	{"%d min %02d s", "%d phút %02d giây"},
	{"%d h %02d min", "%d giờ %02d phút"},
	{"%d d %d h", "%d ngày %d giờ"},

	// The states of a document, as status says them.
	{"spooled", "đã tiếp nhận vào hàng đợi"},
	{"approved", "đã duyệt"},
	{"built", "đã tạo bản sao, chờ ký số"},
	{"signed, awaiting validation", "đã ký số, chờ dữ liệu xác thực"},
	{"signed", "đã ký số"},
	{"archived", "đã lưu trữ"},

	// The token's states (certify/token).
	{"not opened", "chưa mở"},
	{"ready", "sẵn sàng"},
	{"waiting for token", "đang chờ cắm token"},
	{"wrong PIN", "sai mã PIN"},
	{"PIN locked", "mã PIN bị khóa"},
	{"certificate expired", "chứng thư số đã hết hạn"},
	{"certificate not yet valid", "chứng thư số chưa có hiệu lực"},
	{"certificate does not match key", "chứng thư số không khớp với khóa"},
	{"key not found", "không tìm thấy khóa"},
	{"closed", "đã đóng"},
	{"unknown", "không rõ"},
}
