package docmeta

// Places: the provinces and centrally run cities (before and after the 2025
// merger), and towns and districts that print on letters often enough to be
// worth knowing. A place missing here is kept as read, with less confidence.
const places = `
An Giang
Bà Rịa - Vũng Tàu
Bạc Liêu
Bắc Giang
Bắc Kạn
Bắc Ninh
Bến Tre
Bình Dương
Bình Định
Bình Phước
Bình Thuận
Cà Mau
Cao Bằng
Cần Thơ
Đà Nẵng
Đắk Lắk
Đắk Nông
Điện Biên
Đồng Nai
Đồng Tháp
Gia Lai
Hà Giang
Hà Nam
Hà Nội
Hà Tĩnh
Hải Dương
Hải Phòng
Hậu Giang
Hòa Bình
Hưng Yên
Khánh Hòa
Kiên Giang
Kon Tum
Lai Châu
Lạng Sơn
Lào Cai
Lâm Đồng
Long An
Nam Định
Nghệ An
Ninh Bình
Ninh Thuận
Phú Thọ
Phú Yên
Quảng Bình
Quảng Nam
Quảng Ngãi
Quảng Ninh
Quảng Trị
Sóc Trăng
Sơn La
Tây Ninh
Thái Bình
Thái Nguyên
Thanh Hóa
Thừa Thiên Huế
Huế
Tiền Giang
Thành phố Hồ Chí Minh
TP. Hồ Chí Minh
Hồ Chí Minh
Trà Vinh
Tuyên Quang
Vĩnh Long
Vĩnh Phúc
Yên Bái
Bà Rịa
Vũng Tàu
Biên Hòa
Thủ Dầu Một
Buôn Ma Thuột
Đà Lạt
Nha Trang
Quy Nhơn
Cần Giờ
Củ Chi
Hải Châu
Sơn Trà
Thủ Đức
Tân Phước
Long Xuyên
Rạch Giá
Mỹ Tho
Hạ Long
Pleiku
Phan Thiết
Tuy Hòa
`

// Words of organ names: kinds of organs, their fields and levels. Longer
// phrases are preferred over the words they contain.
const organWords = `
ủy ban nhân dân
hội đồng nhân dân
tòa án nhân dân
viện kiểm sát nhân dân
ủy ban mặt trận tổ quốc việt nam
văn phòng chính phủ
văn phòng
bộ
sở
cục
tổng cục
chi cục
vụ
phòng
ban
viện
trung tâm
trường
đại học
học viện
bệnh viện
kho bạc nhà nước
thanh tra
công an
quân sự
tỉnh
thành phố
huyện
quận
thị xã
thị trấn
xã
phường
nội vụ
tài chính
tư pháp
y tế
giáo dục và đào tạo
giáo dục
đào tạo
văn hóa
thể thao và du lịch
du lịch
lao động
thương binh và xã hội
xây dựng
giao thông vận tải
công thương
kế hoạch và đầu tư
khoa học và công nghệ
thông tin và truyền thông
tài nguyên và môi trường
nông nghiệp và phát triển nông thôn
ngoại vụ
dân tộc
văn thư
lưu trữ
văn thư và lưu trữ
văn thư - lưu trữ
nhà nước
quản lý
dự án
hành chính
tổ chức
cán bộ
nhân dân
`

var (
	placeLexicon = newLexicon(places)
	organLexicon = newLexicon(places, organWords)
)
