"""Dialogue slots in the eleven languages (caexpo_assistant.understanding.slots): days, times, ordinals,
yes/no and names, with the negative cases that must stay None (counts, booths, phone numbers, questions).

Today is pinned to 2025-09-18 (Thursday, the expo's day 2); the expo runs 2025-09-17 .. 2025-09-21.
"""
from __future__ import annotations

import pytest

from caexpo_assistant.understanding.slots import find_day, find_name, find_ordinal, find_time, yes_no

TODAY = '2025-09-18'
DAYS = ('2025-09-17', '2025-09-18', '2025-09-19', '2025-09-20', '2025-09-21')
WED, THU, FRI, SAT, SUN = DAYS
MON, TUE, NEXT_WED = '2025-09-22', '2025-09-23', '2025-09-24'


def _cases(table: dict[str, list[tuple]]) -> list:
    return [pytest.param(lang, *row, id=f'{lang}-{row[0]}') for lang, rows in table.items() for row in rows]


# ---------------------------------------------------------------------------------------------- days
DAY_CASES = {
    'en': [('today', THU), ('and tomorrow?', FRI), ('what about the day after tomorrow', SAT), ('yesterday', WED),
           ('Friday', FRI), ('anything on Sunday?', SUN), ('on Monday', MON), ('19/9', FRI), ('Sept 19', FRI),
           ('19 Sept', FRI), ('September 20th', SAT), ('the last day', SUN), ('the first day', WED),
           ('day 3', FRI), ('2025-09-20', SAT), ('Thursday', THU), ('Tuesday', TUE),
           ('what time does it open?', None), ('booth A3-008', None), ('call 0912345678', None),
           ('2 companies', None), ('at 14:30', None)],
    'vi': [('hôm nay', THU), ('ngày mai thì sao', FRI), ('mai có hội thảo gì không', FRI), ('ngay mai', FRI),
           ('ngày kia', SAT), ('ngày mốt', SAT), ('hôm qua', WED), ('thứ sáu', FRI), ('thu sau co gi', FRI),
           ('thứ 7', SAT), ('chủ nhật', SUN), ('chu nhat', SUN), ('thứ hai tuần sau', MON), ('19 tháng 9', FRI),
           ('ngày 20/9', SAT), ('ngày cuối cùng', SUN), ('ngày đầu tiên', WED), ('ngày 19', FRI),
           ('cái thứ hai', None), ('tôi tên là Mai', None), ('2 giờ chiều', None), ('gian hàng A3-008', None)],
    'th': [('วันนี้', THU), ('พรุ่งนี้มีอะไรบ้าง', FRI), ('มะรืนนี้', SAT), ('เมื่อวาน', WED), ('วันศุกร์', FRI),
           ('วัน ศุกร์', FRI), ('เสาร์นี้', SAT), ('วันอาทิตย์', SUN), ('วันจันทร์', MON), ('19 ก.ย.', FRI),
           ('วันที่ 20 กันยายน', SAT), ('วันสุดท้าย', SUN), ('วันแรก', WED), ('๑๙/๙', FRI),
           ('อันที่สอง', None), ('บ่ายสองโมง', None), ('ห้องน้ำอยู่ไหน', None), ('บูธ A3-008', None)],
    'ms': [('hari ini', THU), ('esok', FRI), ('bagaimana dengan esok?', FRI), ('lusa', SAT), ('semalam', WED),
           ('hari Jumaat', FRI), ('Sabtu', SAT), ('Ahad', SUN), ('Isnin', MON), ('19 September', FRI),
           ('hari terakhir', SUN), ('hari pertama', WED), ('hari ketiga', FRI), ('yang kedua', None),
           ('pukul 2.30 petang', None), ('3 syarikat', None)],
    'id': [('hari ini', THU), ('besok', FRI), ('besok ada acara apa?', FRI), ('lusa', SAT), ('kemarin', WED),
           ('Jumat', FRI), ("Jum'at", FRI), ('hari Minggu', SUN), ('Senin', MON), ('Kamis', THU),
           ('tanggal 20', SAT), ('19 Sept', FRI), ('hari terakhir', SUN), ('minggu depan', None),
           ('jam 2 siang', None), ('nomor 0812345678', None)],
    'fil': [('ngayon', THU), ('bukas', FRI), ('bukas ba ang forum?', FRI), ('sa makalawa', SAT),
            ('kahapon', WED), ('Biyernes', FRI), ('sa Sabado', SAT), ('Linggo', SUN), ('Lunes', MON),
            ('Setyembre 19', FRI), ('huling araw', SUN), ('unang araw', WED), ('ikatlong araw', FRI),
            ('sa susunod na linggo', None), ('alas-2 ng hapon', None), ('yung pangalawa', None)],
    'my': [('ဒီနေ့', THU), ('မနက်ဖြန်', FRI), ('မနက်ဖြန် ဘာပွဲတွေရှိလဲ', FRI), ('သဘက်ခါ', SAT), ('မနေ့က', WED),
           ('သောကြာနေ့', FRI), ('သောကြာ', FRI), ('စနေနေ့', SAT), ('တနင်္ဂနွေနေ့', SUN), ('တနင်္လာနေ့', MON),
           ('၁၉ ရက်', FRI), ('နောက်ဆုံးနေ့', SUN), ('ပထမနေ့', WED), ('ညနေ 2 နာရီ', None), ('ဒုတိယ', None)],
    'km': [('ថ្ងៃនេះ', THU), ('ថ្ងៃស្អែក', FRI), ('ស្អែកមានកម្មវិធីអ្វីខ្លះ', FRI), ('ខានស្អែក', SAT),
           ('ម្សិលមិញ', WED), ('ថ្ងៃសុក្រ', FRI), ('ថ្ងៃ សុក្រ', FRI), ('ថ្ងៃសៅរ៍', SAT), ('ថ្ងៃអាទិត្យ', SUN),
           ('ថ្ងៃច័ន្ទ', MON), ('ថ្ងៃទី១៩', FRI), ('ថ្ងៃទី 20 ខែកញ្ញា', SAT), ('ថ្ងៃចុងក្រោយ', SUN),
           ('ថ្ងៃដំបូង', WED), ('ទីពីរ', None), ('ម៉ោង 2 រសៀល', None)],
    'lo': [('ມື້ນີ້', THU), ('ມື້ອື່ນ', FRI), ('ມື້ອື່ນມີຫຍັງແດ່', FRI), ('ມື້ຮື', SAT), ('ມື້ວານ', WED),
           ('ວັນສຸກ', FRI), ('ວັນ ສຸກ', FRI), ('ວັນເສົາ', SAT), ('ວັນອາທິດ', SUN), ('ວັນຈັນ', MON),
           ('ວັນທີ ໑໙', FRI), ('19 ກັນຍາ', FRI), ('ມື້ສຸດທ້າຍ', SUN), ('ມື້ທຳອິດ', WED), ('ທີສອງ', None),
           ('ບ່າຍ 2 ໂມງ', None)],
    'zh': [('今天', THU), ('明天呢？', FRI), ('后天', SAT), ('後天有什麼活動', SAT), ('昨天', WED), ('星期五', FRI),
           ('周五', FRI), ('週五', FRI), ('礼拜五', FRI), ('禮拜天', SUN), ('星期一', MON), ('9月19日', FRI),
           ('９月２０号', SAT), ('九月十九日', FRI), ('最后一天', SUN), ('第一天', WED), ('第三天', FRI),
           ('第二家', None), ('下午两点半', None), ('3号馆在哪', None)],
    'ko': [('오늘', THU), ('내일은요?', FRI), ('내일 포럼 있어요?', FRI), ('모레', SAT), ('어제', WED),
           ('금요일', FRI), ('토요일에', SAT), ('일요일', SUN), ('월요일', MON), ('9월 19일', FRI), ('20일', SAT),
           ('마지막 날', SUN), ('첫날', WED), ('3일째', FRI), ('두 번째', None), ('2시 반', None),
           ('2시간', None)],
}


