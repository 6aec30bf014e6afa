/* i18n.js: every visible text of the dashboard, in Indonesian (default) and English,
   and the language choice.
   Rules: views never hold literal labels; they call t("key") or tv("group", value).
   A missing value falls back to the raw server value (never an empty cell). The
   choice is kept in localStorage ("kendari112.dashboard.lang"); <html lang> follows it.
   Static markup is labelled with data-i18n / data-i18n-title / data-i18n-placeholder. */

const STORE_KEY = "kendari112.dashboard.lang";

// id -> { id: Indonesian, en: English }. {name} placeholders are filled by t(key, vars).
export const DICT = {
  "app.title": { id: "Dasbor 112 Kendari", en: "Kendari 112 dashboard" },
  "lang.switch": { id: "English", en: "Bahasa Indonesia" },
  "lang.switch.title": { id: "Ganti bahasa ke English", en: "Switch language to Indonesian" },
  "signout": { id: "Keluar dasbor", en: "Sign out" },
  "login.title": { id: "Masuk ke dasbor", en: "Sign in to the dashboard" },
  "login.token": { id: "Token akses", en: "Access token" },
  "login.submit": { id: "Masuk", en: "Sign in" },
  "login.hint": { id: "Token dari administrator. Hanya disimpan di tab ini.", en: "Token from your administrator. Kept in this tab only." },
  "login.empty": { id: "Isi token akses.", en: "Enter the access token." },
  "login.other_user": {
    id: "Tautan ini membawa token pengguna lain. Keluar dasbor dulu untuk berganti pengguna.",
    en: "This link carries another user's token. Sign out first to switch users.",
  },
  "conn.live": { id: "Tersambung", en: "Live" },
  "conn.down": { id: "Terputus", en: "Disconnected" },
  "conn.retry": { id: "Terputus, menyambung ulang…", en: "Disconnected, reconnecting…" },
  "conn.stale": { id: "TERPUTUS: data di layar mungkin sudah usang", en: "DISCONNECTED: data on screen may be out of date" },
  "conn.waiting": { id: "Menunggu data dari server…", en: "Waiting for data from the server…" },
  "tab.wallboard": { id: "Papan pantau", en: "Wallboard" },
  "tab.desk": { id: "Meja saya", en: "My desk" },
  "sec.waiting": { id: "Menunggu", en: "Waiting" },
  "sec.takers": { id: "Petugas", en: "Call takers" },
  "sec.calls": { id: "Panggilan aktif", en: "Live calls" },
  "sec.kpis": { id: "Hari ini", en: "Today" },
  "sec.callbacks": { id: "Panggil balik", en: "Callbacks" },
  "sec.charts": { id: "Grafik hari ini", en: "Today's charts" },
  "sec.screening": { id: "Penyaringan", en: "Screening" },
  "scr.running": { id: "Aktif", en: "Running" },
  "scr.sessions": { id: "Panggilan disaring", en: "Calls being screened" },
  "scr.rtp_ports": { id: "Port RTP terpakai", en: "RTP ports in use" },
  "scr.recognizers": { id: "Pengenal suara sibuk", en: "Recognizers busy" },
  "chart.hour": { id: "Panggilan per jam", en: "Calls per hour" },
  "chart.answer": { id: "Sebaran waktu jawab", en: "Answer time distribution" },
  "axis.hour": { id: "Jam", en: "Hour" },
  "axis.calls": { id: "Panggilan", en: "Calls" },
  "axis.seconds": { id: "Waktu jawab (detik)", en: "Answer time (seconds)" },
  "caller.withheld": { id: "Nomor tersembunyi", en: "Number withheld" },
  "col.caller": { id: "Penelepon", en: "Caller" },
  "col.level": { id: "Prioritas", en: "Priority" },
  "col.verdict": { id: "Penilaian", en: "Verdict" },
  "col.level_verdict": { id: "Prioritas / Penilaian", en: "Priority / Verdict" },
  "col.screening": { id: "Penyaringan", en: "Screening" },
  "col.waited": { id: "Menunggu", en: "Waiting" },
  "col.offered_to": { id: "Ditawarkan ke", en: "Offered to" },
  "col.phase": { id: "Tahap", en: "Phase" },
  "col.taker": { id: "Petugas", en: "Call taker" },
  "col.duration": { id: "Durasi", en: "Duration" },
  "col.agencies": { id: "Instansi", en: "Agencies" },
  "col.when": { id: "Waktu", en: "Time" },
  "col.prank_reports": { id: "Laporan iseng", en: "Prank reports" },
  "col.attempts": { id: "Percobaan", en: "Attempts" },
  "col.status": { id: "Status", en: "Status" },
  "col.action": { id: "Tindakan", en: "Action" },
  "taker.in_state": { id: "Lama", en: "For" },
  "taker.unreachable": { id: "TIDAK TERJANGKAU", en: "UNREACHABLE" },
  "taker.ready": { id: "Siap", en: "Ready" },
  "taker.with": { id: "Dengan", en: "With" },
  "empty.waiting": { id: "Tidak ada penelepon menunggu", en: "No callers waiting" },
  "empty.calls": { id: "Tidak ada panggilan aktif", en: "No live calls" },
  "empty.callbacks": { id: "Tidak ada penelepon untuk dipanggil balik", en: "No callers to call back" },
  "empty.takers": { id: "Tidak ada petugas", en: "No call takers" },
  "waiting.longest": { id: "terlama", en: "longest" },
  "cb.choose": { id: "Pilih petugas", en: "Choose a call taker" },
  "cb.none_free": { id: "Tak ada petugas siap", en: "No idle call taker" },
  "cb.start": { id: "Panggil balik", en: "Call back" },
  "cb.no_attempt": { id: "Belum", en: "None yet" },
  "kpi.calls": { id: "Panggilan hari ini", en: "Calls today" },
  "kpi.answered": { id: "dijawab", en: "answered" },
  "kpi.abandoned": { id: "ditinggalkan", en: "abandoned" },
  "kpi.answered_within_10": { id: "Dijawab dalam 10 dtk", en: "Answered within 10 s" },
  "kpi.answered_within_15": { id: "Dijawab dalam 15 dtk", en: "Answered within 15 s" },
  "kpi.answered_within_20": { id: "Dijawab dalam 20 dtk", en: "Answered within 20 s" },
  "sl.label": { id: "Dijawab ≤ {s} dtk, {m} menit terakhir", en: "Answered within {s} s, last {m} min" },
  "sl.target": { id: "target", en: "target" },
  "sl.met": { id: "tercapai", en: "met" },
  "sl.below": { id: "di bawah target", en: "below target" },
  "sl.alarm": { id: "di bawah target sejak", en: "below target since" },
  "sl.no-calls": { id: "belum ada panggilan", en: "no calls yet" },
  "kpi.average_answer_seconds": { id: "Rata-rata waktu jawab", en: "Average answer time" },
  "kpi.abandon_rate": { id: "Tingkat panggilan ditinggalkan", en: "Abandon rate" },
  "kpi.prank_share": { id: "Porsi diduga iseng", en: "Prank share" },
  "kpi.silent_share": { id: "Porsi senyap", en: "Silent share" },
  "kpi.average_answer_to_agency_seconds": { id: "Rata-rata jawab sampai instansi", en: "Average answer to agency" },
  "unit.s": { id: "dtk", en: "s" },
  "verdict.emergency": { id: "Darurat", en: "Emergency" },
  "verdict.silent-emergency": { id: "Darurat senyap", en: "Silent emergency" },
  "verdict.normal": { id: "Normal", en: "Normal" },
  "verdict.silent": { id: "Senyap", en: "Silent" },
  "verdict.silent-pending": { id: "Senyap, dinilai", en: "Silent, pending" },
  "verdict.prank": { id: "Diduga iseng", en: "Suspected prank" },
  "verdict.blocked": { id: "Diblokir", en: "Blocked" },
  "verdict.": { id: "Belum dinilai", en: "Not assessed" },
  "flag.digits": { id: "Tombol ditekan", en: "Digits pressed" },
  "flag.speech": { id: "Ada suara bicara", en: "Speech heard" },
  "flag.repeat": { id: "Menelepon berulang", en: "Repeat caller" },
  "flag.sound-no-speech": { id: "Ada bunyi, tanpa bicara", en: "Sound, no speech" },
  "flag.possible-voice": { id: "Mungkin ada suara (bisikan)", en: "Possible voice (whisper)" },
  "level.emergency": { id: "Darurat", en: "Emergency" },
  "level.normal": { id: "Normal", en: "Normal" },
  "level.silent": { id: "Senyap", en: "Silent" },
  "level.low": { id: "Rendah", en: "Low" },
  "activity.idle": { id: "Menganggur", en: "Idle" },
  "activity.offered": { id: "Berdering", en: "Ringing" },
  "activity.on-call": { id: "Sedang menelepon", en: "On call" },
  "activity.wrap-up": { id: "Penyelesaian", en: "Wrap-up" },
  "declared.available": { id: "Tersedia", en: "Available" },
  "declared.paused": { id: "Istirahat", en: "Paused" },
  "declared.logged-out": { id: "Keluar", en: "Logged out" },
  "phase.answering": { id: "Menjawab otomatis", en: "Answering" },
  "phase.greeting": { id: "Sapaan", en: "Greeting" },
  "phase.waiting": { id: "Menunggu", en: "Waiting" },
  "phase.offered": { id: "Berdering", en: "Offered" },
  "phase.connecting": { id: "Menyambungkan", en: "Connecting" },
  "phase.connected": { id: "Tersambung", en: "Connected" },
  "phase.with_agency": { id: "Bersama instansi", en: "With agency" },
  "disposition.genuine": { id: "Asli", en: "Genuine" },
  "disposition.prank": { id: "Iseng", en: "Prank" },
  "disposition.silent": { id: "Senyap", en: "Silent" },
  "disposition.information": { id: "Informasi", en: "Information" },
  "leg.ringing": { id: "Berdering", en: "Ringing" },
  "leg.calling": { id: "Memanggil", en: "Calling" },
  "leg.joined": { id: "Bergabung", en: "Joined" },
  "leg.left": { id: "Keluar", en: "Left" },
  "leg.ended": { id: "Selesai", en: "Ended" },
  "leg.failed": { id: "Gagal", en: "Failed" },
  "leg.busy": { id: "Sibuk", en: "Busy" },
  "leg.no-answer": { id: "Tidak dijawab", en: "No answer" },
  "callback.pending": { id: "Menunggu", en: "Pending" },
  "callback.calling": { id: "Sedang dipanggil", en: "Calling" },
  "callback.reached": { id: "Terhubung", en: "Reached" },
  "callback.unreached": { id: "Tidak terhubung", en: "Not reached" },
  "result.no-answer": { id: "Tidak dijawab", en: "No answer" },
  "result.reached": { id: "Terhubung", en: "Reached" },
  "result.busy": { id: "Sibuk", en: "Busy" },
  "result.failed": { id: "Gagal", en: "Failed" },
  "result.calling": { id: "Sedang dipanggil", en: "Calling" },
  "outcome.answered": { id: "Dijawab", en: "Answered" },
  "outcome.abandoned": { id: "Ditinggalkan", en: "Abandoned" },
  "outcome.blocked": { id: "Diblokir", en: "Blocked" },
  "outcome.screened": { id: "Tersaring", en: "Screened out" },
  "screening.listening": { id: "Mendengarkan", en: "Listening" },
  "screening.done": { id: "Selesai", en: "Done" },
  "role.call-taker": { id: "Petugas", en: "Call taker" },
  "role.supervisor": { id: "Supervisor", en: "Supervisor" },
  "role.engineer": { id: "Teknisi", en: "Engineer" },
  "reason.istirahat": { id: "Istirahat", en: "Break" },
  "reason.briefing": { id: "Briefing", en: "Briefing" },
  "reason.toilet": { id: "Toilet", en: "Toilet" },
  "reason.pelatihan": { id: "Pelatihan", en: "Training" },
  "feature.speech_seconds": { id: "Bicara (dtk)", en: "Speech (s)" },
  "feature.cue_speech_seconds": { id: "Suara mirip bicara, isyarat kedua (dtk)", en: "Voice-like bursts, second cue (s)" },
  "feature.sound_seconds": { id: "Suara (dtk)", en: "Sound (s)" },
  "feature.digits": { id: "Tombol ditekan", en: "Digits pressed" },
  "value.True": { id: "ya", en: "yes" },
  "value.False": { id: "tidak", en: "no" },
  "feature.dtmf": { id: "Tombol ditekan", en: "Digits pressed" },
  "feature.speech_segments": { id: "Potongan bicara", en: "Speech segments" },
  "feature.first_speech_delay": { id: "Mulai bicara setelah (dtk)", en: "First speech after (s)" },
  "feature.keywords": { id: "Kata kunci terdengar", en: "Keywords heard" },
  "feature.keywords_supported": { id: "Pengenalan kata kunci", en: "Keyword recognition" },
  "feature.prank_reports": { id: "Laporan iseng", en: "Prank reports" },
  "feature.genuine_reports": { id: "Laporan asli", en: "Genuine reports" },
  "feature.blocked": { id: "Nomor diblokir", en: "Number blocked" },
  "desk.my_status": { id: "Status saya", en: "My status" },
  "desk.not_taker": { id: "Akun ini bukan petugas penerima panggilan.", en: "This account is not a call taker." },
  "desk.login": { id: "Mulai bertugas", en: "Log in" },
  "desk.logout": { id: "Selesai bertugas", en: "Log out" },
  "desk.pause": { id: "Istirahat", en: "Pause" },
  "desk.unpause": { id: "Lanjut bertugas", en: "Resume" },
  "desk.reason": { id: "Alasan", en: "Reason" },
  "call.incoming": { id: "PANGGILAN MASUK", en: "INCOMING CALL" },
  "call.incoming_hint": { id: "Angkat di telepon SIP Anda", en: "Answer on your SIP phone" },
  "call.current": { id: "Panggilan saat ini", en: "Current call" },
  "call.ended": { id: "Panggilan terakhir (selesai)", en: "Last call (ended)" },
  "call.ended_short": { id: "Selesai", en: "Ended" },
  "call.none": { id: "Belum ada panggilan", en: "No call yet" },
  "call.arrived": { id: "Masuk", en: "Arrived" },
  "call.answered": { id: "Dijawab", en: "Answered" },
  "call.flags": { id: "Tanda", en: "Flags" },
  "call.features": { id: "Ciri sinyal", en: "Signal features" },
  "call.cues": { id: "Dasar penilaian", en: "Why screened so" },
  "call.transcript": { id: "Transkrip", en: "Transcript" },
  "call.history": { id: "Riwayat penelepon", en: "Caller history" },
  "call.no_history": { id: "Belum pernah menelepon", en: "No earlier calls" },
  "call.reputation": { id: "Reputasi", en: "Reputation" },
  "call.prank_reports": { id: "Laporan iseng", en: "Prank reports" },
  "call.blocked_until": { id: "Diblokir sampai", en: "Blocked until" },
  "call.not_blocked": { id: "Tidak diblokir", en: "Not blocked" },
  "call.disposition": { id: "Disposisi", en: "Disposition" },
  "call.agencies": { id: "Instansi", en: "Agency" },
  "call.leave": { id: "Tinggalkan konferensi", en: "Leave conference" },
  "ok.login": { id: "Anda mulai bertugas", en: "You are logged in" },
  "ok.logout": { id: "Anda selesai bertugas", en: "You are logged out" },
  "ok.pause": { id: "Istirahat dicatat", en: "Pause recorded" },
  "ok.unpause": { id: "Anda kembali bertugas", en: "You are available again" },
  "ok.disposition": { id: "Disposisi disimpan: {what}", en: "Disposition saved: {what}" },
  "ok.agency": { id: "Memanggil instansi: {what}", en: "Calling agency: {what}" },
  "ok.leave": { id: "Anda meninggalkan konferensi", en: "You left the conference" },
  "ok.callback": { id: "Panggil balik dimulai: {what}", en: "Callback started: {what}" },
  "err.network": { id: "Server tidak dapat dihubungi", en: "The server cannot be reached" },
  "err.auth": { id: "Token ditolak, silakan masuk lagi", en: "Token rejected, please sign in again" },
  "err.status": { id: "Gagal (HTTP {what})", en: "Failed (HTTP {what})" },
};

let lang = readStored();

function readStored() {
  try {
    return localStorage.getItem(STORE_KEY) === "en" ? "en" : "id";
  } catch {
    return "id";
  }
}

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next === "en" ? "en" : "id";
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = lang;
}

/** The text of key in the current language; {what} etc. filled from vars; the key itself if unknown. */
export function t(key, vars) {
  const entry = DICT[key];
  let text = entry ? entry[lang] : key;
  if (vars) for (const [name, value] of Object.entries(vars)) text = text.replace(`{${name}}`, String(value));
  return text;
}

/** The label of a server value in a group (verdict, level, phase, ...); the raw value if unknown. */
export function tv(group, value) {
  const key = `${group}.${value ?? ""}`;
  return key in DICT ? DICT[key][lang] : String(value ?? "");
}

/** Label the static markup under root: data-i18n (text), data-i18n-title, data-i18n-placeholder. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  document.documentElement.lang = lang;
  document.title = t("app.title");
}
