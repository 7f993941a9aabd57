//! Durations written the way the policy writes them, for reasons and messages people read.

/// `48h`, `7d`, `90m`.
pub fn span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes();
    if minutes % (24 * 60) == 0 && minutes >= 24 * 60 * 7 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes % 60 == 0 && minutes > 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_the_policy() {
        assert_eq!(span(chrono::Duration::hours(48)), "48h");
        assert_eq!(span(chrono::Duration::days(7)), "7d");
        assert_eq!(span(chrono::Duration::minutes(90)), "90m");
        assert_eq!(span(chrono::Duration::zero()), "0m");
    }
}
