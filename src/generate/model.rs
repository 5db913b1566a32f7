//! Shared types of the generator: the embedded reference rows, the mark codes it emits, and the
//! seed-mixing helpers that keep every random stream independent of thread count and batching.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One local authority (a row of `la_region_lookup_153.csv`).
#[derive(Debug, Clone, Copy)]
pub struct La {
    pub new_code: &'static str,
    pub old_code: &'static str,
    pub name: &'static str,
    pub region_code: &'static str,
    pub region_name: &'static str,
}

/// Calibration targets of one LA x phase (or England) row, pupils aged 5-15, as fractions.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// overall absence sessions / possible sessions
    pub overall: f64,
    pub authorised: f64,
    pub unauthorised: f64,
    /// persistent absentees / enrolments
    pub pa: f64,
    /// shares of authorised absence: I, M, R, S, T, H, E, C, C1, J1, C2
    pub auth_shares: [f64; 11],
    /// shares of unauthorised absence: G, U, O, N
    pub unauth_shares: [f64; 4],
    /// approved educational activity sessions / possible sessions
    pub aea: f64,
    /// shares of approved activity: B, K, P, V, W
    pub aea_shares: [f64; 5],
    /// `L` (late before registers closed) sessions / possible sessions
    pub late: f64,
}

/// One LA x phase row of the reference.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    /// index into `LAS`
    pub la: u8,
    /// 0 primary, 1 secondary, 2 special
    pub phase: u8,
    /// pupils on roll (all ages)
    pub headcount: u32,
    pub schools: u32,
    /// the source row is suppressed: rates are the region's, headcount assumed (documents the
    /// table; the model treats every cell alike)
    #[allow(dead_code)]
    pub suppressed: bool,
    pub rates: Rates,
}

/// School phases, as indexes into [`PHASES`] (the `phase` column strings, DOMAIN section 4).
pub use crate::schema::PHASES;
pub const PRIMARY: u8 = 0;
pub const SECONDARY: u8 = 1;
pub const SPECIAL: u8 = 2;
pub const AP: u8 = 3;

/// NC year codes; the generator's internal `nc` is an index into [`NC_YEARS`].
pub use crate::schema::NC_YEARS;
pub const NC_R: u8 = 2;
/// internal index of NC year `n` (1..=14)
pub const fn nc_of(n: u8) -> u8 {
    n + 2
}
pub const NC_X: u8 = 17;
/// Age on 31 August at the start of the year implied by an NC index (None for X).
pub const fn nc_age(nc: u8) -> Option<u8> {
    if nc == NC_X { None } else { Some(nc + 2) }
}
/// The headline scope by NC year: ages 5 to 15 (NC years 1 to 11).
pub const fn nc_in_scope(nc: u8) -> bool {
    nc >= nc_of(1) && nc <= nc_of(11)
}

/// Mark codes emitted by the generator, as small integers; `code::STR` maps them to the DOMAIN strings.
pub mod code {
    /// not yet decided: becomes `/` (AM) or `\` (PM)
    pub const FREE: u8 = 0;
    pub const PRESENT_AM: u8 = 1;
    pub const PRESENT_PM: u8 = 2;
    pub const L: u8 = 3;
    // approved educational activity, calibration order
    pub const B: u8 = 4;
    pub const K: u8 = 5;
    pub const P: u8 = 6;
    pub const V: u8 = 7;
    pub const W: u8 = 8;
    // authorised, calibration order
    pub const I: u8 = 9;
    pub const M: u8 = 10;
    pub const R: u8 = 11;
    pub const S: u8 = 12;
    pub const T: u8 = 13;
    pub const H: u8 = 14;
    pub const E: u8 = 15;
    pub const C: u8 = 16;
    pub const C1: u8 = 17;
    pub const J1: u8 = 18;
    pub const C2: u8 = 19;
    // unauthorised, calibration order
    pub const G: u8 = 20;
    pub const U: u8 = 21;
    pub const O: u8 = 22;
    pub const N: u8 = 23;
    // not possible
    pub const D: u8 = 24;
    pub const X: u8 = 25;
    pub const Y1: u8 = 26;
    pub const Y4: u8 = 27;
    pub const CLOSED: u8 = 28;

