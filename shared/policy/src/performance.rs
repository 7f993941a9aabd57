//! A3: performance computed from results. The scheduler reads each rep's figures from the
//! history over the policy's trailing window; [`Policy::rate_performance`] turns them into
//! tiers, and [`Policy::with_ratings`] lays the latest ratings over the policy in force — a
//! `performance` set on a rep in the document always wins.

use chrono::{DateTime, Utc};
use leadpool_domain::{PerformanceSource, PerformanceView, RatingView, RepId};

use crate::model::{Measure, Performance, PerformanceRules, Policy, Rep, Role, default_weight};
use crate::span;

/// What one rep did in the window, read from the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepFigures {
    pub rep: RepId,
    /// Leads she claimed or accepted.
    pub claims: i64,
    /// Of those, how many she turned into an opportunity (or a customer).
    pub converted: i64,
    /// Of those, how many she worked: contacted, or closed.
    pub worked: i64,
}

/// A rep's computed tier and the figure behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub rep: RepId,
    pub performance: Performance,
    /// The measure's figure: a share of claims (opportunity-rate) or of quota (worked-vs-quota).
    pub figure: f64,
    pub claims: i64,
    /// The figure in words, and where the tiers' lines were.
    pub basis: String,
    pub computed_at: DateTime<Utc>,
}

impl PerformanceRules {
    fn figure(&self, f: &RepFigures) -> f64 {
        match self.measure {
            Measure::OpportunityRate => f.converted as f64 / f.claims.max(1) as f64,
            Measure::WorkedVsQuota => f.worked as f64 / self.quota_in_window(),
        }
    }

    fn quota_in_window(&self) -> f64 {
        f64::from(self.quota_per_day) * self.window.num_seconds() as f64 / 86_400.0
    }

    fn describe(&self, f: &RepFigures, figure: f64) -> String {
        let window = span(self.window);
        match self.measure {
            Measure::OpportunityRate => format!(
                "opportunity rate {:.0}% ({} of {} claims in {window})",
                figure * 100.0,
                f.converted,
                f.claims
            ),
            Measure::WorkedVsQuota => format!(
                "worked {} of {} claims in {window}: {:.0}% of quota ({:.0})",
                f.worked,
                f.claims,
                figure * 100.0,
                self.quota_in_window()
            ),
        }
    }
}

impl Policy {
    /// The tiers `figures` earn under the policy's `performance` rules: below `belowQuotaUnder`
    /// → below-quota; else the best `topPercent` of the rated reps (ties at the line included,
    /// and only with a figure above zero) → top; else on-quota. Only active reps who are not
    /// managers and made at least `minClaims` claims are rated.
    pub fn rate_performance(&self, figures: &[RepFigures], now: DateTime<Utc>) -> Vec<Rating> {
        let Some(rules) = &self.performance else {
            return Vec::new();
        };
        let rated: Vec<(&RepFigures, f64)> = figures
            .iter()
            .filter(|f| {
                f.claims >= i64::from(rules.min_claims)
                    && self
                        .rep(&f.rep)
                        .is_some_and(|rep| rep.active && rep.role != Role::Manager)
            })
            .map(|f| (f, rules.figure(f)))
            .collect();
        let mut best: Vec<f64> = rated.iter().map(|(_, figure)| *figure).collect();
        best.sort_by(|a, b| b.total_cmp(a));
        let top_count = (best.len() * rules.top_percent as usize)
            .div_ceil(100)
            .max(1);
        let top_line = best.get(top_count - 1).copied().unwrap_or(f64::INFINITY);
        rated
            .into_iter()
            .map(|(f, figure)| {
                let (performance, line) = match rules.below_quota_under {
                    Some(under) if figure < under => (
                        Performance::BelowQuota,
                        format!("below {:.0}%", under * 100.0),
                    ),
                    _ if figure >= top_line && figure > 0.0 => (
                        Performance::Top,
                        format!(
                            "top {}% of {} rated reps (from {:.0}%)",
                            rules.top_percent,
                            best.len(),
                            top_line * 100.0
                        ),
                    ),
                    _ => (
                        Performance::OnQuota,
                        format!(
                            "not in the top {}% of {} rated reps (from {:.0}%)",
                            rules.top_percent,
                            best.len(),
                            top_line * 100.0
                        ),
                    ),
                };
                Rating {
                    rep: f.rep.clone(),
                    performance,
                    figure,
                    claims: f.claims,
                    basis: format!("{}: {line}", rules.describe(f, figure)),
                    computed_at: now,
                }
            })
            .collect()
    }

    /// This policy with `ratings` applied: each rated rep's tier (and, unless set, her weight)
    /// follows her rating, unless the document sets her performance.
    #[must_use]
    pub fn with_ratings(&self, ratings: &[Rating]) -> Policy {
        let mut policy = self.clone();
        for rating in ratings {
            let Some(rep) = policy.reps.get_mut(&rating.rep) else {
                continue;
            };
            rep.rating = Some(rating.clone());
            if !rep.performance_set {
                rep.performance = rating.performance;
                if !rep.weight_set {
                    rep.weight = default_weight(rating.performance);
                }
            }
        }
        policy
    }
}

