//! The attendance codes of England's school registers: the single source of truth for what a code
//! means (DOMAIN.md section 1).
//!
//! Every mark a school records is one code, and a code falls in exactly one [`Category`]. The
//! category decides whether the session counts as a possible session and whether it is attendance
//! or absence (School Attendance (Pupil Registration) (England) Regulations 2024; DfE "Pupil
//! absence in schools in England" methodology). Legacy codes, used before August 2024, keep the
//! category the DfE counted them in at the time (`J` interview was attendance; `H` and `F` were
//! authorised holiday; `Y` was exceptional circumstances).
//!
//! Codes are case-sensitive 1- or 2-byte ASCII strings. `-` means "no mark entered": it is not a
//! code ([`classify`] returns `None`), see [`NO_MARK`].
//!
//! The UDFs never compare strings: [`code_id`] looks a code's bytes up in a table built at compile
//! time, and each function maps the [`CodeId`] through its own small table.

/// The mark a school enters when no code has been recorded yet. It is not a code.
pub const NO_MARK: &str = "-";

/// How a mark counts in the DfE measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Present in school (`/`, `\`, `L`): a possible session, attendance.
    Present,
    /// Approved educational activity off site: a possible session, attendance.
    ApprovedActivity,
    /// Authorised absence: a possible session, absence.
    Authorised,
    /// Unauthorised absence: a possible session, absence.
    Unauthorised,
    /// Attendance not possible or not required: not a possible session.
    NotPossible,
}

impl Category {
    /// All categories, in the order of the DOMAIN.md table.
    pub const ALL: [Category; 5] = [
        Category::Present,
        Category::ApprovedActivity,
        Category::Authorised,
        Category::Unauthorised,
        Category::NotPossible,
    ];

    /// The category's name as `attendance_category` returns it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Present => "present",
            Category::ApprovedActivity => "approved_activity",
            Category::Authorised => "authorised",
            Category::Unauthorised => "unauthorised",
            Category::NotPossible => "not_possible",
        }
    }

    /// Counts in possible sessions (DfE: possible = attendance + absence).
    pub const fn is_possible(self) -> bool {
        !matches!(self, Category::NotPossible)
    }

    /// Counts as attendance (present or approved educational activity).
    pub const fn is_attendance(self) -> bool {
        matches!(self, Category::Present | Category::ApprovedActivity)
    }

    /// Counts as absence (authorised or unauthorised): the "overall absence" of the DfE.
    pub const fn is_absence(self) -> bool {
        matches!(self, Category::Authorised | Category::Unauthorised)
    }
}

/// The reason for an absence, as the EES column suffix of its session count (`sess_<reason>`,
/// DOMAIN.md section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    AuthIllness,
    AuthAppointments,
    AuthReligious,
    AuthStudy,
    AuthTraveller,
    AuthHoliday,
    AuthExcluded,
    AuthOther,
    AuthInterview,
    AuthRegPerformance,
    AuthTempReducedTimetable,
    UnauthHoliday,
    UnauthLate,
    UnauthOther,
    UnauthNoYet,
}

impl Reason {
    /// Every reason, in the order of the EES measures.
    pub const ALL: [Reason; 15] = [
        Reason::AuthIllness,
        Reason::AuthAppointments,
        Reason::AuthReligious,
        Reason::AuthStudy,
        Reason::AuthTraveller,
        Reason::AuthHoliday,
        Reason::AuthExcluded,
        Reason::AuthOther,
        Reason::AuthInterview,
        Reason::AuthRegPerformance,
        Reason::AuthTempReducedTimetable,
        Reason::UnauthHoliday,
        Reason::UnauthLate,
        Reason::UnauthOther,
        Reason::UnauthNoYet,
    ];

    /// The EES measure counting this reason's sessions (DOMAIN.md section 6).
    pub const fn measure(self) -> &'static str {
        match self {
            Reason::AuthIllness => "sess_auth_illness",
            Reason::AuthAppointments => "sess_auth_appointments",
            Reason::AuthReligious => "sess_auth_religious",
            Reason::AuthStudy => "sess_auth_study",
            Reason::AuthTraveller => "sess_auth_traveller",
            Reason::AuthHoliday => "sess_auth_holiday",
            Reason::AuthExcluded => "sess_auth_excluded",
            Reason::AuthOther => "sess_auth_other",
            Reason::AuthInterview => "sess_auth_interview",
            Reason::AuthRegPerformance => "sess_auth_reg_performance",
            Reason::AuthTempReducedTimetable => "sess_auth_temp_reduced_timetable",
            Reason::UnauthHoliday => "sess_unauth_holiday",
            Reason::UnauthLate => "sess_unauth_late",
            Reason::UnauthOther => "sess_unauth_other",
            Reason::UnauthNoYet => "sess_unauth_noyet",
        }
    }

    /// The reason's name as `absence_reason` returns it (DOMAIN.md section 1): the EES column
    /// suffix after `sess_auth_` or `sess_unauth_`. `holiday` and `other` name an authorised and
    /// an unauthorised reason each; [`Category`] (or [`Reason::measure`]) tells them apart.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::AuthIllness => "illness",
            Reason::AuthAppointments => "appointments",
            Reason::AuthReligious => "religious",
            Reason::AuthStudy => "study",
            Reason::AuthTraveller => "traveller",
            Reason::AuthHoliday => "holiday",
            Reason::AuthExcluded => "excluded",
            Reason::AuthOther => "other",
            Reason::AuthInterview => "interview",
            Reason::AuthRegPerformance => "reg_performance",
            Reason::AuthTempReducedTimetable => "temp_reduced_timetable",
            Reason::UnauthHoliday => "holiday",
            Reason::UnauthLate => "late",
            Reason::UnauthOther => "other",
            Reason::UnauthNoYet => "noyet",
        }
    }
}