@pytest.mark.parametrize('language,text,expected', _cases(DAY_CASES))
def test_find_day(language, text, expected):
    assert find_day(text, language, TODAY, DAYS) == expected


def test_find_day_next_weekday_is_on_or_after_today_and_outside_the_expo_too():
    assert find_day('Thursday', 'en', '2025-09-19', DAYS) == '2025-09-25'   # not an expo day: the caller says so
    assert find_day('星期三', 'zh', '2025-09-17', DAYS) == '2025-09-17'
    assert find_day('day 7', 'en', TODAY, DAYS) is None                  # the expo has five days


# ---------------------------------------------------------------------------------------------- times
TIME_CASES = {
    'en': [('14:30', '14:30'), ('2:30 pm', '14:30'), ('2.30', '14:30'), ('half past two', '14:30'),
           ('at 10', '10:00'), ('at 2', '14:00'), ('10am', '10:00'), ('3 pm tomorrow', '15:00'),
           ("4 o'clock", '16:00'), ('quarter past 11', '11:15'), ('quarter to three', '14:45'),
           ('two thirty', '14:30'), ('noon', '12:00'), ('11 in the morning', '11:00'),
           ('booth A3-008', None), ('call 0912345678', None), ('2 companies', None),
           ('what time does it open?', None), ('19/9', None), ('at 3 companies', None), ('2 hours', None)],
    'vi': [('2 giờ rưỡi', '14:30'), ('14h30', '14:30'), ('2 giờ chiều', '14:00'), ('10 giờ sáng', '10:00'),
           ('lúc 3 giờ 15', '15:15'), ('hai giờ chiều', '14:00'), ('mười giờ', '10:00'), ('3h kém 15', '14:45'),
           ('chieu 2 gio', '14:00'), ('14:30', '14:30'), ('lúc 10', '10:00'), ('9h', '09:00'),
           ('2 tiếng', None), ('3 công ty', None), ('gian hàng A3-008', None), ('số 0912345678', None),
           ('ngày 19/9', None), ('mấy giờ mở cửa?', None)],
    'th': [('บ่ายสองโมงครึ่ง', '14:30'), ('บ่าย 2 โมง', '14:00'), ('14.30 น.', '14:30'), ('บ่ายโมง', '13:00'),
           ('สิบโมงเช้า', '10:00'), ('สามโมงเช้า', '09:00'), ('สี่โมงเย็น', '16:00'), ('เที่ยง', '12:00'),
           ('10 โมง', '10:00'), ('14 นาฬิกา', '14:00'), ('บ่าย ๒ โมง', '14:00'), ('สองทุ่ม', '20:00'),
           ('2 ชั่วโมง', None), ('กี่โมงเปิด', None), ('3 บริษัท', None), ('บูธ A3-008', None)],
    'ms': [('pukul 2.30 petang', '14:30'), ('jam 10 pagi', '10:00'), ('pukul 3 petang', '15:00'),
           ('pukul 11', '11:00'), ('jam 2', '14:00'), ('pukul dua petang', '14:00'), ('pukul 12 tengah hari', '12:00'),
           ('pukul 2 setengah', '14:30'), ('pukul 14:30', '14:30'), ('2 jam', None), ('3 syarikat', None),
           ('pukul berapa buka?', None),
           ('reruai A3-008', None)],
    'id': [('jam 2 siang', '14:00'), ('jam 10 pagi', '10:00'), ('jam setengah tiga', '14:30'),
           ('pukul 14.30', '14:30'), ('jam 3 sore', '15:00'), ('jam 2 lewat 15', '14:15'), ('jam 11', '11:00'),
           ('jam tiga kurang 15', '14:45'), ('2 jam', None), ('3 perusahaan', None), ('jam berapa buka?', None),
           ('nomor 0812345678', None)],
    'fil': [('alas-2 ng hapon', '14:00'), ('alas dos y medya', '14:30'), ('alas diyes ng umaga', '10:00'),
            ('alas 3', '15:00'), ('alas-10', '10:00'), ('alas 2:30', '14:30'), ('alas kuwatro', '16:00'),
            ('2pm', '14:00'), ('alas dose ng tanghali', '12:00'), ('alas tres kinse', '15:15'),
            ('2 kompanya', None), ('anong oras magbubukas?', None), ('yung una', None), ('booth A3-008', None)],
    'zh': [('下午两点半', '14:30'), ('两点半', '14:30'), ('14点', '14:00'), ('上午十点', '10:00'),
           ('下午3点15分', '15:15'), ('十点半', '10:30'), ('14:30', '14:30'), ('１４：３０', '14:30'),
           ('下午兩點半', '14:30'), ('三点一刻', '15:15'), ('中午十二点', '12:00'), ('下午一点', '13:00'),
           ('便宜一点', None), ('第一点', None), ('几点开门？', None), ('3家公司', None), ('3号馆', None)],
    'ko': [('2시 반', '14:30'), ('오후 2시', '14:00'), ('오전 10시', '10:00'), ('2시', '14:00'),
           ('10시 30분', '10:30'), ('두 시 반', '14:30'), ('열한 시', '11:00'), ('오후 세 시', '15:00'),
           ('3시에 가능해요?', '15:00'), ('정오', '12:00'), ('2시간', None), ('몇 시에 열어요?', None),
           ('3개 회사', None), ('부스 A3-008', None)],
    'my': [('ညနေ 2 နာရီ ခွဲ', '14:30'), ('မနက် 10 နာရီ', '10:00'), ('၂ နာရီ', '14:00'), ('ညနေ ၃ နာရီ', '15:00'),
           ('10 နာရီ 30 မိနစ်', '10:30'), ('နေ့လည် 1 နာရီ', '13:00'), ('မနက်ဖြန် 2 နာရီ', '14:00'),
           ('ဆယ်နာရီ', '10:00'), ('2 နာရီကြာ', None), ('ဘယ်အချိန်ဖွင့်လဲ', None), ('ကုမ္ပဏီ 3 ခု', None)],
    'km': [('ម៉ោង 2 រសៀល', '14:00'), ('ម៉ោង ១០ ព្រឹក', '10:00'), ('ម៉ោង 2 កន្លះ', '14:30'), ('ម៉ោង 3', '15:00'),
           ('រសៀល ម៉ោង 3', '15:00'), ('ម៉ោង 10 និង 15 នាទី', '10:15'), ('ម៉ោងដប់', '10:00'), ('ម៉ោង 14:30', '14:30'),
           ('ម៉ោងប៉ុន្មាន?', None), ('ក្រុមហ៊ុន 3', None), ('ស្តង់ A3-008', None)],
    'lo': [('ບ່າຍ 2 ໂມງ', '14:00'), ('ບ່າຍສອງໂມງເຄິ່ງ', '14:30'), ('10 ໂມງເຊົ້າ', '10:00'), ('ທ່ຽງ', '12:00'),
           ('3 ໂມງ', '15:00'), ('ບ່າຍ ໒ ໂມງ', '14:00'), ('4 ໂມງແລງ', '16:00'), ('10 ໂມງ 30 ນາທີ', '10:30'),
           ('2 ຊົ່ວໂມງ', None), ('ຈັກໂມງເປີດ', None), ('3 ບໍລິສັດ', None)],
}