    pub const AEA: [u8; 5] = [B, K, P, V, W];
    pub const AUTH: [u8; 11] = [I, M, R, S, T, H, E, C, C1, J1, C2];
    pub const UNAUTH: [u8; 4] = [G, U, O, N];

    pub static STR: [&str; 29] = [
        "?", "/", "\\", "L", "B", "K", "P", "V", "W", "I", "M", "R", "S", "T", "H", "E", "C", "C1",
        "J1", "C2", "G", "U", "O", "N", "D", "X", "Y1", "Y4", "#",
    ];
}

/// SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a master seed, a stream domain and an index.
#[inline]
pub fn hash3(seed: u64, domain: u64, idx: u64) -> u64 {
    mix64(mix64(seed ^ mix64(domain)) ^ idx)
}

/// An independent random stream for (seed, domain, idx).
#[inline]
pub fn stream(seed: u64, domain: u64, idx: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash3(seed, domain, idx))
}

/// Stream domains (arbitrary distinct constants).
pub mod domain {
    pub const CALENDAR: u64 = 0xCA1E;
    pub const LA_PLAN: u64 = 0x1A;
    pub const SCHOOL: u64 = 0x5C0;
    pub const MARKS: u64 = 0x3A2C;
    pub const PUPIL_KEY: u64 = 0x1D;
}

const MASK48: u64 = (1 << 48) - 1;

/// A keyed bijection on 48-bit integers: distinct pupil numbers always give distinct ids.
pub fn perm48(x: u64, key: u64) -> u64 {
    let mut z = (x.wrapping_add(key)) & MASK48;
    for c in [0x5DEE_CE66_D5A5u64, 0xA3B1_9535_4A39, 0x9E37_79B9_7F4B] {
        z ^= z >> 24;
        z = z.wrapping_mul(c | 1) & MASK48;
        z ^= z >> 19;
    }
    z
}

/// `P` followed by 12 upper-case hex digits of a 48-bit id: 13 ASCII bytes whose byte order is the
/// numeric order of the id.
#[inline]
pub fn pupil_id_bytes(id48: u64) -> [u8; 13] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut b = [0u8; 13];
    b[0] = b'P';
    for i in 0..12 {
        b[12 - i] = HEX[((id48 >> (4 * i)) & 0xF) as usize];
    }
    b
}

/// The academic year label, e.g. `2024-25` for 2024.
pub fn year_label(start_year: i32) -> String {
    format!("{}-{:02}", start_year, (start_year + 1).rem_euclid(100))
}

/// Stochastic rounding: floor(x + u), unbiased.
#[inline]
pub fn stoch_round(x: f64, u: f64) -> u32 {
    if x <= 0.0 { 0 } else { (x + u).floor() as u32 }
}

/// The model's probabilities and shifts (national rates and assumptions, not in the reference):
/// every number the planner draws with, by what it decides. Changing one changes the data.
pub mod prob {
    /// Share of pupils in alternative provision (about 15k pupils in England); only from 5,000
    /// pupils up.
    pub const AP_SHARE: f64 = 0.0015;
    /// Typical alternative provision size (pupils).
    pub const AP_SIZE: f64 = 30.0;
    /// Alternative provision absence (overall, authorised, unauthorised, PA share): very high,
    /// mostly unauthorised; reasons, late and approved activity are England secondary's.
    pub const AP_ABSENCE: (f64, f64, f64, f64) = (0.33, 0.12, 0.21, 0.78);

    /// Log-normal spread of school sizes within an LA x phase: (special and AP, others).
    pub const SCHOOL_SIZE_SIGMA: (f64, f64) = (0.5, 0.35);
    /// INSET days of every school (the first day of the year is one of them).
    pub const INSET_DAYS: usize = 5;
    /// Chance a school has one site-closure day (`Y4`), within `SITE_CLOSURE_WINDOW` school days
    /// of the start of the spring term.
    pub const SITE_CLOSURE: f64 = 0.02;
    pub const SITE_CLOSURE_WINDOW: usize = 30;

