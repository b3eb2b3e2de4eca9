//! Small statistics over samples: median, nearest-rank quantiles, min–max.

/// A summary of repeated measurements of one figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    /// Number of samples.
    pub(crate) n: usize,
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    /// 90th percentile (nearest rank).
    pub(crate) p90: f64,
}

impl Summary {
    /// The summary of SAMPLES, or None when there is none (NaNs are left out).
    pub(crate) fn of(samples: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Summary {
            n: v.len(),
            median: median_sorted(&v),
            min: v[0],
            max: v[v.len() - 1],
            p90: quantile_sorted(&v, 0.9),
        })
    }

    /// One measurement.
    pub(crate) fn one(x: f64) -> Summary {
        Summary {
            n: 1,
            median: x,
            min: x,
            max: x,
            p90: x,
        }
    }
}

/// Median of sorted, non-empty V: the middle sample, or the mean of the two middle ones.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nearest-rank quantile of sorted, non-empty V: the sample of rank round(q (n − 1)).
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let k = (q.clamp(0.0, 1.0) * (v.len() - 1) as f64).round() as usize;
    v[k.min(v.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn median(v: &[f64]) -> Option<f64> {
        Summary::of(v).map(|s| s.median)
    }

    #[test]
    fn median_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN]), None);
    }

    #[test]
    fn summary_min_max_p90() {
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&v).unwrap();
        assert_eq!((s.n, s.min, s.max, s.median), (100, 1.0, 100.0, 50.5));
        // rank round(0.9 * 99) = 89 (0-based): the value 90
        assert_eq!(s.p90, 90.0);
        let s = Summary::of(&[5.0, 1.0]).unwrap();
        assert_eq!((s.median, s.p90), (3.0, 5.0));
        assert_eq!(Summary::one(2.0).p90, 2.0);
    }
}