@pytest.mark.parametrize('language,text,expected', _cases(TIME_CASES))
def test_find_time(language, text, expected):
    assert find_time(text, language) == expected


# ---------------------------------------------------------------------------------------------- ordinals
ORDINAL_CASES = {
    'en': [('the first one', 1), ('number 2', 2), ('second company', 2), ('the last one', -1), ('the third', 3),
           ('2nd', 2), ('option 3', 3), ('2', 2), ('the first', 1), ('3 companies', None), ('first aid', None),
           ('the first day', None), ('wait a second', None), ('call 0912345678', None), ('at 2pm', None)],
    'vi': [('cái đầu tiên', 1), ('cái thứ hai', 2), ('cai thu hai', 2), ('công ty thứ ba', 3), ('cái cuối cùng', -1),
           ('số 2', 2), ('thứ nhất', 1), ('cái thứ 2', 2), ('lấy cái đầu tiên nhé', 1), ('2 giờ', None),
           ('3 công ty', None), ('ngày đầu tiên', None), ('thứ hai tuần sau', None), ('vào thứ hai', None)],
    'th': [('อันแรก', 1), ('อันที่สอง', 2), ('อันที่ 2', 2), ('บริษัทแรก', 1), ('อันสุดท้าย', -1),
           ('บริษัทที่สาม', 3), ('เอาอันแรกครับ', 1), ('ตัวเลือกที่ 2', 2), ('วันที่ 2', None), ('วันแรก', None),
           ('3 บริษัท', None), ('บ่าย 2 โมง', None), ('ครั้งแรก', None)],
    'ms': [('yang pertama', 1), ('yang kedua', 2), ('syarikat ketiga', 3), ('yang terakhir', -1),
           ('nombor 2', 2), ('pilihan 3', 3), ('yang ke-2', 2), ('pertama', 1), ('kedua-dua', None),
           ('hari pertama', None), ('3 syarikat', None), ('pukul 2', None)],
    'id': [('yang pertama', 1), ('yang kedua', 2), ('perusahaan ketiga', 3), ('yang terakhir', -1),
           ('nomor 2', 2), ('yang ke 3', 3), ('pertama saja', 1), ('kedua', 2), ('hari terakhir', None),
           ('pertama kali ke sini', None), ('3 perusahaan', None), ('jam 2', None)],
    'fil': [('yung una', 1), ('yung pangalawa', 2), ('pangatlo', 3), ('yung huli', -1), ('ikalawa', 2),
            ('numero 2', 2), ('unang kumpanya', 1), ('pinakahuli', -1), ('ika-3', 3), ('alas una', None),
            ('unang araw', None), ('3 kompanya', None), ('ikalawang araw', None)],
    'zh': [('第一个', 1), ('第二家', 2), ('最后一个', -1), ('第三个', 3), ('第2个', 2), ('就第一家吧', 1),
           ('第一', 1), ('最后那家', -1), ('第一天', None), ('3家公司', None), ('两点', None), ('第一次来', None),
           ('最后一天', None)],
    'ko': [('첫 번째', 1), ('두 번째', 2), ('두번째 회사', 2), ('세 번째요', 3), ('마지막 거', -1), ('2번', 2),
           ('첫번째요', 1), ('3번째', 3), ('둘째', 2), ('첫날', None), ('2시', None), ('3개 회사', None),
           ('마지막 날', None), ('2번 출구', None)],
    'my': [('ပထမ', 1), ('ဒုတိယ', 2), ('တတိယ ကုမ္ပဏီ', 3), ('နောက်ဆုံး', -1), ('ပထမဆုံး', 1), ('နံပါတ် 2', 2),
           ('ဒုတိယတစ်ခု', 2), ('စတုတ္ထ', 4), ('ပထမနေ့', None), ('နောက်ဆုံးနေ့', None), ('2 နာရီ', None),
           ('ကုမ္ပဏီ 3 ခု', None)],
    'km': [('ទីមួយ', 1), ('ទីពីរ', 2), ('ទីបី', 3), ('ទី 2', 2), ('ក្រុមហ៊ុនទីពីរ', 2), ('ចុងក្រោយ', -1),
           ('លេខ 2', 2), ('ទីប្រាំ', 5), ('ថ្ងៃទី 2', None), ('ថ្ងៃទី19', None), ('ម៉ោង 2', None),
           ('ក្រុមហ៊ុន 3', None), ('ទីនេះ', None)],
    'lo': [('ອັນທຳອິດ', 1), ('ອັນທໍາອິດ', 1), ('ທີສອງ', 2), ('ອັນທີສອງ', 2), ('ບໍລິສັດທີສາມ', 3),
           ('ອັນສຸດທ້າຍ', -1), ('ທີ 2', 2), ('ເບີ 2', 2), ('ມື້ທຳອິດ', None), ('ວັນທີ 2', None), ('2 ໂມງ', None),
           ('ທີ່ນີ້', None)],
}


