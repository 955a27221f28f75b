// Labels in Vietnamese (default) and English.
"use strict";

const I18N = {
  vi: {
    title: "Độ bao phủ BHXH, BHTN, BHYT",
    forgetToken: "Đăng xuất",
    loginTitle: "Mã truy cập báo cáo",
    loginHelp: "Dán mã truy cập báo cáo (reporting token). Mã chỉ được giữ trong phiên của thẻ trình duyệt này.",
    loginButton: "Xem báo cáo",
    badToken: "Mã truy cập không hợp lệ hoặc đã bị thu hồi.",
    period: "Kỳ báo cáo",
    coverageTitle: "Độ bao phủ so với chỉ tiêu",
    legendCoverage: "Tỷ lệ bao phủ",
    legendTarget: "Chỉ tiêu",
    childrenTitle: "Theo đơn vị trực thuộc",
    drillHint: "Bấm vào tên một đơn vị để xem chi tiết.",
    noChildren: "Không có đơn vị trực thuộc.",
    trendTitle: "Diễn biến 24 tháng",
    active: "Đang tham gia",
    newParticipants: "Tham gia mới",
    withdrawals: "Rút BHXH một lần",
    outreachTitle: "Tuyên truyền, đối thoại",
    conferences: "Hội nghị",
    attendees: "Người dự",
    campaignEnrolments: "Người tham gia qua chiến dịch",
    enrolmentsPerConference: "Người tham gia / hội nghị",
    costVnd: "Kinh phí (đồng)",
    tableTitle: "Bảng số liệu",
    csv: "Tải CSV",
    locality: "Đơn vị",
    scheme: "Loại hình",
    denominator: "Mẫu số",
    coverage: "Tỷ lệ bao phủ",
    target: "Chỉ tiêu",
    attainment: "Đạt so với chỉ tiêu",
    loading: "Đang tải…",
    loadError: "Không tải được số liệu: ",
    noData: "Chưa có số liệu.",
    schemes: {
      BHXH_BB: "BHXH bắt buộc", BHXH_TN: "BHXH tự nguyện", BHTN: "Bảo hiểm thất nghiệp",
      BHYT_HGD: "BHYT hộ gia đình", BHYT_KHAC: "BHYT nhóm khác", BHXH: "BHXH", BHYT: "BHYT",
    },
  },
  en: {
    title: "Social, unemployment and health insurance coverage",
    forgetToken: "Sign out",
    loginTitle: "Reporting token",
    loginHelp: "Paste a reporting token. It is kept only for this browser tab's session.",
    loginButton: "Show reports",
    badToken: "The token is not valid or has been revoked.",
    period: "Period",
    coverageTitle: "Coverage against target",
    legendCoverage: "Coverage",
    legendTarget: "Target",
    childrenTitle: "By subordinate unit",
    drillHint: "Click a unit's name to drill down.",
    noChildren: "No subordinate units.",
    trendTitle: "Last 24 months",
    active: "Active participants",
    newParticipants: "New participants",
    withdrawals: "Lump-sum withdrawals",
    outreachTitle: "Outreach",
    conferences: "Conferences",
    attendees: "Attendees",
    campaignEnrolments: "Campaign enrolments",
    enrolmentsPerConference: "Enrolments per conference",
    costVnd: "Cost (VND)",
    tableTitle: "Figures",
    csv: "Download CSV",
    locality: "Locality",
    scheme: "Scheme",
    denominator: "Denominator",
    coverage: "Coverage",
    target: "Target",
    attainment: "Plan attainment",
    loading: "Loading…",
    loadError: "Could not load the figures: ",
    noData: "No figures yet.",
    schemes: {
      BHXH_BB: "Compulsory SI", BHXH_TN: "Voluntary SI", BHTN: "Unemployment ins.",
      BHYT_HGD: "Household health ins.", BHYT_KHAC: "Health ins., other", BHXH: "Social insurance", BHYT: "Health insurance",
    },
  },
};

function t(lang, key) {
  const table = I18N[lang] || I18N.vi;
  return key in table ? table[key] : key;
}

function schemeName(lang, code) {
  return (I18N[lang] || I18N.vi).schemes[code] || code;
}
