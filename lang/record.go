package lang

// recordMessages name a document's record and what is done with it, in the terms of Decree
// 30/2020 (Appendix VI for the fields), for the document and queue pages.
var recordMessages = []pair{
	{"Records clerk", "Văn thư"},
	{"Electronic copy", "Bản sao điện tử"},
	{"Digital signature", "Chữ ký số"},
	{"Number and notation", "Số và ký hiệu"},
	{"Number", "Số"},
	{"Notation", "Ký hiệu"},
	{"Summary", "Trích yếu"},
	{"Issuing organ", "Cơ quan ban hành"},
	{"Document type", "Loại văn bản"},
	{"Date issued", "Ngày ban hành"},
	{"Signer", "Người ký"},
	{"Pages", "Số trang"},
	{"Document", "Văn bản"},
	{"Documents", "Văn bản"},
	{"Approve and sign", "Duyệt và ký số"},
	{"Reject", "Từ chối"},
	{"Reason", "Lý do"},
	{"Confidence", "Độ tin cậy"},
}
