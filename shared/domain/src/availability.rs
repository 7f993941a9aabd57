//! Availability a rep (or her manager) set through the API, beside the absences of the
//! policy document: out of office for a period, or busy until a time.

use chrono::{DateTime, Utc};

use crate::ids::RepId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwayStatus {
    OutOfOffice,
    Busy,
}

impl AwayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfOffice => "out_of_office",
            Self::Busy => "busy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::OutOfOffice, Self::Busy]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What SetRepAvailability set for a rep: away from `from` until `until` (open-ended without).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailabilitySetting {
    pub rep: RepId,
    pub status: AwayStatus,
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub note: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

impl AvailabilitySetting {
    /// Whether it keeps the rep away at `now`.
    pub fn covers(&self, now: DateTime<Utc>) -> bool {
        self.from <= now && self.until.is_none_or(|until| now < until)
    }
}

/// Why a rep is away now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwayNow {
    pub status: AwayStatus,
    /// When it ends; `None`: open-ended.
    pub until: Option<DateTime<Utc>>,
    pub note: String,
    /// From an absence in the policy document (else from SetRepAvailability).
    pub from_policy: bool,
}

impl AwayNow {
    /// "(vacation) until 2026-03-06 00:00 UTC": the note (or the status, without one) and the
    /// end.
    pub fn describe(&self) -> String {
        let why = if !self.note.is_empty() {
            self.note.as_str()
        } else if self.status == AwayStatus::Busy {
            "busy"
        } else {
            "out of office"
        };
        match self.until {
            Some(until) => format!("({why}) until {}", until.format("%Y-%m-%d %H:%M UTC")),
            None => format!("({why}) until further notice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_covers_from_its_start_until_before_its_end() {
        let at = |h: i64| DateTime::from_timestamp(h * 3600, 0).unwrap();
        let setting = AvailabilitySetting {
            rep: RepId::parse("alice", "rep").unwrap(),
            status: AwayStatus::OutOfOffice,
            from: at(10),
            until: Some(at(20)),
            note: String::new(),
            set_by: "users/ops".into(),
            set_at: at(0),
        };
        assert!(!setting.covers(at(9)));
        assert!(setting.covers(at(10)));
        assert!(setting.covers(at(19)));
        assert!(!setting.covers(at(20)));
        let open = AvailabilitySetting {
            until: None,
            ..setting
        };
        assert!(open.covers(at(1000)));
    }
}