@pytest.mark.parametrize('language,text,expected', _cases(ORDINAL_CASES))
def test_find_ordinal(language, text, expected):
    assert find_ordinal(text, language) == expected


# ---------------------------------------------------------------------------------------------- yes / no
YES_NO_CASES = {
    'en': [('yes', True), ('ok', True), ('sure', True), ('please do', True), ('yes please', True),
           ('yes but where is the toilet?', True), ('Yeah, thanks', True), ('of course', True),
           ('no thanks', False), ('no', False), ('nope', False), ('not now', False), ('no, thank you', False),
           ('never mind', False), ('what time does it open?', None), ('where is the toilet', None),
           ('please tell me where the toilet is', None), ('now', None), ('yesterday', None)],
    'vi': [('có', True), ('vâng', True), ('dạ', True), ('được', True), ('dạ vâng', True), ('có ạ', True),
           ('ok luôn', True), ('đồng ý', True), ('co a', True), ('không', False), ('dạ không', False),
           ('không cần đâu, cảm ơn', False), ('khong a', False), ('thôi khỏi', False),
           ('có nhà vệ sinh không?', None), ('dạ cho em hỏi nhà vệ sinh ở đâu ạ', None),
           ('không biết quầy thông tin ở đâu', None), ('mấy giờ đóng cửa', None)],
    'th': [('ครับ', True), ('ได้ครับ', True), ('ใช่', True), ('ได้เลยค่ะ', True), ('ตกลงครับ', True),
           ('โอเค', True), ('เอาครับ', True), ('ใช่แล้วค่ะ', True), ('ไม่', False), ('ไม่ครับ', False),
           ('ไม่เป็นไรค่ะ', False), ('ไม่ต้องครับ ขอบคุณ', False), ('ไม่เอา', False),
           ('ไม่ทราบว่าห้องน้ำอยู่ไหน', None), ('ใช่ไหม', None), ('ห้องน้ำอยู่ไหนครับ', None)],
    'ms': [('ya', True), ('boleh', True), ('baiklah', True), ('ok', True), ('ya, terima kasih', True),
           ('boleh, terima kasih', True), ('setuju', True), ('sila', True), ('tidak', False), ('tak', False),
           ('tak payah', False), ('tidak, terima kasih', False), ('tak apa', False),
           ('boleh saya tanya di mana tandas?', None), ('di mana tandas?', None), ('yang mana satu', None)],
    'id': [('iya', True), ('ya', True), ('boleh', True), ('oke', True), ('baik', True), ('mau', True),
           ('siap', True), ('ya boleh', True), ('tidak', False), ('nggak usah', False), ('gak', False),
           ('tidak usah, makasih', False), ('nggak jadi', False), ('mau tanya toilet di mana', None),
           ('toiletnya di mana?', None), ('jam berapa tutup?', None)],
    'fil': [('oo', True), ('opo', True), ('sige', True), ('sige po', True), ('oo po, salamat', True),
            ('ok po', True), ('tama', True), ('pwede', True), ('hindi', False), ('hindi po, salamat', False),
            ('huwag na', False), ('wag na po', False), ('ayoko', False),
            ('hindi ko alam kung nasaan ang CR', None), ('nasaan ang CR?', None), ('pwede po bang magtanong', None)],
    'my': [('ဟုတ်ကဲ့', True), ('ဟုတ်ကဲ့ခင်ဗျာ', True), ('ရပါတယ်', True), ('ဟုတ်တယ်', True), ('အိုကေ', True),
           ('ကောင်းပါပြီ', True), ('ဟုတ်ကဲ့ ကျေးဇူးတင်ပါတယ်', True), ('လုပ်ပေးပါ', True), ('မဟုတ်ပါဘူး', False),
           ('မလိုပါဘူး ခင်ဗျာ', False), ('မဟုတ်ဘူး', False), ('ဟင့်အင်း', False), ('အိမ်သာ ဘယ်မှာလဲ', None)],
    'km': [('បាទ', True), ('ចាស', True), ('បាទ អរគុណ', True), ('យល់ព្រម', True), ('បាន', True), ('អូខេ', True),
           ('មែនហើយ', True), ('ល្អណាស់', True), ('ទេ', False), ('អត់ទេ អរគុណ', False), ('បាទ ទេ', False),
           ('មិនអីទេ', False), ('មិនចាំបាច់ទេ', False), ('បានទេ?', None), ('បង្គន់នៅឯណា?', None)],
    'lo': [('ເຈົ້າ', True), ('ແມ່ນ', True), ('ແມ່ນແລ້ວ', True), ('ໄດ້', True), ('ໄດ້ເລີຍ', True), ('ໂອເຄ', True),
           ('ເຈົ້າ ຂອບໃຈ', True), ('ຕົກລົງ', True), ('ບໍ່', False), ('ບໍ່ເອົາ', False), ('ບໍ່ຕ້ອງ', False),
           ('ບໍ່ເປັນຫຍັງ', False), ('ເຈົ້າ ບໍ່', False), ('ບໍ່ຮູ້ວ່າຫ້ອງນ້ຳຢູ່ໃສ', None), ('ຫ້ອງນ້ຳຢູ່ໃສ', None)],
    'zh': [('好', True), ('好的', True), ('是', True), ('可以', True), ('行', True), ('嗯', True),
           ('好的，厕所在哪？', True), ('没问题', True), ('可以，谢谢', True), ('不', False), ('不要', False),
           ('不用了，谢谢', False), ('不用', False), ('算了', False), ('不好意思，请问厕所在哪', None),
           ('可以帮我预约吗', None), ('是不是在A馆', None), ('几点关门？', None)],
    'ko': [('네', True), ('예', True), ('좋아요', True), ('네, 부탁드려요', True), ('네 감사합니다', True),
           ('그래요', True), ('알겠습니다', True), ('부탁합니다', True), ('아니요', False), ('아뇨', False),
           ('괜찮아요', False), ('아니요, 괜찮습니다', False), ('됐어요', False), ('어디예요?', None),
           ('화장실 어디예요?', None), ('몇 시에 열어요?', None)],
}


