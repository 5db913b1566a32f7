//! Propensities: each enrolment's absence share, unauthorised share, late and approved-activity
//! rates, and each group's reason weights, so that an LA x phase group hits its reference rates
//! (the calibration described in the `plan` module docs).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

use super::{Enrol, GroupParams, flag};
use crate::generate::model::prob::*;
use crate::generate::model::*;

/// Mean length in sessions of an event of each reason (see `marks::event`), by code.
fn mean_len(c: u8) -> f64 {
    use code::*;
    match c {
        I => 0.85 * 2.0 * (0.6 + 0.25 * 2.0 + 0.15 * 3.0) + 0.15,
        M | U | N | P => 1.0,
        R => 2.0,
        S | C1 => 4.0,
        T => 15.0,
        H | G => 2.0 * (0.6 * 5.0 + 0.4 * 3.0),
        E => 6.0,
        C | J1 | B => 1.5,
        C2 => 12.5,
        O => 0.6 * 3.0 + 0.4,
        K => 6.0,
        V => 0.8 * 2.0 + 0.2 * 8.0,
        W => 10.0,
        _ => 1.0,
    }
}

fn cumulate<const N: usize>(w: [f64; N]) -> [f64; N] {
    let mut c = [0.0; N];
    let mut s = 0.0;
    for i in 0..N {
        s += w[i].max(0.0);
        c[i] = s;
    }
    if s <= 0.0 {
        // degenerate: all weight on the first reason
        c = [1.0; N];
    }
    c
}

/// Alternative provision rates (not in the reference): very high absence, mostly unauthorised,
/// on the reasons of England's secondary schools (`secondary`).
pub fn ap_rates(secondary: &Rates) -> Rates {
    let mut r = *secondary;
    (r.overall, r.authorised, r.unauthorised, r.pa) = AP_ABSENCE;
    r
}

/// The three pieces of the quantile function of one group's absence share.
#[derive(Debug, Clone, Copy)]
struct Quantile {
    pub pa: f64,
    pub sa: f64,
    pub a: f64,
}

impl Quantile {
    /// Solve the exponent for mean `r`, PA share `pa` and severe share `sa`.
    pub fn solve(r: f64, pa: f64, sa: f64) -> Quantile {
        let pa = pa.clamp(0.0, 0.99);
        let mut sa = sa.clamp(0.0, pa);
        // mean = 0.1 lam (1-pa) + (pa-sa)(0.1 + 0.4 lam) + 0.725 sa, lam = 1/(a+1)
        let denom = 0.1 * (1.0 - pa) + 0.4 * (pa - sa);
        let mut lam = if denom > 0.0 {
            (r - 0.1 * (pa - sa) - 0.725 * sa) / denom
        } else {
            0.5
        };
        if !(0.05..=0.95).contains(&lam) {
            lam = lam.clamp(0.05, 0.95);
            // keep the mean by moving the severe share instead
            sa = ((r - 0.1 * (1.0 - pa) * lam - pa * (0.1 + 0.4 * lam)) / (0.625 - 0.4 * lam))
                .clamp(0.0, pa);
        }
        Quantile {
            pa,
            sa,
            a: 1.0 / lam - 1.0,
        }
    }

    pub fn eval(&self, u: f64) -> f64 {
        let lo = 1.0 - self.pa;
        let hi = 1.0 - self.sa;
        if u < lo {
            0.1 * (u / lo).powf(self.a)
        } else if u < hi {
            0.1 + 0.4 * ((u - lo) / (hi - lo)).powf(self.a)
        } else {
            0.5 + 0.45 * ((u - hi) / self.sa).min(1.0)
        }
    }
}

/// Latent absence risk shift of an enrolment (added to a standard normal draw).
fn risk_shift(e: &Enrol, phase: u8) -> f64 {
    let mut s = 0.0;
    if e.flags & flag::FSM != 0 {
        s += RISK_FSM;
    }
    if e.flags & flag::SEN_K != 0 {
        s += RISK_SEN_K;
    }
    if e.flags & flag::SEN_E != 0 {
        s += RISK_SEN_E;
    }
    if e.flags & (flag::CIN | flag::CPP) != 0 {
        s += RISK_CIN_CPP;
    }
    if e.flags & flag::CLA != 0 {
        s += RISK_CLA;
    }
    s += match e.nc {
        n if n == nc_of(7) => RISK_YEAR_7,
        n if n == nc_of(9) => RISK_YEAR_9,
        n if n == nc_of(10) || n == nc_of(11) => RISK_YEARS_10_11,
        n if n >= nc_of(12) && n != NC_X => RISK_POST16,
        n if n == nc_of(1) => RISK_YEAR_1,
        _ => 0.0,
    };
    if phase == SECONDARY && e.flags & flag::FEMALE != 0 {
        s += RISK_SECONDARY_GIRL;
    }
    s
}

/// Set `p`, `unauth`, `late` and `aea` of one group's enrolments and its reason weights.
pub fn calibrate_group(
    es: &mut [Enrol],
    rates: &Rates,
    phase: u8,
    rng: &mut ChaCha8Rng,
    gp: &mut GroupParams,
) {
    if es.is_empty() {
        return;
    }
    let scope = absence_shares(es, rates, phase, rng);
    let c = unauthorised_scale(es, rates, &scope);
    let r = rates.overall.max(1e-6);
    for e in es.iter_mut() {
        e.unauth = unauth_frac(c, e.p as f64, r) as f32;
        e.late = (rates.late * rng.sample::<f64, _>(Exp1)) as f32;
        e.aea = (rates.aea * rng.sample::<f64, _>(Exp1)) as f32;
    }
    *gp = reason_weights(es, rates, &scope);
}

