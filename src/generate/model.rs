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

/// School phases (the `phase` column strings, DOMAIN section 4).
pub const PHASES: [&str; 4] = ["primary", "secondary", "special", "alternative_provision"];
pub const PRIMARY: u8 = 0;
pub const SECONDARY: u8 = 1;
pub const SPECIAL: u8 = 2;
pub const AP: u8 = 3;

/// NC year codes in the order of the generator's internal `nc` index.
pub const NC_YEARS: [&str; 18] = [
    "N1", "N2", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "X",
];
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
