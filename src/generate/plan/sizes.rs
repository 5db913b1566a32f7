//! Sizes: how many pupils and schools each LA x phase gets, in proportion to the reference.

use crate::generate::model::Cell;
use crate::generate::model::prob::{AP_SHARE, AP_SIZE};

/// Largest-remainder apportionment of `total` by `weights`.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let given: u64 = out.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.partial_cmp(&ra).unwrap().then(a.cmp(&b))
    });
    for &i in order.iter().take((total - given) as usize) {
        out[i] += 1;
    }
    out
}

/// The sizes of one LA: pupils and schools per phase.
#[derive(Debug, Clone, Default)]
pub struct LaSize {
    pub la: usize,
    /// pupils per phase (primary, secondary, special, AP)
    pub pupils: [u64; 4],
    pub schools: [u64; 4],
    /// index into the calibration cells per phase (None for AP / absent)
    pub cells: [Option<usize>; 4],
    pub urn_base: i32,
    pub pupil_base: u64,
}

/// Pupils are shared in units of this many, so that even at small scales a school has enough
/// pupils to pass the "6 in-scope enrolments" rule.
const UNIT: u64 = 10;

/// Share `pupils` among LAs and phases (national phase totals first, then LAs in proportion to
/// their real headcount, in units of `UNIT` pupils) and size the schools from the real school
/// counts (at least 8 pupils a school). From 10,000 pupils every LA gets at least one unit.
#[allow(clippy::needless_range_loop)]
pub fn sizes(pupils: u64, cells: &[Cell], las: usize) -> Vec<LaSize> {
    let n_ap = if pupils >= 5_000 {
        (pupils as f64 * AP_SHARE).round() as u64
    } else {
        0
    };
    let main = pupils - n_ap;
    let units = main / UNIT;
    let mut phase_head = [0f64; 3];
    let mut la_head = vec![0f64; las];
    let mut la_big: Vec<Option<usize>> = vec![None; las];
    for (i, c) in cells.iter().enumerate() {
        phase_head[c.phase as usize] += c.headcount as f64;
        la_head[c.la as usize] += c.headcount as f64;
        if la_big[c.la as usize].is_none_or(|j| cells[j].headcount < c.headcount) {
            la_big[c.la as usize] = Some(i);
        }
    }
    let phase_units = apportion(units, &phase_head);
    let mut cell_units = vec![0u64; cells.len()];
    if pupils >= 10_000 {
        for i in la_big.iter().flatten() {
            cell_units[*i] = 1;
        }
    }
    for ph in 0..3 {
        let idx: Vec<usize> = (0..cells.len())
            .filter(|&i| cells[i].phase as usize == ph)
            .collect();
        let reserved: u64 = idx.iter().map(|&i| cell_units[i]).sum();
        let w: Vec<f64> = idx.iter().map(|&i| cells[i].headcount as f64).collect();
        let share = apportion(phase_units[ph].saturating_sub(reserved), &w);
        for (k, &i) in idx.iter().enumerate() {
            cell_units[i] += share[k];
        }
    }
    let mut main_cells: Vec<u64> = cell_units.iter().map(|u| u * UNIT).collect();
    let given: u64 = main_cells.iter().sum();
    let biggest = (0..cells.len())
        .max_by_key(|&i| cells[i].headcount)
        .unwrap();
    main_cells[biggest] += main - given.min(main);
    let ap = apportion(n_ap, &la_head);
    let mut out: Vec<LaSize> = (0..las)
        .map(|la| LaSize {
            la,
            ..Default::default()
        })
        .collect();
    for (i, c) in cells.iter().enumerate() {
        let s = &mut out[c.la as usize];
        let ph = c.phase as usize;
        let n = main_cells[i];
        s.pupils[ph] = n;
        s.cells[ph] = Some(i);
        if n > 0 {
            let want = (c.schools as f64 * n as f64 / c.headcount as f64).round() as u64;
            s.schools[ph] = want.clamp(1, (n / 8).max(1));
        }
    }
    for (la, s) in out.iter_mut().enumerate() {
        s.pupils[3] = ap[la];
        if ap[la] > 0 {
            s.schools[3] = ((ap[la] as f64 / AP_SIZE).round() as u64).clamp(1, ap[la]);
        }
    }
    out.retain(|s| s.pupils.iter().sum::<u64>() > 0);
    let mut urn = 100_000i32;
    let mut pupil = 0u64;
    for s in out.iter_mut() {
        s.urn_base = urn;
        s.pupil_base = pupil;
        urn += s.schools.iter().sum::<u64>() as i32;
        pupil += s.pupils.iter().sum::<u64>();
    }
    assert!(urn <= 999_999, "too many schools for 6-digit URNs");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::calibration::{CELLS, LAS};
    use crate::generate::model::perm48;

    #[test]
    fn apportion_sums() {
        let a = apportion(10, &[1.0, 1.0, 1.0]);
        assert_eq!(a.iter().sum::<u64>(), 10);
        let s = sizes(10_000, &CELLS, LAS.len());
        assert_eq!(
            s.iter().map(|s| s.pupils.iter().sum::<u64>()).sum::<u64>(),
            10_000
        );
        let ids: std::collections::HashSet<u64> = (0..100_000).map(|i| perm48(i, 12345)).collect();
        assert_eq!(ids.len(), 100_000);
    }
}
