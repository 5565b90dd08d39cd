package lang

// cliMessages are what scanstation process, status, approve, report and history print for
// people; their --format json and csv stay English, for programs.
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
	{"%s: %d of %d documents not finished yet; the batch is archived once they are",
		"%s: %d trong %d văn bản chưa xử lý xong; tập quét được lưu trữ khi các văn bản này xong"},
	{"%s: %d of %d documents refused (the batch record is in the archive: %s.batch.json)",
		"%s: %d trong %d văn bản bị từ chối (biên bản tách tập quét nằm trong thư mục lưu trữ: %s.batch.json)"},

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

	// approve and reject.
	{"no document is waiting for approval\n", "không có văn bản nào đang chờ duyệt\n"},
	{"%d document(s) wait for approval (review copies in %s):\n", "%d văn bản đang chờ duyệt (bản xem trước trong %s):\n"},
	{"  %s  %s  %d page(s)  scanned %s\n", "  %s  %s  %d trang  quét lúc %s\n"},
	{"%s: %s was NOT approved: %s\n", "%s: %s KHÔNG được duyệt: %s\n"},
	{"%s: %s approved by %s; the station signs it now\n", "%s: %s đã được %s duyệt; trạm tiến hành ký số ngay\n"},
	{"document %s (%s) was NOT refused: %s", "văn bản %s (%s) KHÔNG bị từ chối: %s"},
	{"refused by the clerk: %s", "văn thư từ chối: %s"},
	{"refused by the clerk %s: %s", "văn thư %s từ chối: %s"},
	{"%s: %s refused; the station moves it to %s with the reason\n", "%s: %s đã bị từ chối; trạm chuyển văn bản vào %s kèm lý do\n"},
	{"it changed meanwhile and cannot be read now: %v", "văn bản vừa thay đổi và hiện không đọc được: %v"},
	{"it was already refused (%s)", "văn bản đã bị từ chối trước đó (%s)"},
	{"it is in failed/ (%s)", "văn bản đang nằm trong failed/ (%s)"},
	{"it was already approved by %s and is now %s", "văn bản đã được %s duyệt trước đó và hiện ở trạng thái %s"},
	{"it is not waiting for approval (it is %s)", "văn bản không ở trạng thái chờ duyệt (hiện ở trạng thái %s)"},

	// The states of a document, as status says them.
	{"spooled", "đã tiếp nhận vào hàng đợi"},
	{"approved", "đã duyệt"},
	{"built", "đã tạo bản sao, chờ ký số"},
	{"signed, awaiting validation", "đã ký số, chờ dữ liệu xác thực"},
	{"signed", "đã ký số"},
	{"archived", "đã lưu trữ"},

	// report: the month's figures by hot-folder (--format csv and json keep English column names).
	{"Documents received from %s to %s (%s), by hot-folder\n", "Văn bản nhận từ ngày %s đến ngày %s (%s), theo thư mục nhận\n"},
	{"hot-folder\treceived\tdigitised\tpages\tsigned\trefused\tmean time from scan to signature\n",
		"thư mục nhận\tđã nhận\tđã số hóa\tsố trang\tđã ký số\tbị từ chối\tthời gian trung bình từ khi quét đến khi ký số\n"},
	{"total", "tổng cộng"},
	{"No document was refused.\n", "Không có văn bản nào bị từ chối.\n"},
	{"Refused documents, by the stage that refused them\n", "Văn bản bị từ chối, theo bước xử lý đã từ chối\n"},

	// history: the documents, newest first (--format csv and json keep the journal's English words).
	{"No document matches.\n", "Không có văn bản nào phù hợp.\n"},
	{"id\treceived\tfile\tpages\tstate\toutbox file or reason\tsigner\toperator\n",
		"số\tthời điểm nhận\ttệp\tsố trang\ttrạng thái\tbản sao điện tử hoặc lý do\tngười ký số\tngười vận hành\n"},
	{"(the newest %d; --limit 0 shows all)\n", "(%d văn bản mới nhất; --limit 0 để xem tất cả)\n"},

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