    pub const FEMALE: f64 = 0.49;
    /// Chance a pupil's date of birth is missing.
    pub const MISSING_DOB: f64 = 0.01;
    /// Chance of dual registration (`D` one weekday a week): (AP, secondary, other phases).
    pub const DUAL: (f64, f64, f64) = (0.2, 0.004, 0.001);
    /// Chance a reception pupil attends part-time in the autumn term (`X` afternoons).
    pub const PART_TIME_RECEPTION: f64 = 0.05;
    /// Chance of one morning lost to transport (`Y1`).
    pub const TRANSPORT_Y1: f64 = 0.005;

    /// Share of pupils who move school during the year (two enrolments).
    pub const MOVER_SHARE: f64 = 0.02;
    /// No movers in a calendar shorter than this (days); a move happens at least
    /// `MOVE_MARGIN` days after the start and before the end.
    pub const MOVER_MIN_DAYS: usize = 60;
    pub const MOVE_MARGIN: usize = 20;

    /// Weights of the NC years of a phase's pupils (internal NC index, weight); every year not
    /// listed of the phase's main range weighs 1.
    pub const NURSERY_N2_PRIMARY: f64 = 0.3;
    pub const SIXTH_FORM_SECONDARY: (f64, f64) = (0.5, 0.46);
    pub const SPECIAL_RECEPTION: f64 = 0.5;
    pub const SPECIAL_POST16: f64 = 0.5;
    pub const SPECIAL_NC_X: f64 = 0.2;
    /// Alternative provision: NC years 5 to 11 and their weights.
    pub const AP_YEARS: [(u8, f64); 7] = [
        (5, 0.1),
        (6, 0.2),
        (7, 0.5),
        (8, 0.7),
        (9, 1.0),
        (10, 1.3),
        (11, 1.5),
    ];

    /// FSM, EHC plan and SEN support rates of special schools and AP (FSM, E, K).
    pub const SPECIAL_FSM_E_K: (f64, f64, f64) = (0.45, 0.97, 0.03);
    pub const AP_FSM_E_K: (f64, f64, f64) = (0.60, 0.15, 0.45);
    /// FSM rate of mainstream schools, and their (E, K) rates with and without FSM.
    pub const MAINSTREAM_FSM: f64 = 0.245;
    pub const MAINSTREAM_E_K_FSM: (f64, f64) = (0.05, 0.22);
    pub const MAINSTREAM_E_K_NO_FSM: (f64, f64) = (0.0245, 0.118);
    /// Looked after, child in need and child protection plan rates of special schools and AP.
    pub const SPECIAL_CLA_CIN_CPP: (f64, f64, f64) = (0.03, 0.07, 0.01);
    pub const AP_CLA_CIN_CPP: (f64, f64, f64) = (0.05, 0.15, 0.04);
    /// Mainstream: base rate + per FSM + per SEN (looked after follows SEN only).
    pub const CLA_BASE_SEN: (f64, f64) = (0.0045, 0.011);
    pub const CIN_BASE_FSM_SEN: (f64, f64, f64) = (0.011, 0.03, 0.035);
    pub const CPP_BASE_FSM_SEN: (f64, f64, f64) = (0.0025, 0.012, 0.008);

    /// Shifts of the latent absence risk (added to a standard normal draw).
    pub const RISK_FSM: f64 = 0.55;
    pub const RISK_SEN_K: f64 = 0.5;
    pub const RISK_SEN_E: f64 = 0.6;
    pub const RISK_CIN_CPP: f64 = 0.85;
    pub const RISK_CLA: f64 = 0.25;
    pub const RISK_YEAR_7: f64 = -0.15;
    pub const RISK_YEAR_9: f64 = 0.15;
    pub const RISK_YEARS_10_11: f64 = 0.3;
    pub const RISK_POST16: f64 = 0.2;
    pub const RISK_YEAR_1: f64 = 0.05;
    pub const RISK_SECONDARY_GIRL: f64 = 0.08;

    /// Severe absentees as a share of persistent absentees: primary, secondary, special, AP.
    pub const SEVERE_OF_PA: [f64; 4] = [0.07, 0.14, 0.15, 0.4];
    /// Cap on the unauthorised share of one enrolment's absence, and the share when the group
    /// has no absence at all.
    pub const UNAUTH_CAP: f64 = 0.97;
    pub const UNAUTH_DEFAULT: f64 = 0.3;
}