@pytest.mark.parametrize('language,text,expected', _cases(YES_NO_CASES))
def test_yes_no(language, text, expected):
    assert yes_no(text, language) is expected


# ---------------------------------------------------------------------------------------------- names
NAME_CASES = {     # (text, asked, expected)
    'en': [('my name is Anna Lee from Acme', False, ('Anna Lee', 'Acme')), ("I'm Anna", False, ('Anna', None)),
           ('My name is John Smith.', False, ('John Smith', None)), ('this is Maria Santos from Globe', False,
                                                                        ('Maria Santos', 'Globe')),
           ('call me Bob', False, ('Bob', None)), ('Anna Lee', True, ('Anna Lee', None)),
           ('Anna Lee from Acme', True, ('Anna Lee', 'Acme')), ("it's Peter", True, ('Peter', None)),
           ("I'm looking for coffee", False, None), ("I'm hungry", False, None), ('hello', True, None),
           ('yes', True, None), ('where is the toilet?', True, None), ('Anna', False, None),
           ('I would like to book a meeting with the coffee company please', True, None)],
    'vi': [('tôi tên là Nguyễn Văn An', False, ('Nguyễn Văn An', None)),
           ('Tôi tên là Nguyễn Văn An ạ', False, ('Nguyễn Văn An', None)),
           ('toi ten la nguyen van an', False, ('nguyen van an', None)),
           ('em tên Lan, từ công ty Vinamilk', False, ('Lan', 'Vinamilk')),
           ('tên tôi là Trần Thị Bích', False, ('Trần Thị Bích', None)),
           ('Nguyễn Văn An', True, ('Nguyễn Văn An', None)), ('Nguyễn Văn An ạ', True, ('Nguyễn Văn An', None)),
           ('Mai', True, ('Mai', None)), ('Nguyễn Văn An, công ty Vinamilk', True, ('Nguyễn Văn An', 'Vinamilk')),
           ('tôi là người Việt Nam', False, None), ('xin chào', True, None),
           ('vâng', True, None), ('nhà vệ sinh ở đâu?', True, None)],
    'th': [('ผมชื่อสมชาย', False, ('สมชาย', None)), ('ผมชื่อสมชายครับ', False, ('สมชาย', None)),
           ('ดิฉันชื่อสุดา ค่ะ', False, ('สุดา', None)),
           ('ผมชื่อสมชาย ใจดี จากบริษัท ABC ครับ', False, ('สมชาย ใจดี', 'ABC')),
           ('ชื่อสมหญิงค่ะ', True, ('สมหญิง', None)), ('สมชายครับ', True, ('สมชาย', None)),
           ('สมชาย ใจดี', True, ('สมชาย ใจดี', None)), ('ฉันชื่อว่ามาลี', False, ('มาลี', None)),
           ('สวัสดีครับ', True, None), ('ได้ครับ', True, None), ('ห้องน้ำอยู่ไหน', True, None)],
    'ms': [('nama saya Siti', False, ('Siti', None)), ('Nama saya Ahmad dari Petronas', False, ('Ahmad', 'Petronas')),
           ('saya Aminah', False, ('Aminah', None)), ('nama saya Siti Aisyah, terima kasih', False,
                                                   ('Siti Aisyah', None)),
           ('Siti', True, ('Siti', None)), ('Ahmad bin Ali', True, ('Ahmad bin Ali', None)),
           ('saya nak ke tandas', False, None), ('saya dari Malaysia', False, None), ('ya', True, None),
           ('di mana tandas?', True, None)],
    'id': [('nama saya Budi', False, ('Budi', None)), ('nama saya Budi dari PT Maju Jaya', False,
                                                        ('Budi', 'PT Maju Jaya')),
           ('perkenalkan, saya Dewi', False, ('Dewi', None)), ('saya bernama Rina', False, ('Rina', None)),
           ('Budi', True, ('Budi', None)), ('Budi Santoso', True, ('Budi Santoso', None)),
           ('saya mau ke toilet', False, None), ('halo', True, None), ('iya', True, None),
           ('toiletnya di mana?', True, None)],
    'fil': [('ako si Juan dela Cruz', False, ('Juan dela Cruz', None)), ('Ako po si Maria', False, ('Maria', None)),
            ('ang pangalan ko ay Jose Rizal', False, ('Jose Rizal', None)),
            ('ako si Ana mula sa Jollibee', False, ('Ana', 'Jollibee')), ('Juan po', True, ('Juan', None)),
            ('Juan dela Cruz', True, ('Juan dela Cruz', None)), ('pangalan ko po ay Liza', False, ('Liza', None)),
            ('magandang umaga', True, None), ('opo', True, None), ('nasaan ang CR?', True, None)],
    'my': [('ကျွန်တော့်နာမည် အောင်အောင် ပါ', False, ('အောင်အောင်', None)),
           ('ကျွန်မနာမည် ခင်ခင် ပါ', False, ('ခင်ခင်', None)),
           ('ကျွန်တော့်နာမည်က မောင်မောင်ပါ ခင်ဗျာ', False, ('မောင်မောင်', None)),
           ('ကျွန်တော် ကျော်ကျော် ပါ', False, ('ကျော်ကျော်', None)),
           ('ကျွန်တော့်နာမည် အောင်အောင် ပါ၊ ABC ကုမ္ပဏီကပါ', False, ('အောင်အောင်', 'ABC')),
           ('အောင်အောင်', True, ('အောင်အောင်', None)),
           ('မောင်မောင် ပါ', True, ('မောင်မောင်', None)), ('မင်္ဂလာပါ', True, None), ('ဟုတ်ကဲ့', True, None),
           ('အိမ်သာ ဘယ်မှာလဲ', True, None)],
    'km': [('ខ្ញុំឈ្មោះ សុខ ដារ៉ា', False, ('សុខ ដារ៉ា', None)), ('ខ្ញុំឈ្មោះសុខា', False, ('សុខា', None)),
           ('ខ្ញុំបាទឈ្មោះ វិចិត្រ', False, ('វិចិត្រ', None)),
           ('ខ្ញុំឈ្មោះ សុខា មកពីក្រុមហ៊ុន ABC', False, ('សុខា', 'ABC')), ('សុខា', True, ('សុខា', None)),
           ('សុខា បាទ', True, ('សុខា', None)), ('សួស្តី', True, None), ('បាទ', True, None),
           ('បង្គន់នៅឯណា?', True, None)],
    'lo': [('ຂ້ອຍຊື່ ສົມສັກ', False, ('ສົມສັກ', None)), ('ຂ້ອຍຊື່ສົມສັກ ເຈົ້າ', False, ('ສົມສັກ', None)),
           ('ຂ້າພະເຈົ້າຊື່ ບຸນມີ ຈາກບໍລິສັດ ລາວໂທລະຄົມ', False, ('ບຸນມີ', 'ລາວໂທລະຄົມ')),
           ('ຂ້ອຍຊື່ວ່າ ຄຳ', False, ('ຄຳ', None)), ('ສົມສັກ', True, ('ສົມສັກ', None)),
           ('ສົມສັກ ເຈົ້າ', True, ('ສົມສັກ', None)), ('ສະບາຍດີ', True, None), ('ເຈົ້າ', True, None),
           ('ຫ້ອງນ້ຳຢູ່ໃສ', True, None)],
    'zh': [('我叫王伟，来自华为', False, ('王伟', '华为')), ('我叫王偉，來自華為', False, ('王偉', '華為')),
           ('我是华为的王伟', False, ('王伟', '华为')), ('我的名字是李娜', False, ('李娜', None)),
           ('我叫张三', False, ('张三', None)), ('王伟', True, ('王伟', None)),
           ('王伟，华为的', True, ('王伟', '华为')),
           ('我是来参观的', False, None), ('你好', True, None), ('好的', True, None), ('厕所在哪？', True, None)],
    'ko': [('제 이름은 김민수입니다', False, ('김민수', None)), ('저는 김민수예요', False, ('김민수', None)),
           ('삼성전자의 김민수입니다', False, ('김민수', '삼성전자')),
           ('제 이름은 이서연이에요', False, ('이서연', None)),
           ('김민수', True, ('김민수', None)), ('김민수입니다', True, ('김민수', None)),
           ('박지훈이요', True, ('박지훈', None)),
           ('저는 배고파요', False, None), ('안녕하세요', True, None), ('네', True, None),
           ('화장실 어디예요?', True, None)],
}


@pytest.mark.parametrize('language,text,asked,expected', _cases(NAME_CASES))
def test_find_name(language, text, asked, expected):
    assert find_name(text, language, asked=asked) == expected


def test_long_sentences_are_not_names_even_when_asked():
    assert find_name('I think I will come back later with my colleague', 'en', asked=True) is None
    assert find_name('tôi muốn hỏi về lịch hội thảo ngày mai nhé', 'vi', asked=True) is None