/// Rank the group's pupils by latent risk and give each its absence share `p` from the group's
/// quantile function; returns the in-scope enrolments (NC years 1-11; all when there are none).
fn absence_shares(es: &mut [Enrol], rates: &Rates, phase: u8, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let n = es.len();
    let score: Vec<f64> = es
        .iter()
        .map(|e| risk_shift(e, phase) + rng.sample::<f64, _>(StandardNormal))
        .collect();
    let mut scope: Vec<usize> = (0..n).filter(|&i| nc_in_scope(es[i].nc)).collect();
    if scope.is_empty() {
        scope = (0..n).collect();
    }
    let in_scope_flag = {
        let mut f = vec![false; n];
        for &i in &scope {
            f[i] = true;
        }
        f
    };
    scope.sort_by(|&a, &b| score[a].partial_cmp(&score[b]).unwrap().then(a.cmp(&b)));
    let sorted_scores: Vec<f64> = scope.iter().map(|&i| score[i]).collect();
    let ns = scope.len() as f64;
    let sa_k = SEVERE_OF_PA[(phase as usize).min(AP as usize)];
    let q = Quantile::solve(rates.overall, rates.pa, rates.pa * sa_k);
    // systematic sampling of the in-scope ranks (one jitter for the group) keeps even a small
    // group's mean and PA share on target; an out-of-scope pupil is placed among the in-scope
    // scores (one of ns + 1 gaps), which is uniform too
    let mut u = vec![0.0f64; n];
    let jitter = rng.random::<f64>();
    for (rank, &i) in scope.iter().enumerate() {
        u[i] = (rank as f64 + jitter) / ns;
    }
    for i in 0..n {
        if !in_scope_flag[i] {
            let pos = sorted_scores.partition_point(|&s| s < score[i]);
            u[i] = (pos as f64 + rng.random::<f64>()) / (ns + 1.0);
        }
    }
    for i in 0..n {
        es[i].p = q.eval(u[i]) as f32;
    }
    scope
}

/// Unauthorised share of an absence share `p`: min(cap, c sqrt(p / r)), `r` the group's rate.
fn unauth_frac(c: f64, p: f64, r: f64) -> f64 {
    (c * (p / r).sqrt()).min(UNAUTH_CAP)
}

/// The scale `c` of `unauth_frac` that gives the in-scope pupils the reference's unauthorised /
/// overall ratio (bisection).
fn unauthorised_scale(es: &[Enrol], rates: &Rates, scope: &[usize]) -> f64 {
    let share_u = if rates.overall > 0.0 {
        rates.unauthorised / rates.overall
    } else {
        UNAUTH_DEFAULT
    };
    let r = rates.overall.max(1e-6);
    let total_p: f64 = scope.iter().map(|&i| es[i].p as f64).sum();
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        let got: f64 = scope
            .iter()
            .map(|&i| es[i].p as f64 * unauth_frac(mid, es[i].p as f64, r))
            .sum();
        if got < share_u * total_p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Reason weights: share / mean event length; S only for Years 11 and 13, W for Years 10 and 12
/// (boosted so that the group's share is kept).
fn reason_weights(es: &[Enrol], rates: &Rates, scope: &[usize]) -> GroupParams {
    let ns = scope.len() as f64;
    let count = |ys: &[u8]| scope.iter().filter(|&&i| ys.contains(&es[i].nc)).count() as f64;
    let s_boost = 1.0 / (count(&[nc_of(11)]) / ns).max(0.05);
    let w_boost = 1.0 / (count(&[nc_of(10)]) / ns).max(0.05);
    // `H` is a legacy code (before August 2024): its tiny share goes to `C`
    let mut auth_shares = rates.auth_shares;
    let (h, c_) = (
        code::AUTH.iter().position(|&c| c == code::H).unwrap(),
        code::AUTH.iter().position(|&c| c == code::C).unwrap(),
    );
    auth_shares[c_] += auth_shares[h];
    auth_shares[h] = 0.0;
    let mut auth = [[0.0; 11]; 2];
    for (k, &c) in code::AUTH.iter().enumerate() {
        let w = auth_shares[k] / mean_len(c);
        auth[0][k] = if c == code::S { 0.0 } else { w };
        auth[1][k] = if c == code::S { w * s_boost } else { w };
    }
    let mut aea = [[0.0; 5]; 2];
    for (k, &c) in code::AEA.iter().enumerate() {
        let w = rates.aea_shares[k] / mean_len(c);
        aea[0][k] = if c == code::W { 0.0 } else { w };
        aea[1][k] = if c == code::W { w * w_boost } else { w };
    }
    let mut unauth = [0.0; 4];
    for (k, &c) in code::UNAUTH.iter().enumerate() {
        unauth[k] = rates.unauth_shares[k] / mean_len(c);
    }
    GroupParams {
        auth_cum: [cumulate(auth[0]), cumulate(auth[1])],
        aea_cum: [cumulate(aea[0]), cumulate(aea[1])],
        unauth_cum: cumulate(unauth),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_hits_mean_and_pa() {
        for (r, pa) in [
            (0.0525, 0.135),
            (0.0859, 0.243),
            (0.1288, 0.358),
            (0.0712, 0.2274),
            (0.1686, 0.3475),
        ] {
            let q = Quantile::solve(r, pa, pa * 0.1);
            let n = 200_000;
            let mut mean = 0.0;
            let mut pas = 0.0;
            for i in 0..n {
                let p = q.eval((i as f64 + 0.5) / n as f64);
                mean += p;
                if p >= 0.1 {
                    pas += 1.0;
                }
            }
            mean /= n as f64;
            pas /= n as f64;
            assert!((mean - r).abs() < 1e-4, "{r} {pa}: mean {mean}");
            assert!((pas - pa).abs() < 1e-4, "{r} {pa}: pa {pas}");
        }
    }
}