impl Rep {
    /// Her tier, where it comes from, and the rating behind it.
    pub fn performance_view(&self) -> PerformanceView {
        let source = if self.performance_set {
            PerformanceSource::Policy
        } else if self.rating.is_some() {
            PerformanceSource::Computed
        } else {
            PerformanceSource::Default
        };
        PerformanceView {
            tier: self.performance.name().to_owned(),
            source,
            rating: self.rating.as_ref().map(|r| RatingView {
                tier: r.performance.name().to_owned(),
                figure: r.figure,
                claims: r.claims,
                basis: r.basis.clone(),
                computed_at: r.computed_at,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rep: &str, claims: i64, converted: i64, worked: i64) -> RepFigures {
        RepFigures {
            rep: RepId::parse(rep, "rep").unwrap(),
            claims,
            converted,
            worked,
        }
    }

    fn policy(performance: &str) -> Policy {
        crate::load(&format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n\
             reps:\n  - {{ id: ann, role: sdr }}\n  - {{ id: ben, role: sdr }}\n  - {{ id: cid, role: sdr }}\n\
             \x20 - {{ id: dee, role: sdr }}\n  - {{ id: eve, role: sdr, performance: below-quota }}\n\
             \x20 - {{ id: max, role: manager }}\n\
             performance: {performance}\n"
        ))
        .unwrap_or_else(|errors| panic!("{errors:#?}"))
    }

    fn tiers(ratings: &[Rating]) -> Vec<(String, &'static str)> {
        ratings
            .iter()
            .map(|r| (r.rep.to_string(), r.performance.name()))
            .collect()
    }

    #[test]
    fn the_best_quarter_by_opportunity_rate_is_top_and_the_few_claims_are_not_rated() {
        let policy = policy("{ measure: opportunity-rate, topPercent: 25, minClaims: 5 }");
        let ratings = policy.rate_performance(
            &[
                figures("ann", 10, 4, 10),
                figures("ben", 10, 2, 10),
                figures("cid", 20, 4, 20),
                figures("dee", 4, 4, 4),
                figures("max", 50, 50, 50),
            ],
            Utc::now(),
        );
        assert_eq!(
            tiers(&ratings),
            [
                ("ann".into(), "top"),
                ("ben".into(), "on-quota"),
                ("cid".into(), "on-quota")
            ],
            "dee made too few claims, managers are not rated"
        );
        assert_eq!(
            ratings[0].basis,
            "opportunity rate 40% (4 of 10 claims in 30d): top 25% of 3 rated reps (from 40%)"
        );
        // Ties at the line are all top.
        let tied = policy.rate_performance(
            &[
                figures("ann", 10, 4, 0),
                figures("ben", 5, 2, 0),
                figures("cid", 10, 1, 0),
            ],
            Utc::now(),
        );
        assert_eq!(
            tiers(&tied),
            [
                ("ann".into(), "top"),
                ("ben".into(), "top"),
                ("cid".into(), "on-quota")
            ]
        );
    }

    #[test]
    fn worked_claims_under_quota_are_below_quota() {
        let policy = policy("{ measure: worked-vs-quota, window: 10d, quotaPerDay: 2 }");
        let ratings = policy.rate_performance(
            &[
                figures("ann", 30, 0, 25),
                figures("ben", 25, 0, 20),
                figures("cid", 30, 0, 12),
            ],
            Utc::now(),
        );
        assert_eq!(
            tiers(&ratings),
            [
                ("ann".into(), "top"),
                ("ben".into(), "on-quota"),
                ("cid".into(), "below-quota")
            ]
        );
        assert_eq!(
            ratings[2].basis,
            "worked 12 of 30 claims in 10d: 60% of quota (20): below 100%"
        );
    }

    #[test]
    fn a_hand_set_performance_wins_and_weights_follow_the_computed_tier() {
        let policy = policy("{ measure: opportunity-rate, minClaims: 1 }");
        let ratings = policy.rate_performance(
            &[figures("ann", 10, 5, 0), figures("eve", 10, 9, 0)],
            Utc::now(),
        );
        let rated = policy.with_ratings(&ratings);
        let ann = rated.rep(&RepId::parse("ann", "rep").unwrap()).unwrap();
        assert_eq!((ann.performance, ann.weight), (Performance::OnQuota, 2));
        let eve = rated.rep(&RepId::parse("eve", "rep").unwrap()).unwrap();
        assert_eq!(eve.performance, Performance::BelowQuota, "set by hand");
        assert!(
            eve.rating
                .as_ref()
                .is_some_and(|r| r.performance == Performance::Top)
        );
    }

    #[test]
    fn worked_vs_quota_needs_a_quota() {
        let errors = crate::load(
            "apiVersion: leadpool.dev/v1\nkind: Policy\nperformance: { measure: worked-vs-quota, topPercent: 0 }\n",
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["performance.topPercent", "performance.quotaPerDay"]);
    }
}