/// What one code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeInfo {
    /// The code as it appears in a register.
    pub code: &'static str,
    pub category: Category,
    /// The absence reason; `Some` exactly for authorised and unauthorised codes.
    pub reason: Option<Reason>,
    /// A code of the set used before August 2024, no longer valid for new marks.
    pub legacy: bool,
    /// The code's meaning in the 2024 regulations (or the legacy guidance).
    pub description: &'static str,
}

const fn code(
    code: &'static str,
    category: Category,
    reason: Option<Reason>,
    description: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        category,
        reason,
        legacy: false,
        description,
    }
}

const fn legacy(
    code: &'static str,
    category: Category,
    reason: Option<Reason>,
    description: &'static str,
) -> CodeInfo {
    CodeInfo {
        code,
        category,
        reason,
        legacy: true,
        description,
    }
}

use Category::{ApprovedActivity, Authorised, NotPossible, Present, Unauthorised};

/// Every code, current and legacy (DOMAIN.md section 1). The index of a code in this table is
/// its [`CodeId`].
#[rustfmt::skip]
pub const CODES: [CodeInfo; 38] = [
    // present
    code("/", Present, None, "present (AM)"),
    code("\\", Present, None, "present (PM)"),
    code("L", Present, None, "late, arrived before the register closed"),
    // approved educational activity
    code("B", ApprovedActivity, None, "off-site educational activity"),
    code("K", ApprovedActivity, None, "education arranged by the local authority"),
    code("P", ApprovedActivity, None, "approved sporting activity"),
    code("V", ApprovedActivity, None, "educational visit or trip"),
    code("W", ApprovedActivity, None, "work experience"),
    legacy("J", ApprovedActivity, None, "interview (attendance until August 2024)"),
    // authorised absence
    code("C", Authorised, Some(Reason::AuthOther), "exceptional circumstances"),
    code("C1", Authorised, Some(Reason::AuthRegPerformance), "regulated performance or employment abroad"),
    code("C2", Authorised, Some(Reason::AuthTempReducedTimetable), "part-time timetable"),
    code("E", Authorised, Some(Reason::AuthExcluded), "suspended or excluded, no alternative provision"),
    code("I", Authorised, Some(Reason::AuthIllness), "illness"),
    code("J1", Authorised, Some(Reason::AuthInterview), "interview"),
    code("M", Authorised, Some(Reason::AuthAppointments), "medical or dental appointment"),
    code("R", Authorised, Some(Reason::AuthReligious), "religious observance"),
    code("S", Authorised, Some(Reason::AuthStudy), "study leave"),
    code("T", Authorised, Some(Reason::AuthTraveller), "parent travelling for occupational purposes"),
    legacy("H", Authorised, Some(Reason::AuthHoliday), "authorised holiday"),
    legacy("F", Authorised, Some(Reason::AuthHoliday), "extended family holiday (counted as H)"),
    // unauthorised absence
    code("G", Unauthorised, Some(Reason::UnauthHoliday), "holiday not authorised"),
    code("N", Unauthorised, Some(Reason::UnauthNoYet), "reason not yet provided"),
    code("O", Unauthorised, Some(Reason::UnauthOther), "other unauthorised absence"),
    code("U", Unauthorised, Some(Reason::UnauthLate), "arrived after the register closed"),
    // attendance not possible
    code("D", NotPossible, None, "dual registered, attending another school"),
    code("Q", NotPossible, None, "lack of access arrangements"),
    code("X", NotPossible, None, "non-compulsory school age, not required to attend"),
    code("Y1", NotPossible, None, "unable to attend: transport not available"),
    code("Y2", NotPossible, None, "unable to attend: widespread travel disruption"),
    code("Y3", NotPossible, None, "unable to attend: part of the premises closed"),
    code("Y4", NotPossible, None, "unable to attend: whole school site closed"),
    code("Y5", NotPossible, None, "unable to attend: in criminal justice detention"),
    code("Y6", NotPossible, None, "unable to attend: public health guidance or law"),
    code("Y7", NotPossible, None, "unable to attend: other unavoidable cause"),
    code("Z", NotPossible, None, "not yet on roll"),
    code("#", NotPossible, None, "planned whole or partial school closure"),
    legacy("Y", NotPossible, None, "exceptional circumstances (legacy)"),
];

/// The index of a code in [`CODES`].
pub type CodeId = u8;

/// The [`CodeId`] table entry of a byte string that is not a code.
const UNKNOWN: CodeId = CodeId::MAX;

/// Where a code's bytes sit in [`CODE_IDS`]: one byte `b0` at `b0`, two bytes at
/// `256 + (b0 | b1 << 8)` (the little-endian `u16` of the bytes, which is also how a `Utf8View`
/// holds them inline).
const fn slot_of_bytes(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b0] => Some(*b0 as usize),
        [b0, b1] => Some(256 + (*b0 as usize | (*b1 as usize) << 8)),
        _ => None,
    }
}

const CODE_IDS_LEN: usize = 256 + 65536;

/// Byte string -> [`CodeId`], built at compile time from [`CODES`].
static CODE_IDS: [CodeId; CODE_IDS_LEN] = build_code_ids();

const fn build_code_ids() -> [CodeId; CODE_IDS_LEN] {
    let mut table = [UNKNOWN; CODE_IDS_LEN];
    let mut id = 0;
    while id < CODES.len() {
        match slot_of_bytes(CODES[id].code.as_bytes()) {
            Some(slot) => table[slot] = id as CodeId,
            None => panic!("a code is one or two bytes"),
        }
        id += 1;
    }
    table
}

/// The longest code, in bytes. Longer strings are never codes.
pub const MAX_CODE_LEN: usize = 2;

/// Looks a code up by its bytes. `None` for `-`, an unknown code and anything longer than
/// [`MAX_CODE_LEN`]. Case-sensitive.
#[inline]
pub fn code_id(bytes: &[u8]) -> Option<CodeId> {
    let id = CODE_IDS[slot_of_bytes(bytes)?];
    (id != UNKNOWN).then_some(id)
}

/// What `code` means, or `None` when it is not a code (`-`, an unknown or lowercase code).
pub fn classify(code: &str) -> Option<CodeInfo> {
    code_id(code.as_bytes()).map(|id| CODES[id as usize])
}

/// The category of `code`, or `None` when it is not a code.
pub fn category(code: &str) -> Option<Category> {
    classify(code).map(|info| info.category)
}

/// A table from [`CodeId`] to a small output value (a "slot") of one function, with
/// [`NULL_SLOT`](crate::kernel::NULL_SLOT) for codes the function maps to NULL.
pub(crate) fn slot_table(slot: impl Fn(&CodeInfo) -> Option<u8>) -> [u8; CODES.len()] {
    std::array::from_fn(|id| slot(&CODES[id]).unwrap_or(crate::kernel::NULL_SLOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_found_by_its_own_bytes() {
        for (id, info) in CODES.iter().enumerate() {
            assert_eq!(
                code_id(info.code.as_bytes()),
                Some(id as CodeId),
                "{}",
                info.code
            );
            assert_eq!(classify(info.code), Some(*info));
        }
    }

    #[test]
    fn codes_are_unique() {
        for (i, a) in CODES.iter().enumerate() {
            for b in &CODES[i + 1..] {
                assert_ne!(a.code, b.code);
            }
        }
    }

    #[test]
    fn non_codes_are_not_classified() {
        for not_a_code in [
            NO_MARK, "", "x", "i", "A", "Y8", "Y0", "C3", "J2", "//", "LL", "abc", "é",
        ] {
            assert_eq!(classify(not_a_code), None, "{not_a_code:?}");
        }
    }

    #[test]
    fn reasons_exist_exactly_for_absences() {
        for info in CODES {
            assert_eq!(
                info.reason.is_some(),
                info.category.is_absence(),
                "{}",
                info.code
            );
        }
        for reason in Reason::ALL {
            assert!(
                CODES.iter().any(|info| info.reason == Some(reason)),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn domain_examples() {
        assert_eq!(category("J"), Some(Category::ApprovedActivity));
        assert_eq!(category("J1"), Some(Category::Authorised));
        assert_eq!(category("Y"), Some(Category::NotPossible));
        assert_eq!(category("Y7"), Some(Category::NotPossible));
        assert_eq!(category("\\"), Some(Category::Present));
        assert_eq!(
            classify("F").and_then(|i| i.reason),
            Some(Reason::AuthHoliday)
        );
        assert_eq!(
            classify("G").and_then(|i| i.reason),
            Some(Reason::UnauthHoliday)
        );
        assert!(classify("H").is_some_and(|i| i.legacy));
    }
}
